import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { partitionKey } from '../../actors/anomaly-detector/partition-key.js';
import type { Bus } from '../../bus/bus.js';
import { envelope } from '../../bus/messages.js';
import type { Transport } from '../../bus/transport.js';
import type { ModelRecord, Store } from '../../store/store.js';

const ListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    kind: { type: 'string', maxLength: 100 },
    limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 },
  },
} as const;

const RetrainBody = {
  type: 'object',
  additionalProperties: false,
  properties: { series: { type: 'string', minLength: 1, maxLength: 4096 } },
} as const;

/** A stored model as the API shows it: its metadata and the size of its state. */
export interface ModelView extends ModelRecord {
  bytes: number;
}

/** Models of the anomaly detector: list and show (viewer), retrain (admin) through a `model.retrain` message. */
export function registerModelRoutes(api: FastifyInstance, deps: { store: Store; bus: Bus; transport: Transport }): void {
  api.get<{ Querystring: { kind?: string; limit: number } }>('/api/v1/models', { config: { role: 'viewer' }, schema: { querystring: ListQuery } }, async (req) => {
    const models = await deps.store.models.list({ ...(req.query.kind && { where: { kind: req.query.kind } }), orderBy: { field: 'createdAt', direction: 'desc' }, limit: req.query.limit });
    return { models };
  });

  api.get<{ Params: { id: string } }>('/api/v1/models/:id', { config: { role: 'viewer' } }, async (req, reply) => {
    const stored = await deps.store.models.load(req.params.id);
    if (!stored) return reply.code(404).send({ error: 'not_found', message: `no model ${req.params.id}` });
    const model: ModelView = { ...stored.meta, bytes: stored.weights.byteLength };
    return { model };
  });

  api.post<{ Body: { series?: string } }>('/api/v1/models/retrain', { config: { role: 'admin' }, schema: { body: RetrainBody } }, async (req, reply) => {
    const by = req.principal?.name ?? 'unknown';
    const now = Date.now();
    const request = randomUUID();
    const { series } = req.body ?? {};
    if (series !== undefined) {
      // Keyed by the series: it reaches the one partition, hence the one process, that owns the model.
      await deps.bus.publish([envelope('model.retrain', `model-retrain-${request}`, { series, by }, series, now)]);
    } else {
      const partitions = deps.transport.partitions('anomaly-detector');
      await deps.bus.publish(
        Array.from({ length: partitions }, (_, p) => envelope('model.retrain', `model-retrain-${request}-p${p}`, { partition: p, by }, partitionKey(p, partitions), now)),
      );
    }
    req.log.info({ series: series ?? 'all', by }, 'model retraining requested');
    return reply.code(202).send({ status: 'requested', series: series ?? 'all' });
  });
}
