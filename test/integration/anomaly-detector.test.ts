import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runActor, type ActorContext, type RunningActor } from '../../src/actors/actor.js';
import { createAnomalyDetector } from '../../src/actors/anomaly-detector/anomaly-detector.js';
import { decodeModel } from '../../src/actors/anomaly-detector/model-codec.js';
import { createDetector, DEFAULT_THRESHOLD } from '../../src/models/anomaly/detector.js';
import { createBus } from '../../src/bus/bus.js';
import { LocalTransport } from '../../src/bus/local/local-transport.js';
import { envelope, type AnomalyEvent, type Envelope, type SystemEvent } from '../../src/bus/messages.js';
import type { Consumer } from '../../src/bus/transport.js';
import { parseConfig, type VigilConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { makeSample, partitionOf, type Sample } from '../../src/series/series.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';

const T0 = Date.UTC(2026, 0, 1);
const STEP = 60_000;
/** Generous: the machine running the suite may be busy. */
const WAIT = { timeout: 20_000, interval: 20 };

/** A noisy daily-ish wave from a fixed seed; `spikes` adds a jump at those indices. */
function wave(n: number, seed: number, spikes: readonly number[] = [], base = 50): number[] {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: n }, (_, i) => base + 10 * Math.sin((2 * Math.PI * i) / 120) + rand() * 3 + (spikes.includes(i) ? 80 : 0));
}

const config = (extra = '', partitions = 1): VigilConfig =>
  parseConfig(`transport: { partitions: { anomaly-detector: ${partitions} } }\nanomaly:\n  persist_interval: 1h\n${extra}`, '/etc/vigil/vigil.yaml', {});

/**
 * The detector on the real local transport and the real embedded store; the alert manager's inbox is
 * read by a recorder, which sees `anomaly` and `system.event` messages as the alert manager would.
 */
describe('anomaly detector on the local transport', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-anomaly-'));
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(cfg: VigilConfig, opts: { storeFile?: string; processes?: number } = {}) {
    const clock = { t: T0, now: () => clock.t };
    const transport = new LocalTransport({ partitions: cfg.transport.partitions, clock });
    const store = SqliteStore.open(join(dir, opts.storeFile ?? 'vigil.db'));
    const bus = createBus(transport);
    const received: Envelope[] = [];
    const recorder: Consumer = await transport.consume('alert-manager', async (m) => {
      received.push(m);
    });
    // One actor per "process", each owning the partitions p with p % processes === index, as the daemon's --shard does.
    const processes = opts.processes ?? 1;
    const partitions = cfg.transport.partitions['anomaly-detector'] ?? 1;
    const running: RunningActor[] = [];
    const contexts: ActorContext[] = [];
    for (let index = 0; index < processes; index++) {
      const ctx: ActorContext = { bus, store, clock, metrics: createMetrics(), logger: createLogger('silent', { pretty: false }), config: () => cfg };
      contexts.push(ctx);
      const owned = Array.from({ length: partitions }, (_, p) => p).filter((p) => p % processes === index);
      running.push(await runActor(createAnomalyDetector(ctx), transport, ctx, { partitions: owned }));
    }
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        for (const r of running) await r.close();
        await recorder.close();
        await transport.close();
        await store.close();
      })());
    cleanups.push(stop);
    let batch = 0;
    /** Publishes one batch (one point of each series) at index i, as the collector would. */
    const push = async (samples: Sample[]) => {
      await bus.publish([envelope('samples', `batch-${batch++}`, { source: 'test', samples }, 'test', clock.t)]);
    };
    const anomalies = () => received.filter((m) => m.type === 'anomaly').flatMap((m) => (m as Envelope<'anomaly'>).payload.events);
    /** Drained: only each partition's next tick (a delayed message) is left in the detector's inbox, and the recorder has read everything. */
    const idle = async () => {
      await vi.waitFor(async () => {
        expect(await transport.depth('anomaly-detector')).toBe(partitions);
        expect(await transport.depth('alert-manager')).toBe(0);
      }, WAIT);
    };
    return { clock, store, bus, transport, received, anomalies, push, stop, idle, contexts };
  }

  async function feed(d: Awaited<ReturnType<typeof start>>, series: { name: string; labels: Record<string, string>; values: number[] }[], from: number, to: number) {
    for (let i = from; i < to; i++) {
      d.clock.t = T0 + i * STEP;
      await d.push(series.map((s) => makeSample(s.name, s.labels, d.clock.t, s.values[i]!)));
    }
    await d.idle();
  }

  it('turns a spike in a synthetic series into one anomalous event, then one normal event', async () => {
    const d = await start(config());
    const cpu = { name: 'node_cpu_usage', labels: { instance: 'h1' }, values: wave(600, 1, [450]) };
    await feed(d, [cpu], 0, 600);
    const events = d.anomalies();
    // After the warm-up, the spike is the only anomalous point.
    const anomalous = events.filter((e) => e.state === 'anomalous' && e.t >= T0 + 200 * STEP);
    expect(anomalous.map((e) => e.t)).toEqual([T0 + 450 * STEP]);
    const [spike] = anomalous as [AnomalyEvent];
    expect(spike).toMatchObject({ series: 'node_cpu_usage{instance="h1"}', name: 'node_cpu_usage', labels: { instance: 'h1' }, value: cpu.values[450], recommendation: 'check CPU-heavy processes' });
    expect(spike.score).toBeGreaterThanOrEqual(0.5);
    expect(spike.value).toBeGreaterThan(spike.expected.upper);
    expect(Object.keys(spike.detectors).sort()).toEqual(['robust']);
    expect(['info', 'warning', 'critical']).toContain(spike.severity);
    // Settles after settle.points (5) quiet points.
    expect(events.filter((e) => e.state === 'normal' && e.t > T0 + 450 * STEP).map((e) => e.t)).toEqual([T0 + 455 * STEP]);
  });

  it('skips NaN, infinite, malformed and out-of-order points without failing a message', async () => {
    const d = await start(config());
    const good = makeSample('mem_used', {}, T0, 1);
    await d.push([{ ...good, v: NaN }, { ...good, v: Infinity }, { bogus: true } as unknown as Sample, good, { ...good, v: 2 }]);
    await d.idle();
    const metrics = await d.contexts[0]!.metrics.registry.getSingleMetricAsString('vigil_anomaly_points_skipped_total');
    expect(metrics).toContain('reason="not_finite"} 2');
    expect(metrics).toContain('reason="malformed"} 1');
    expect(metrics).toContain('reason="out_of_order"} 1');
    expect(await d.contexts[0]!.metrics.registry.getSingleMetricAsString('vigil_anomaly_points_scored_total')).toContain('vigil_anomaly_points_scored_total 1');
    const handled = await d.contexts[0]!.metrics.registry.getSingleMetricAsString('vigil_messages_handled_total');
    expect(handled).not.toContain('outcome="error"');
  });

  it('watches only the configured series', async () => {
    const d = await start(config('  watch: [{ metric: "cpu*" }]\n  ignore: [{ metric: "cpu*", match: { instance: h2 } }]\n'));
    const spikes = [200];
    await feed(d, [
      { name: 'cpu_usage', labels: { instance: 'h1' }, values: wave(260, 1, spikes) },
      { name: 'cpu_usage', labels: { instance: 'h2' }, values: wave(260, 2, spikes) },
      { name: 'mem_used', labels: { instance: 'h1' }, values: wave(260, 3, spikes) },
    ], 0, 260);
    expect(new Set(d.anomalies().map((e) => e.series))).toEqual(new Set(['cpu_usage{instance="h1"}']));
  });

  it('a restart on the same store resumes each series where it was: the same verdicts and model as an uninterrupted run', async () => {
    const series = [
      { name: 'cpu_usage', labels: { instance: 'h1' }, values: wave(700, 1, [520]) },
      { name: 'disk_io', labels: { instance: 'h1' }, values: wave(700, 5, [610]) },
    ];
    const straight = await start(config(), { storeFile: 'straight.db' });
    await feed(straight, series, 0, 700);
    const expected = straight.anomalies();
    await straight.stop();
    expect(expected.filter((e) => e.state === 'anomalous' && e.t >= T0 + 400 * STEP).map((e) => e.t)).toEqual(expect.arrayContaining([T0 + 520 * STEP, T0 + 610 * STEP]));

    const first = await start(config(), { storeFile: 'restarted.db' });
    await feed(first, series, 0, 400);
    await first.stop(); // stop saves every model
    const second = await start(config(), { storeFile: 'restarted.db' });
    await feed(second, series, 400, 700);
    expect(second.anomalies()).toEqual(expected.filter((e) => e.t >= T0 + 400 * STEP));
    await second.stop();
    const reopened = SqliteStore.open(join(dir, 'restarted.db'));
    const reference = SqliteStore.open(join(dir, 'straight.db'));
    cleanups.push(() => reopened.close(), () => reference.close());
    const uninterrupted = await reference.models.list();
    expect(uninterrupted).toHaveLength(2);
    for (const meta of uninterrupted) {
      const a = await reference.models.load(meta.id);
      const b = await reopened.models.load(meta.id);
      expect(decodeModel(b!).saved).toEqual(decodeModel(a!).saved);
      expect(b!.meta.params).toMatchObject({ name: meta.params.name, points: 700, hyperParameters: meta.params.hyperParameters });
    }

    // A cold start on the second half misses the spike at 520: it is still learning.
    const cold = await start(config(), { storeFile: 'cold.db' });
    await feed(cold, series, 400, 700);
    expect(cold.anomalies().filter((e) => e.state === 'anomalous').map((e) => e.t)).not.toContain(T0 + 520 * STEP);
  });

  it('with two partitions in two processes, every series is scored by the one process that owns its partition', async () => {
    const cfg = config('', 2);
    const d = await start(cfg, { processes: 2 });
    const series = Array.from({ length: 8 }, (_, k) => ({ name: 'latency_ms', labels: { instance: `h${k}` }, values: wave(300, k + 1, [250]) }));
    await feed(d, series, 0, 300);
    const owners = series.map((s) => partitionOf(makeSample(s.name, s.labels, 0, 0).series, 2));
    expect(new Set(owners).size).toBe(2); // the test means something only if both partitions own series
    const watched = await Promise.all(d.contexts.map(async (c) => (await c.metrics.registry.getSingleMetricAsString('vigil_anomaly_series_watched')).match(/ (\d+)$/m)![1]));
    expect(watched.map(Number)).toEqual([owners.filter((p) => p === 0).length, owners.filter((p) => p === 1).length]);
    const scored = await Promise.all(d.contexts.map(async (c) => (await c.metrics.registry.getSingleMetricAsString('vigil_anomaly_points_scored_total')).match(/ (\d+)$/m)![1]));
    expect(scored.map(Number)).toEqual([owners.filter((p) => p === 0).length * 300, owners.filter((p) => p === 1).length * 300]);
    expect(new Set(d.anomalies().filter((e) => e.state === 'anomalous').map((e) => e.series)).size).toBe(8);
  });

  it('ticks save changed models; a retrain request relearns from recent points, and a failed one raises model.training_failed', async () => {
    const d = await start(config());
    await feed(d, [{ name: 'cpu_usage', labels: {}, values: wave(200, 1) }, { name: 'fresh_series', labels: {}, values: wave(200, 2) }], 0, 200);

    // The first tick is due at the next whole hour (persist_interval 1h): the local transport releases it once due.
    d.clock.t = T0 + 3_600_000;
    await d.push([]);
    await vi.waitFor(async () => expect((await d.store.models.list()).map((m) => m.id).sort()).toEqual(['cpu_usage', 'fresh_series']), WAIT);
    const before = (await d.store.models.load('cpu_usage'))!;
    expect(before.meta.version).toBe(0);

    await d.bus.publish([envelope('model.retrain', 'retrain-1', { series: 'cpu_usage', by: 'test' }, 'cpu_usage', d.clock.t)]);
    await d.idle();
    const after = (await d.store.models.load('cpu_usage'))!;
    expect(after.meta.version).toBe(1);
    expect(after.meta.params).toMatchObject({ trainingWindow: { points: 200, to: T0 + 199 * STEP }, quality: { alarmRate: expect.any(Number) } });

    // A series with too few recent points cannot be relearned.
    d.clock.t += STEP;
    await d.push([makeSample('tiny', {}, d.clock.t, 1)]);
    await d.bus.publish([envelope('model.retrain', 'retrain-2', { series: 'tiny', by: 'test' }, 'tiny', d.clock.t)]);
    await vi.waitFor(() => expect(d.received.filter((m) => m.type === 'system.event')).toHaveLength(1), WAIT);
    const failed = d.received.find((m) => m.type === 'system.event')!.payload as SystemEvent;
    expect(failed).toMatchObject({ kind: 'model.training_failed', source: 'anomaly-detector', labels: { series: 'tiny', reason: 'request' } });
    expect(failed.message).toMatch(/only 1 recent points/);

    // After a restart, a series not seen yet is retrained from its stored model (with its stored recent points).
    await d.stop();
    const restarted = await start(config());
    await restarted.bus.publish([envelope('model.retrain', 'retrain-3', { series: 'cpu_usage', by: 'test' }, 'cpu_usage', T0)]);
    await restarted.idle();
    expect((await restarted.store.models.load('cpu_usage'))!.meta).toMatchObject({ version: 2, params: { trainingWindow: { points: 200 } } });
  });

  it('multivariate: cpu and memory of one host scored together find a combination neither shows alone', async () => {
    const group = '  ignore: [{ metric: "*" }]\n  multivariate: [{ name: host, by: instance, metrics: ["cpu*", "mem*", "disk*"] }]\n';
    const d = await start(config(group));
    let s = 3;
    const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const n = 600;
    const cpu: number[] = [];
    const mem: number[] = [];
    const disk: number[] = [];
    for (let i = 0; i < n; i++) {
      cpu.push(50 + 10 * Math.sin((2 * Math.PI * i) / 120) + rand());
      mem.push(2 * (cpu[i]! - 50) + 100 + rand());
      disk.push(30 + rand());
    }
    // Memory at its usual low while the CPU is at its usual high: each within its own range, never together.
    const odd = 510; // sin peaks at i = 30 + 120k
    mem[odd] = 82;
    await feed(d, [
      { name: 'cpu_usage', labels: { instance: 'h1' }, values: cpu },
      { name: 'mem_used', labels: { instance: 'h1' }, values: mem },
      { name: 'disk_used', labels: { instance: 'h1' }, values: disk },
    ], 0, n);
    expect(Math.min(...mem)).toBeLessThan(82);
    // Each member alone, through the default univariate detector, does not find it.
    for (const values of [cpu, mem]) {
      const alone = createDetector();
      const scores = values.map((v, i) => alone.update(T0 + i * STEP, v).score);
      expect(scores[odd]).toBeLessThan(DEFAULT_THRESHOLD);
    }
    const anomalous = d.anomalies().filter((e) => e.state === 'anomalous' && e.t >= T0 + 300 * STEP);
    expect(anomalous.map((e) => e.t)).toEqual([T0 + odd * STEP]);
    expect(anomalous[0]).toMatchObject({
      series: 'host{instance="h1"}',
      name: 'host',
      resource: 'h1',
      labels: { instance: 'h1' },
      members: ['cpu_usage{instance="h1"}', 'mem_used{instance="h1"}', 'disk_used{instance="h1"}'],
      detectors: { iforest: expect.any(Number), distance: expect.any(Number) },
    });
    await d.stop();
    const reopened = SqliteStore.open(join(dir, 'vigil.db'));
    cleanups.push(() => reopened.close());
    expect((await reopened.models.list()).map((m) => [m.id, m.kind])).toEqual([['host{instance="h1"}', 'multivariate-iforest']]);
  });

  it('a sustained level change counts as drift: the model is relearned from the recent points', async () => {
    const d = await start(config()); // drift_points: 20
    const shift = 400;
    const values = wave(480, 4).map((v, i) => (i >= shift ? v + 40 : v));
    await feed(d, [{ name: 'queue_depth', labels: {}, values }, { name: 'queue_depth_steady', labels: {}, values: wave(480, 4) }], 0, 480);
    const retrains = await d.contexts[0]!.metrics.registry.getSingleMetricAsString('vigil_anomaly_retrains_total');
    expect(retrains).toMatch(/reason="drift",outcome="ok"} [1-9]/);
    expect(retrains).not.toContain('outcome="failed"');
    await d.stop();
    const reopened = SqliteStore.open(join(dir, 'vigil.db'));
    cleanups.push(() => reopened.close());
    const model = (await reopened.models.load('queue_depth'))!;
    expect(model.meta.version).toBeGreaterThanOrEqual(1);
    const window = model.meta.params.trainingWindow as { from: number; to: number; points: number };
    expect(window.to).toBeGreaterThan(T0 + shift * STEP); // it learned from points after the change
    expect((await reopened.models.load('queue_depth_steady'))!.meta.version).toBe(0); // the same series without the change: no drift
  });

  it('memory guard: beyond max_series new series are skipped; a series silent for forget_after leaves memory and comes back restored', async () => {
    const d = await start(config('  max_series: 2\n  forget_after: 2h\n'));
    const gauge = async () => Number((await d.contexts[0]!.metrics.registry.getSingleMetricAsString('vigil_anomaly_series_watched')).match(/ (\d+)$/m)![1]);
    const at = (i: number, names: string[]) => names.map((name) => makeSample(name, {}, T0 + i * STEP, i % 7));
    for (let i = 0; i < 30; i++) {
      d.clock.t = T0 + i * STEP;
      await d.push(at(i, ['a', 'b', 'c']));
    }
    await d.idle();
    expect(await gauge()).toBe(2);
    expect(await d.contexts[0]!.metrics.registry.getSingleMetricAsString('vigil_anomaly_points_skipped_total')).toContain('reason="series_limit"} 30');

    // Only `a` keeps reporting; at the tick after 2h of silence `b` is saved and forgotten.
    for (let i = 30; i < 200; i++) {
      d.clock.t = T0 + i * STEP;
      await d.push(at(i, ['a']));
    }
    await d.idle();
    expect(await gauge()).toBe(1);
    expect((await d.store.models.load('b'))!.meta.params).toMatchObject({ points: 30 });

    d.clock.t = T0 + 200 * STEP;
    await d.push(at(200, ['b']));
    await d.idle();
    expect(await gauge()).toBe(2);
    await d.stop();
    const reopened = SqliteStore.open(join(dir, 'vigil.db'));
    cleanups.push(() => reopened.close());
    expect((await reopened.models.load('b'))!.meta.params).toMatchObject({ points: 31 }); // restored, not started afresh
  });

  it('a batch whose verdicts could not be published publishes the same message on redelivery, without scoring twice', async () => {
    const store = SqliteStore.open(join(dir, 'redelivery.db'));
    cleanups.push(() => store.close());
    const published: Envelope[] = [];
    let failNext = false;
    const bus = {
      async publish(messages: readonly Envelope[]) {
        if (failNext && messages.some((m) => m.type === 'anomaly')) {
          failNext = false;
          throw new Error('bus down');
        }
        published.push(...messages);
      },
    };
    const metrics = createMetrics();
    const clock = { now: () => T0 };
    const actor = createAnomalyDetector({ bus, store, clock, metrics, logger: createLogger('silent', { pretty: false }), config: () => config() });
    const values = wave(460, 1, [450]);
    const batch = (i: number) => envelope('samples', `b${i}`, { source: 'test', samples: [makeSample('cpu_usage', {}, T0 + i * STEP, values[i]!)] }, 'cpu_usage', T0);
    for (let i = 0; i < 450; i++) await actor.handle(batch(i));
    const before = published.filter((m) => m.type === 'anomaly').length;
    failNext = true;
    await expect(actor.handle(batch(450))).rejects.toThrow('bus down');
    await actor.handle(batch(450)); // the redelivery
    const spike = published.filter((m) => m.type === 'anomaly').slice(before);
    expect(spike.map((m) => m.id)).toEqual(['b450-anomaly']);
    expect((spike[0] as Envelope<'anomaly'>).payload.events[0]).toMatchObject({ state: 'anomalous', t: T0 + 450 * STEP });
    expect(await metrics.registry.getSingleMetricAsString('vigil_anomaly_points_scored_total')).toContain('vigil_anomaly_points_scored_total 451');
  });
});
