import type { FastifyInstance } from 'fastify';
import { IngestError, parseJsonSamples, parsePrometheusText, recordRejections, type IngestResult } from '../../ingest/index.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Sample } from '../../series/series.js';

export interface SampleRouteDeps {
  /** Durably enqueues the batch; resolves only once the transport has it. */
  publish(source: string, samples: Sample[]): Promise<void>;
  metrics: Metrics;
}

const SOURCE = /^[a-zA-Z0-9_.-]{1,64}$/;
const MAX_REJECTIONS_LISTED = 100;

/**
 * Push ingest: JSON (`application/json`) or the Prometheus text format (`text/plain`).
 * 202 means the valid samples are queued durably; invalid ones are listed with their reasons.
 */
export function registerSampleRoutes(api: FastifyInstance, deps: SampleRouteDeps): void {
  api.post<{ Querystring: { source?: string } }>('/api/v1/samples', { config: { role: 'responder' } }, async (req, reply) => {
    const source = req.query.source ?? 'push';
    if (!SOURCE.test(source)) return reply.code(400).send({ error: 'bad_request', message: 'source must be 1-64 characters of letters, digits, _ . -' });
    const options = { now: Date.now() };
    let result: IngestResult;
    try {
      result = typeof req.body === 'string' ? parsePrometheusText(req.body, options) : parseJsonSamples(req.body as object, options);
    } catch (err) {
      if (!(err instanceof IngestError)) throw err;
      recordRejections(deps.metrics, source, [{ reason: err.code === 'too_large' ? 'too_large' : 'malformed' }]);
      return reply.code(err.code === 'too_large' ? 413 : 400).send({ error: `${err.code}_body`, message: err.message });
    }
    recordRejections(deps.metrics, source, result.rejected);
    const rejected = result.rejected.slice(0, MAX_REJECTIONS_LISTED);
    if (result.samples.length === 0) {
      return reply.code(400).send({ error: 'no_valid_samples', message: 'no sample in the body was valid', accepted: 0, rejected });
    }
    await deps.publish(source, result.samples);
    return reply.code(202).send({ accepted: result.samples.length, rejected });
  });
}
