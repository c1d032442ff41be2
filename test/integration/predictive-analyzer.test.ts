import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runActor, type ActorContext } from '../../src/actors/actor.js';
import { FORECASTER_KIND, listPredictions } from '../../src/actors/predictive-analyzer/forecast-store.js';
import { createPredictiveAnalyzer } from '../../src/actors/predictive-analyzer/predictive-analyzer.js';
import { createBus } from '../../src/bus/bus.js';
import { LocalTransport } from '../../src/bus/local/local-transport.js';
import { envelope, type Envelope, type PredictionEvent, type RiskEvent } from '../../src/bus/messages.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { makeSample, type Sample } from '../../src/series/series.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const STEP = 10 * MINUTE;
const PER_DAY = DAY / STEP;
const T0 = Date.UTC(2026, 0, 5); // Monday 2026-01-05

const config = parseConfig(
  `
forecast:
  step: 10m
  evaluate_every: 6h
  unattended:
    - { name: weekend, time_zone: UTC, weekdays: [saturday, sunday] }
  risks:
    - name: CpuAndMemorySaturated
      conditions:
        - { metric: cpu_usage, op: ">", value: 90 }
        - { metric: mem_usage, op: ">", value: 90 }
      group_by: [instance]
      for: 30m
      min_score: 1
rules:
  - { name: DiskFillingUp, kind: predict, metric: disk_used_percent, match: { mount: "/data" }, threshold: 90, within: 7d, min_confidence: 0.5 }
`,
  '/etc/vigil/vigil.yaml',
  {},
);

/** The disk: 4% a day with a daily cycle and seeded noise; reaches 90% on Sunday 2026-01-25. */
function diskSignal(k: number): number {
  return 10 + (4 * k) / PER_DAY + 1.5 * Math.sin((2 * Math.PI * k) / PER_DAY);
}

function seededNoise(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a / 2147483648 - 0.5;
  };
}

/**
 * The analyzer on the real local transport and embedded store (files); the alert manager's inbox, where
 * predictions and risks go, is read by a recorder. Samples travel as the collector sends them.
 */
describe('predictive analyzer on the local transport', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-predictive-'));
  const clock = { t: T0, now: () => clock.t };
  const received: Envelope[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start() {
    const transport = new LocalTransport({ partitions: {}, journalPath: join(dir, 'journal.db'), clock });
    const store = SqliteStore.open(join(dir, 'vigil.db'));
    const bus = createBus(transport);
    const ctx: ActorContext = { bus, store, clock, metrics: createMetrics(), logger: createLogger('silent', { pretty: false }), config: () => config };
    const recorder = await transport.consume('alert-manager', async (m) => {
      received.push(m);
    });
    const running = await runActor(createPredictiveAnalyzer(ctx), transport, ctx);
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await running.close();
        await recorder.close();
        await transport.close();
        await store.close();
      })());
    cleanups.push(stop);
    const send = (id: string, samples: Sample[]) => bus.publish([envelope('samples', id, { source: 'test', samples }, samples[0]?.series, clock.t)]);
    return { store, send, stop, ctx };
  }

  const predictions = () =>
    received.filter((m) => m.type === 'prediction').flatMap((m) => (m as Envelope<'prediction'>).payload.predictions) as PredictionEvent[];

  it('turns samples into a prediction of the breach, alerted before the weekend it falls in, and resumes after a restart', async () => {
    const noise = seededNoise(7);
    const days = (from: number, to: number) =>
      Array.from({ length: (to - from) * PER_DAY }, (_, i) => {
        const k = from * PER_DAY + i;
        return makeSample('disk_used_percent', { host: 'db1', mount: '/data' }, T0 + k * STEP, diskSignal(k) + 0.3 * noise());
      });
    const first = await start();
    // Another mount on the same host is not watched by the rule.
    await first.send('other-mount', [makeSample('disk_used_percent', { host: 'db1', mount: '/' }, T0, 50)]);
    for (let d = 0; d < 12; d++) {
      clock.t = T0 + (d + 1) * DAY;
      await first.send(`disk-day-${d}`, days(d, d + 1));
    }
    // Evaluated every 6h of sample time, at steps the next sample closes: the last one within 6h of the end.
    const EVERY = 6 * 3_600_000;
    await vi.waitFor(() => expect(predictions().at(-1)?.t).toBeGreaterThan(T0 + 12 * DAY - EVERY - 2 * STEP), { timeout: 10_000 });
    await first.stop();
    const saved = await SqliteStore.open(join(dir, 'vigil.db'));
    expect((await saved.models.list({ where: { kind: FORECASTER_KIND } })).map((m) => m.seriesId)).toEqual(['disk_used_percent{host="db1",mount="/data"}']);
    await saved.close();

    // Restarted: the model comes back from the store and goes on learning from day 12.
    const second = await start();
    for (let d = 12; d < 15; d++) {
      clock.t = T0 + (d + 1) * DAY;
      await second.send(`disk-day-${d}`, days(d, d + 1));
    }
    await vi.waitFor(() => expect(predictions().at(-1)?.t).toBeGreaterThan(T0 + 15 * DAY - EVERY - 2 * STEP), { timeout: 10_000 });
    const lastT = predictions().at(-1)?.t as number;

    let k = 15 * PER_DAY;
    while (diskSignal(k) < 90) k++;
    const trueAt = T0 + k * STEP; // Sunday 2026-01-25
    const p = predictions().at(-1) as PredictionEvent;
    expect(p).toMatchObject({ rule: 'DiskFillingUp', series: 'disk_used_percent{host="db1",mount="/data"}', threshold: 90, direction: 'above' });
    expect(p.labels).toEqual({ host: 'db1', mount: '/data' });
    expect(Math.abs((p.breach?.at as number) - trueAt)).toBeLessThan(0.1 * (trueAt - lastT));
    expect(p.breach?.earliest).toBeLessThanOrEqual(p.breach?.at as number);
    expect(p.ratePerHour * 24).toBeCloseTo(4, 0);
    expect(p.confidence).toBeGreaterThan(0.5);
    // The breach falls on Sunday: alert by the weekend's start, Saturday 00:00 UTC.
    expect(new Date(trueAt).getUTCDay()).toBe(0);
    expect(p.notifyBy).toBe(Date.UTC(2026, 0, 24));
    // Evaluated every 6h of sample time, not on every sample (once more after the restart); the unwatched mount never.
    expect(predictions().length).toBeLessThanOrEqual(15 * 4 + 2);
    expect(predictions().every((q) => q.labels.mount === '/data')).toBe(true);
    expect((await listPredictions(second.store.models)).map((q) => q.t)).toEqual([lastT]);
  });

  it('raises a precursor risk when CPU and memory stay above 90% together for 30 minutes, and clears it', async () => {
    const { send } = await start();
    const at = (m: number) => T0 + m * MINUTE;
    for (let m = 0; m <= 40; m += 5) {
      const cpu = m < 35 ? 95 : 60;
      await send(`load-${m}`, [makeSample('cpu_usage', { instance: 'a' }, at(m), cpu), makeSample('mem_usage', { instance: 'a' }, at(m), 93), makeSample('cpu_usage', { instance: 'b' }, at(m), 97)]);
    }
    await vi.waitFor(() => expect(received.filter((m) => m.type === 'risk')).toHaveLength(2));
    const events = received.filter((m) => m.type === 'risk').flatMap((m) => (m as Envelope<'risk'>).payload.events) as RiskEvent[];
    expect(events.map((e) => [e.state, e.labels.instance, e.t])).toEqual([
      ['raised', 'a', at(30)],
      ['cleared', 'a', at(35)],
    ]);
    expect(events[0]?.score).toBe(1);
    expect(events[0]?.since).toBe(at(0));
    expect(events[0]?.reasons).toEqual(['cpu_usage{instance="a"} > 90 (now 95)', 'mem_usage{instance="a"} > 90 (now 93)']);
  });
});
