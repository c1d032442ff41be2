import { createHash } from 'node:crypto';
import { envelope, type Envelope } from '../../bus/messages.js';
import type { VigilConfig } from '../../config/load.js';
import type { SourceConfig } from '../../config/schema.js';
import { checkSample, recordRejections, type Rejection } from '../../ingest/sample-check.js';
import { createSampleGuard } from '../../ingest/sample-guard.js';
import type { Sample } from '../../series/series.js';
import type { Actor, ActorContext } from '../actor.js';
import { createHostSource } from './host-source.js';
import { createPrometheusSource } from './prometheus-source.js';
import { createFailureReporter, type Source } from './source.js';
import { createSqlSource, type SqlSourceOptions } from './sql-source.js';

export interface Collector extends Actor {
  /** Runs one collection round of every source now (tests, and `vigil collect`-style one-offs). */
  collectOnce(): Promise<void>;
  /** Resolves when the sources' first round after start or reload (backfills included) is done. */
  ready(): Promise<void>;
}

export interface CollectorOptions {
  /** Series the order guard remembers before forgetting the least recently seen. */
  maxSeries?: number;
  sql?: SqlSourceOptions;
}

/** A stable id for a batch read by a source: the same samples always map to the same message id. */
function contentId(source: string, samples: readonly Sample[]): string {
  const hash = createHash('sha256');
  for (const s of samples) hash.update(`${s.series}\t${s.t}\t${s.v}\n`);
  return `${source}:${hash.digest('hex').slice(0, 24)}`;
}

/** Re-checks samples that crossed the bus: the collector publishes only samples that pass checkSample. */
function recheck(samples: unknown, now: number): { samples: Sample[]; rejected: Rejection[] } {
  const out = { samples: [] as Sample[], rejected: [] as Rejection[] };
  if (!Array.isArray(samples)) {
    out.rejected.push({ item: 0, reason: 'malformed', detail: 'payload.samples is not an array' });
    return out;
  }
  samples.forEach((s: Partial<Sample> | null, item) => {
    const checked = s && typeof s.name === 'string' && s.labels && typeof s.labels === 'object' && typeof s.t === 'number' && typeof s.v === 'number'
      ? checkSample(s.name, s.labels, s.t, s.v, now)
      : { reason: 'malformed' as const, detail: 'not a sample' };
    if ('sample' in checked) out.samples.push(checked.sample);
    else out.rejected.push({ item, ...checked });
  });
  return out;
}

/**
 * The collector: admits pushed samples (`samples.push`) and runs the configured sources, sending
 * everything through one path: order guard, then `samples` messages of `collector.batch_size`.
 */
export function createCollector(ctx: ActorContext, options: CollectorOptions = {}): Collector {
  const log = ctx.logger.child({ actor: 'collector' });
  const guard = createSampleGuard(options.maxSeries);
  const loggedRejections = new Set<string>();
  // Admission is serialized: check, publish, commit must not interleave or two batches could admit one time twice.
  let tail: Promise<void> = Promise.resolve();
  let sources: Source[] = [];
  let startup: Promise<void> = Promise.resolve();

  function countRejections(source: string, rejected: readonly Rejection[]): void {
    recordRejections(ctx.metrics, source, rejected);
    for (const r of rejected) {
      const key = `${source}\u0000${r.reason}`;
      if (loggedRejections.has(key)) continue;
      loggedRejections.add(key);
      log.warn({ source, reason: r.reason, detail: r.detail }, 'samples rejected (logged once per source and reason, counted in vigil_samples_rejected_total)');
    }
  }

  /**
   * The one path every sample takes. The guard is committed only after the publish succeeded, so a
   * failed publish can be retried with the same samples and the same message ids (`idBase:n`).
   */
  function admitAndPublish(source: string, samples: readonly Sample[], idBase?: string): Promise<void> {
    const run = async () => {
      const { admitted, rejected } = guard.check(samples);
      countRejections(source, rejected);
      if (admitted.length === 0) return;
      const size = ctx.config().collector.batch_size;
      const base = idBase ?? contentId(source, admitted);
      const now = ctx.clock.now();
      const messages: Envelope[] = [];
      for (let i = 0; i * size < admitted.length; i++) {
        messages.push(envelope('samples', `${base}:${i}`, { source, samples: admitted.slice(i * size, (i + 1) * size) }, source, now));
      }
      await ctx.bus.publish(messages);
      guard.commit(admitted);
      ctx.metrics.samplesIngested.inc({ source }, admitted.length);
    };
    const result = tail.then(run);
    tail = result.catch(() => undefined);
    return result;
  }

  function createSource(config: SourceConfig, baseDir: string): Source | undefined {
    const report = createFailureReporter(config.name, log, ctx.metrics);
    const deps = {
      report,
      clock: ctx.clock,
      logger: log,
      baseDir,
      async ingest(samples: Sample[], rejected: readonly Rejection[] = []) {
        countRejections(config.name, rejected);
        try {
          await admitAndPublish(config.name, samples);
          report.ok('publish');
        } catch (err) {
          report.fail('publish', 'publish_failed', (err as Error).message);
        }
      },
    };
    try {
      if (config.kind === 'prometheus') return createPrometheusSource(config, deps);
      if (config.kind === 'sql') return createSqlSource(config, deps, options.sql);
      return createHostSource(config, deps);
    } catch (err) {
      // Only reading a secret file can fail here; the message names the file, never its content.
      report.fail('config', 'config', (err as Error).message);
      return undefined;
    }
  }

  function startSources(config: VigilConfig): void {
    sources = config.collector.sources.map((s) => createSource(s, config.baseDir)).filter((s): s is Source => s !== undefined);
    startup = Promise.all(sources.map((s) => s.start())).then(() => undefined);
  }

  async function stopSources(): Promise<void> {
    const stopping = sources;
    sources = [];
    await Promise.all(stopping.map((s) => s.stop()));
  }

  return {
    name: 'collector',
    async start() {
      // Not awaited: a long backfill must not hold back the inbox.
      startSources(ctx.config());
    },
    async handle(message) {
      if (message.type !== 'samples.push') {
        log.warn({ type: message.type, msgId: message.id }, 'ignoring a message type the collector does not handle');
        return;
      }
      const { source, samples } = (message as Envelope<'samples.push'>).payload;
      const sourceName = typeof source === 'string' && source ? source : 'push';
      const checked = recheck(samples, ctx.clock.now());
      countRejections(sourceName, checked.rejected);
      await admitAndPublish(sourceName, checked.samples, message.id);
    },
    async reload(config) {
      await stopSources();
      startSources(config);
    },
    async stop() {
      await stopSources();
      await tail;
    },
    async collectOnce() {
      await Promise.all(sources.map((s) => s.collectOnce()));
    },
    ready() {
      return startup;
    },
  };
}
