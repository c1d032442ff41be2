/**
 * bench:anomaly — the anomaly-detector actor with its default configuration on the local transport:
 *  1. throughput: points/s through the bus into the actor, for --series series of --points points each,
 *     in batches of one point per series (as the collector publishes a scrape);
 *  2. memory per watched series: heap growth per series once every model is warm (windows full, forest
 *     trained), and the size of a saved model.
 *
 *   npm run bench:anomaly [-- --series 2000 --points 400 --detector ensemble]
 */
import { parseArgs } from 'node:util';
import { runActor, type ActorContext } from '../../src/actors/actor.js';
import { createAnomalyDetector } from '../../src/actors/anomaly-detector/anomaly-detector.js';
import { encodeModel } from '../../src/actors/anomaly-detector/model-codec.js';
import { SeriesWatch } from '../../src/actors/anomaly-detector/series-watch.js';
import { createBus } from '../../src/bus/bus.js';
import { LocalTransport } from '../../src/bus/local/local-transport.js';
import { envelope } from '../../src/bus/messages.js';
import { parseConfig } from '../../src/config/load.js';
import { createDetector, type DetectorName } from '../../src/models/anomaly/detector.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { makeSample } from '../../src/series/series.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';

const { values: args } = parseArgs({ options: { series: { type: 'string', default: '2000' }, points: { type: 'string', default: '400' }, detector: { type: 'string', default: 'ensemble' } } });
const SERIES = Number(args.series);
const POINTS = Number(args.points);
const T0 = Date.UTC(2026, 0, 1);
const STEP = 60_000;
const value = (k: number, i: number) => 50 + 10 * Math.sin((2 * Math.PI * (i + k)) / 120) + ((i * 7919 + k * 104_729) % 100) / 33;

async function throughput(): Promise<void> {
  const config = parseConfig(`anomaly: { persist_interval: 24h, detector: ${args.detector}, max_series: ${SERIES} }\n`, '/bench/vigil.yaml', {});
  const clock = { t: T0, now: () => clock.t };
  const transport = new LocalTransport({ partitions: {}, clock });
  const store = SqliteStore.open(':memory:');
  const ctx: ActorContext = { bus: createBus(transport), store, clock, metrics: createMetrics(), logger: createLogger('silent', { pretty: false }), config: () => config };
  const sink = await transport.consume('alert-manager', async () => undefined);
  const actor = await runActor(createAnomalyDetector(ctx), transport, ctx);
  const labels = Array.from({ length: SERIES }, (_, k) => ({ instance: `host-${k}` }));
  const started = process.hrtime.bigint();
  for (let i = 0; i < POINTS; i++) {
    clock.t = T0 + i * STEP;
    const samples = labels.map((l, k) => makeSample('cpu_usage', l, clock.t, value(k, i)));
    await ctx.bus.publish([envelope('samples', `scrape-${i}`, { source: 'bench', samples }, 'bench', clock.t)]);
    // Keep the inbox short, as a collector waiting on the bus would.
    while ((await transport.depth('anomaly-detector')) > 2) await new Promise((r) => setImmediate(r));
  }
  while ((await transport.depth('anomaly-detector')) > 1) await new Promise((r) => setImmediate(r));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const events = await ctx.metrics.registry.getSingleMetricAsString('vigil_anomaly_events_total');
  console.log(`throughput (${args.detector}): ${SERIES} series x ${POINTS} points = ${SERIES * POINTS} points in ${seconds.toFixed(1)} s: ${Math.round((SERIES * POINTS) / seconds)} points/s through the bus and the actor`);
  console.log(`events: ${events.split('\n').filter((l) => l.startsWith('vigil_anomaly_events_total{')).join(', ') || 'none'}`);
  await actor.close();
  await sink.close();
  await transport.close();
  await store.close();
}

function memory(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    console.log('memory: run with node --expose-gc (npm run bench:anomaly does) to measure heap per series');
    return;
  }
  const n = Math.min(SERIES, 1000);
  gc();
  const before = process.memoryUsage().heapUsed;
  const watches: SeriesWatch[] = [];
  for (let k = 0; k < n; k++) {
    const watch = new SeriesWatch(`cpu_usage{instance="host-${k}"}`, 'cpu_usage', { instance: `host-${k}` }, createDetector(args.detector as DetectorName), 512);
    for (let i = 0; i < 600; i++) watch.observe(T0 + i * STEP, value(k, i), { threshold: 0.5, settlePoints: 5, settleAfterMs: 900_000, driftPoints: 20 });
    watches.push(watch);
  }
  gc();
  const perSeries = (process.memoryUsage().heapUsed - before) / n;
  const saved = encodeModel(watches[0]!, watches[0]!.save(), T0).weights.byteLength;
  console.log(`memory: ${(perSeries / 1024).toFixed(1)} KiB of heap per watched series (${args.detector}, 600 points seen, ${n} series); a saved model is ${(saved / 1024).toFixed(1)} KiB`);
}

await throughput();
memory();
