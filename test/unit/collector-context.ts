import { Writable } from 'node:stream';
import type { ActorContext, Clock } from '../../src/actors/actor.js';
import type { Bus } from '../../src/bus/bus.js';
import type { Envelope } from '../../src/bus/messages.js';
import { parseConfig, type VigilConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import type { Sample } from '../../src/series/series.js';
import type { Store } from '../../src/store/store.js';

/** What a collector test sees: published messages, log lines, metrics, a settable clock and config. */
export interface CollectorHarness {
  ctx: ActorContext;
  published: Envelope<'samples'>[];
  logs: Record<string, unknown>[];
  metrics: Metrics;
  clock: Clock & { set(t: number): void };
  /** Makes the next `n` publishes fail, like a transport that is down. */
  failPublishes(n: number): void;
  setConfig(yaml: string): VigilConfig;
  samples(): Sample[];
}

export function collectorHarness(yaml = '', now = Date.UTC(2026, 10, 23, 10)): CollectorHarness {
  const published: Envelope<'samples'>[] = [];
  const logs: Record<string, unknown>[] = [];
  let failures = 0;
  const bus: Bus = {
    async publish(messages) {
      if (failures > 0) {
        failures--;
        throw new Error('transport down');
      }
      published.push(...(messages as Envelope<'samples'>[]));
    },
  };
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  let t = now;
  const clock = { now: () => t, set: (next: number) => void (t = next) };
  const metrics = createMetrics();
  let config = parseConfig(yaml, '/tmp/vigil-test.yaml', {});
  const ctx: ActorContext = {
    bus,
    // The collector keeps no state in the store.
    store: undefined as unknown as Store,
    logger: createLogger('debug', { destination }),
    metrics,
    clock,
    config: () => config,
  };
  return {
    ctx, published, logs, metrics, clock,
    failPublishes: (n) => void (failures = n),
    setConfig(text) {
      config = parseConfig(text, '/tmp/vigil-test.yaml', {});
      return config;
    },
    samples: () => published.flatMap((m) => m.payload.samples),
  };
}

/** The value of a counter for exactly these labels (0 when never incremented). */
export async function counter(metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> }, labels: Record<string, string>): Promise<number> {
  const { values } = await metric.get();
  const hit = values.find((v) => Object.keys(labels).length === Object.keys(v.labels).length && Object.entries(labels).every(([k, x]) => v.labels[k] === x));
  return hit?.value ?? 0;
}
