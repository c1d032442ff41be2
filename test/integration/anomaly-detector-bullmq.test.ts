import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runActor, type ActorContext, type RunningActor } from '../../src/actors/actor.js';
import { createAnomalyDetector } from '../../src/actors/anomaly-detector/anomaly-detector.js';
import { createBus } from '../../src/bus/bus.js';
import { BullmqTransport } from '../../src/bus/bullmq/bullmq-transport.js';
import { envelope, type AnomalyEvent, type Envelope } from '../../src/bus/messages.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { makeSample, partitionOf } from '../../src/series/series.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';
import { testRedisUrl, uniquePrefix } from '../helpers/env.js';
import { waitFor } from '../helpers/servers.js';

const T0 = Date.UTC(2026, 0, 1);
const STEP = 60_000;

/**
 * Two detector "processes" (each its own BullMQ connection and store, as separate machines would have)
 * sharing the anomaly-detector inbox's two partitions on a real Redis: the collector side publishes
 * whole batches, the bus splits them by series, and each series is scored in exactly one process.
 */
describe('anomaly detector sharded over BullMQ partitions', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-anomaly-bullmq-'));
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('each series lives in the one process that owns its partition', async () => {
    const prefix = uniquePrefix('anomaly');
    const config = parseConfig(`transport: { kind: bullmq, redis_url: "${testRedisUrl()}", prefix: ${prefix}, partitions: { anomaly-detector: 2 } }\n`, '/etc/vigil/vigil.yaml', {});
    const open = () => new BullmqTransport({ redisUrl: testRedisUrl(), prefix, partitions: config.transport.partitions });
    const front = open();
    closers.push(() => front.close());
    const received: AnomalyEvent[] = [];
    const recorder = await front.consume('alert-manager', async (m) => {
      if (m.type === 'anomaly') received.push(...(m as Envelope<'anomaly'>).payload.events);
    });
    closers.push(() => recorder.close());

    const processes = await Promise.all(
      [0, 1].map(async (p) => {
        const transport = open();
        const store = SqliteStore.open(join(dir, `process-${p}.db`));
        const ctx: ActorContext = { bus: createBus(transport), store, clock: { now: () => T0 }, metrics: createMetrics(), logger: createLogger('silent', { pretty: false }), config: () => config };
        const running: RunningActor = await runActor(createAnomalyDetector(ctx), transport, ctx, { partitions: [p] });
        closers.push(async () => {
          await running.close();
          await transport.close();
          await store.close();
        });
        return ctx;
      }),
    );

    const hosts = Array.from({ length: 6 }, (_, k) => `h${k}`);
    const owners = hosts.map((h) => partitionOf(makeSample('cpu_usage', { instance: h }, 0, 0).series, 2));
    expect(new Set(owners).size).toBe(2);
    const bus = createBus(front);
    const points = 340;
    for (let i = 0; i < points; i++) {
      const samples = hosts.map((h, k) => makeSample('cpu_usage', { instance: h }, T0 + i * STEP, 50 + 10 * Math.sin((i + 7 * k) / 19) + ((i * 31 + k) % 7) / 3 + (i === 320 ? 80 : 0)));
      await bus.publish([envelope('samples', `scrape-${i}`, { source: 'test', samples }, 'test', T0)]);
    }

    const scored = (ctx: ActorContext) => ctx.metrics.registry.getSingleMetricAsString('vigil_anomaly_points_scored_total').then((text) => Number(/ (\d+)$/m.exec(text)![1]));
    const expected = [0, 1].map((p) => owners.filter((o) => o === p).length * points);
    await waitFor('both processes to score their series', async () => ((await Promise.all(processes.map(scored))).join() === expected.join() ? true : undefined), 40_000);
    await waitFor('the spike verdicts of every series', async () => (new Set(received.filter((e) => e.t === T0 + 320 * STEP).map((e) => e.series)).size === hosts.length ? true : undefined));
    const watched = await Promise.all(processes.map((ctx) => ctx.metrics.registry.getSingleMetricAsString('vigil_anomaly_series_watched')));
    expect(watched.map((text) => Number(/ (\d+)$/m.exec(text)![1]))).toEqual([0, 1].map((p) => owners.filter((o) => o === p).length));
  });
});
