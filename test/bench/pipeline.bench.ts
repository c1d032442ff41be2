/**
 * bench:pipeline — samples/s pushed through collector → rule evaluation, and latency from sample
 * arrival to notification dispatch (webhook received), on the local and BullMQ transports.
 *
 *   npm run bench:pipeline [-- --samples 500000 --rate 50000 --seconds 10 --transports local,bullmq]
 *
 * BullMQ uses VIGIL_BENCH_REDIS_URL, else a private redis-server started on a free port.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SingleBar, Presets } from 'cli-progress';
import type { Daemon } from '../../src/app/daemon.js';
import { envelope } from '../../src/bus/messages.js';
import { makeSample, type Sample } from '../../src/series/series.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { startRedis, waitFor } from '../helpers/servers.js';

const { values: args } = parseArgs({
  options: {
    samples: { type: 'string', default: '500000' },
    rate: { type: 'string', default: '50000' },
    seconds: { type: 'string', default: '10' },
    batch: { type: 'string', default: '1000' },
    series: { type: 'string', default: '10000' },
    transports: { type: 'string', default: 'local,bullmq' },
  },
});
const TOTAL = Number(args.samples);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const BATCH = Number(args.batch);
const SERIES = Number(args.series);
const RULES = 100;

function config(dir: string, transport: string, receiverUrl: string): string {
  const rules = Array.from({ length: RULES }, (_, i) => `  - { name: Rule${i}, kind: threshold, metric: bench_metric_${i}, op: '>', value: 1000 }`).join('\n');
  return `
server: { port: 0 }
auth: { tokens: [{ name: bench, role: admin, token: bench }] }
transport: ${transport}
store: { kind: embedded, path: ${join(dir, 'vigil.db')} }
log: { level: warn }
# The alert path only: anomaly detection has its own bench (bench:anomaly, bench:nab).
anomaly: { enabled: false }
rules:
${rules}
notifier:
  receivers: [{ name: hook, kind: webhook, url: "${receiverUrl}" }]
  default_receiver: hook
  # One group per alert: every hot sample fires an alert of the same rule, and a group's webhook
  # carries all its firing alerts, so one 1,000-alert group would measure payload growth, not the path.
  route: { receiver: hook, group_by: ['...'], group_wait: 0s, group_interval: 0s }
`;
}

/** Normal samples stay under every rule's threshold; `hot` marks one new series over it. */
function batchOf(n: number, offset: number, t: number, hot?: string): Sample[] {
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const s = (offset + i) % SERIES;
    out.push(makeSample(`bench_metric_${s % RULES}`, { instance: `i${s}` }, t, s % 100));
  }
  if (hot) out[0] = makeSample('bench_metric_0', { instance: hot }, t, 5000);
  return out;
}

async function samplesEvaluated(daemon: Daemon): Promise<number> {
  const metric = await daemon.metrics.messagesHandled.get();
  return metric.values.filter((v) => v.labels.actor === 'alert-manager' && v.labels.type === 'samples' && v.labels.outcome === 'ok').reduce((a, v) => a + v.value, 0);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function run(name: string, transportYaml: string, receiver: WebhookReceiver): Promise<void> {
  const daemon = await startTestDaemon((dir) => config(dir, transportYaml.replace('JOURNAL', join(dir, 'queue.db')), `${receiver.url}`), { listen: false });
  try {
    // Throughput: push TOTAL samples as fast as the collector inbox takes them; time until all are evaluated.
    const batches = Math.ceil(TOTAL / BATCH);
    const bar = new SingleBar({ format: `${name.padEnd(7)} throughput |{bar}| {value}/{total} batches`, hideCursor: true }, Presets.shades_classic);
    if (process.stderr.isTTY) bar.start(batches, 0);
    const before = await samplesEvaluated(daemon);
    const started = performance.now();
    for (let b = 0; b < batches; b++) {
      await daemon.transport.send('collector', [envelope('samples.push', `tp-${b}`, { source: 'bench', samples: batchOf(BATCH, b * BATCH, Date.now() + b) }, 'bench')]);
      if (process.stderr.isTTY) bar.update(b + 1);
    }
    await waitFor('all batches evaluated', async () => (await samplesEvaluated(daemon)) - before >= batches || undefined, 600_000, 20);
    const seconds = (performance.now() - started) / 1000;
    if (process.stderr.isTTY) bar.stop();
    const throughput = (batches * BATCH) / seconds;

    // Latency at load: RATE samples/s for SECONDS; each batch carries one sample that fires a new alert.
    receiver.requests.length = 0;
    const perTick = Math.max(1, Math.round(RATE / BATCH / 10));
    const ticks = SECONDS * 10;
    let sent = 0;
    const loadStart = performance.now();
    for (let tick = 0; tick < ticks; tick++) {
      const msgs = Array.from({ length: perTick }, (_, k) => {
        const id = `${tick}-${k}`;
        return envelope('samples.push', `lat-${id}`, { source: 'bench', samples: batchOf(BATCH, sent + k * BATCH, Date.now(), `hot-${id}`) }, 'bench');
      });
      await daemon.transport.send('collector', msgs);
      sent += perTick * BATCH;
      const wait = loadStart + (tick + 1) * 100 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const offered = sent / ((performance.now() - loadStart) / 1000);
    const expected = ticks * perTick;
    // A notification carries every firing alert of its group (Alertmanager's webhook semantics), so an
    // alert's latency is taken from the first request that carries it.
    const firstSeen = new Map<string, number>();
    const collect = () => {
      for (const r of receiver.requests) {
        for (const alert of (r.json as { alerts: { fingerprint: string; startsAt: string }[] }).alerts) {
          if (!firstSeen.has(alert.fingerprint)) firstSeen.set(alert.fingerprint, r.at - Date.parse(alert.startsAt));
        }
      }
      return firstSeen.size;
    };
    await waitFor('all alerts notified', async () => collect() >= expected || undefined, 120_000, 20);
    const latencies = [...firstSeen.values()].sort((a, b) => a - b);
    console.log(
      `${name.padEnd(7)} throughput ${Math.round(throughput).toLocaleString('en')} samples/s (${(batches * BATCH).toLocaleString('en')} samples in ${seconds.toFixed(1)} s) | ` +
        `at ${Math.round(offered).toLocaleString('en')} samples/s offered: sample→webhook p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${latencies.at(-1)} ms (${latencies.length} alerts)`,
    );
  } finally {
    await daemon.close();
  }
}

const receiver = await startWebhookReceiver();
const wanted = args.transports.split(',');
console.log(`bench:pipeline on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), Node ${process.version}; ${RULES} rules, ${SERIES.toLocaleString('en')} series, batches of ${BATCH}`);
if (wanted.includes('local')) await run('local', '{ kind: local, journal_path: JOURNAL }', receiver);
if (wanted.includes('bullmq')) {
  const redis = process.env.VIGIL_BENCH_REDIS_URL ? undefined : await startRedis();
  try {
    await run('bullmq', `{ kind: bullmq, redis_url: "${process.env.VIGIL_BENCH_REDIS_URL ?? redis!.url}", prefix: bench${Date.now()} }`, receiver);
  } finally {
    await redis?.stop();
  }
}
await receiver.close();
