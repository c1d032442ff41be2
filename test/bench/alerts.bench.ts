/**
 * bench:alerts — rule evaluation speed and noise control quality, on the real alert manager (with
 * noise control and incidents) and, for the scenarios, the real notifier, on simulated time.
 *
 *   npm run bench:alerts [-- --series 10000 --rules 1000 --batches 30 --failures 50 --seed 1 --spacing 15]
 *
 * 1. Throughput: every series gets one sample per batch; each sample is evaluated by every rule on its
 *    metric (rules / metrics of them), so a batch is series × rules / metrics evaluations.
 * 2. Scenario: the simulator's topology with injected failures (host down, LB down, slow database, disk
 *    filling); notifications are outbox deliveries, incidents those opened, root cause right when the
 *    incident names the failing resource's own alert.
 */
import { parseArgs } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';
import type { ActorContext } from '../../src/actors/actor.js';
import { createAlertManagerWithNoiseControl } from '../../src/actors/alert-manager/noise-control.js';
import type { Bus } from '../../src/bus/bus.js';
import { envelope } from '../../src/bus/messages.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { makeSample, type Sample } from '../../src/series/series.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';
import { runScenario } from '../simulator/run.js';
import { generateScenario } from '../simulator/scenario.js';

const { values: args } = parseArgs({
  options: {
    series: { type: 'string', default: '10000' },
    rules: { type: 'string', default: '1000' },
    metrics: { type: 'string', default: '100' },
    batches: { type: 'string', default: '30' },
    failures: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    spacing: { type: 'string', default: '15', description: 'mean minutes between failure starts (some overlap)' },
  },
});
const SERIES = Number(args.series);
const RULES = Number(args.rules);
const METRICS = Number(args.metrics);
const BATCHES = Number(args.batches);
const TTY = process.stderr.isTTY;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const bar = (name: string) => (TTY ? new SingleBar({ format: `${name.padEnd(10)} |{bar}| {value}/{total}`, hideCursor: true, stream: process.stderr }, Presets.shades_classic) : undefined);

async function throughput(): Promise<void> {
  // Rule r watches metric r % METRICS with its own threshold; about 1% of samples breach the lowest ones.
  const rules = Array.from({ length: RULES }, (_, r) => `  - { name: Rule${r}, kind: threshold, metric: m${r % METRICS}, op: '>', value: ${990 + (r % 10)}, for: 1m }`).join('\n');
  const config = parseConfig(`rules:\n${rules}\nnotifier: { receivers: [{ name: log, kind: log }], default_receiver: log }\n`, '/bench/vigil.yaml', {});
  const store = SqliteStore.open(':memory:');
  const clock = { t: Date.UTC(2026, 4, 4), now: () => clock.t };
  const bus: Bus = { publish: async () => {} };
  const metrics = createMetrics();
  const ctx: ActorContext = { bus, store, clock, metrics, logger: createLogger('silent', { pretty: false }), config: () => config };
  const manager = createAlertManagerWithNoiseControl(ctx);
  await manager.start?.();
  const batch = (t: number): Sample[] => Array.from({ length: SERIES }, (_, s) => makeSample(`m${s % METRICS}`, { instance: `i${s}` }, t, s % 100 === 7 ? 995 : (s * 7919) % 900));
  const batches = Array.from({ length: BATCHES + 3 }, (_, i) => batch(clock.t + i * 15_000));
  const handle = async (samples: Sample[], i: number) => {
    clock.t = samples[0]?.t ?? clock.t;
    await manager.handle(envelope('samples', `b-${i}`, { source: 'bench', samples }, 'bench', clock.t));
  };
  for (let i = 0; i < 3; i++) await handle(batches[i] as Sample[], i); // warm-up: JIT, first alerts
  const before = (await metrics.ruleEvaluations.get()).values.reduce((a, v) => a + v.value, 0);
  const latencies: number[] = [];
  const progress = bar('throughput');
  progress?.start(BATCHES, 0);
  const started = performance.now();
  for (let i = 3; i < BATCHES + 3; i++) {
    const t0 = performance.now();
    await handle(batches[i] as Sample[], i);
    latencies.push(performance.now() - t0);
    progress?.increment();
  }
  const seconds = (performance.now() - started) / 1000;
  progress?.stop();
  const evaluations = (await metrics.ruleEvaluations.get()).values.reduce((a, v) => a + v.value, 0) - before;
  latencies.sort((a, b) => a - b);
  const perBatch = evaluations / BATCHES;
  console.log(`rule evaluation: ${SERIES} series, ${RULES} rules (${RULES / METRICS} per metric), ${BATCHES} batches`);
  console.log(`  evaluations/s            ${Math.round(evaluations / seconds).toLocaleString('en')}   (target >= 100,000)`);
  console.log(`  batch latency p50 / p99  ${percentile(latencies, 50).toFixed(1)} ms / ${percentile(latencies, 99).toFixed(1)} ms for ${Math.round(perBatch).toLocaleString('en')} evaluations`);
  console.log(`  per evaluation           ${((1000 * percentile(latencies, 50)) / perBatch).toFixed(2)} µs (p50 batch)`);
  await manager.stop?.();
  await store.close();
}

async function scenario(): Promise<void> {
  const s = generateScenario({ seed: Number(args.seed), failures: Number(args.failures), spacingMs: Number(args.spacing) * 60_000 });
  const progress = bar('scenario');
  progress?.start(1, 0);
  const started = performance.now();
  const r = await runScenario(s, (done, total) => {
    progress?.setTotal(total);
    progress?.update(done);
  });
  progress?.stop();
  const f = r.failures;
  const counts = Object.fromEntries(['host_down', 'lb_down', 'slow_db', 'disk_filling'].map((k) => [k, s.failures.filter((x) => x.kind === k).length]));
  console.log(`scenario: seed ${s.seed}, ${s.resources.length} resources, ${f} failures (${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')}), ${((s.end - s.start) / 3_600_000).toFixed(1)} h simulated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  console.log(`  notifications per failure  ${(r.notifications / f).toFixed(2)}   (${r.notifications}; target <= 2)`);
  console.log(`  incidents per failure      ${(r.incidents.length / f).toFixed(2)}   (${r.incidents.length}; target <= 1.2)`);
  console.log(`  root cause right           ${((100 * r.rightRootCause) / Math.max(1, r.incidents.length)).toFixed(1)} %   (${r.rightRootCause}/${r.incidents.length}; target >= 90 %)`);
  console.log(`  failures with no incident naming their cause  ${r.missed}`);
}

await throughput();
await scenario();
