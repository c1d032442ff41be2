/**
 * bench:notify — notifications/s through the notifier (routing, outbox, webhook) to a loopback
 * receiver, and latency from alert firing (the alert.notify message's ts) to the webhook POST arriving,
 * at a steady rate.
 *
 *   npm run bench:notify [-- --notifications 5000 --rate 200 --seconds 10 --partitions 1,8]
 *
 * Messages go straight into a started daemon's notifier inbox on the journaled local transport. Every
 * alert has its own labels and the root route groups by all labels with group_wait 0s, so each message
 * is one aggregation group, flushed at once, and one delivery. Each partition count (of the notifier
 * inbox: how many deliveries are in flight at once) runs in a fresh daemon.
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Presets, SingleBar } from 'cli-progress';
import type { Daemon } from '../../src/app/daemon.js';
import { envelope, type AlertPayload, type Envelope } from '../../src/bus/messages.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/servers.js';

const { values: args } = parseArgs({
  options: {
    notifications: { type: 'string', default: '5000' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    batch: { type: 'string', default: '500' },
    partitions: { type: 'string', default: '1,8' },
  },
});
const TOTAL = Number(args.notifications);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const BATCH = Number(args.batch);
const PARTITIONS = args.partitions.split(',').map(Number);
/** The steady phase publishes every TICK_MS. */
const TICK_MS = 10;

/** Issue 6's targets. */
const TARGET_THROUGHPUT = 2_000;
const TARGET_P99_MS = 100;

function config(dir: string, receiverUrl: string, partitions: number): string {
  return `
server: { port: 0 }
auth: { tokens: [{ name: bench, role: admin, token: bench }] }
transport: { kind: local, journal_path: ${join(dir, 'queue.db')}, partitions: { notifier: ${partitions} } }
store: { kind: embedded, path: ${join(dir, 'vigil.db')} }
log: { level: warn }
notifier:
  receivers: [{ name: hook, kind: webhook, url: "${receiverUrl}" }]
  default_receiver: hook
  route: { receiver: hook, group_by: ['...'], group_wait: 0s }
`;
}

function notifyMessage(id: string, ts: number): Envelope {
  const alert: AlertPayload = {
    fingerprint: id,
    status: 'firing',
    labels: { alertname: 'BenchAlert', instance: id },
    annotations: { summary: `bench alert ${id}` },
    startsAt: new Date(ts).toISOString(),
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: '',
  };
  return envelope('alert.notify', `notify-${id}`, { alert, rule: 'BenchAlert' }, id, ts);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const fmt = (n: number) => Math.round(n).toLocaleString('en');
const verdict = (met: boolean) => (met ? 'target met' : 'TARGET MISSED');

/**
 * The webhook receiver runs in a worker thread, as a real one would run elsewhere: it records when each
 * alert arrived (same clock) and reports arrivals in batches, leaving the main thread to the daemon.
 */
const RECEIVER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
let arrivals = [];
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    for (const a of JSON.parse(Buffer.concat(chunks).toString('utf8')).alerts) arrivals.push([a.fingerprint, at]);
    res.writeHead(200).end();
  });
});
setInterval(() => {
  if (arrivals.length) parentPort.postMessage(arrivals);
  arrivals = [];
}, 5);
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
`;

/** Fingerprint → when the receiver got it. */
const received = new Map<string, number>();
const receiverThread = new Worker(RECEIVER_SOURCE, { eval: true });
const receiverUrl = await new Promise<string>((resolve, reject) => {
  receiverThread.once('error', reject);
  receiverThread.on('message', (message: { port: number } | [string, number][]) => {
    if (Array.isArray(message)) for (const [fingerprint, at] of message) received.set(fingerprint, at);
    else resolve(`http://127.0.0.1:${message.port}/hook`);
  });
});

/** TOTAL alert.notify messages into the notifier inbox at once; time until the receiver has them all. */
async function measureThroughput(daemon: Daemon, label: string): Promise<void> {
  received.clear();
  const bar = new SingleBar({ format: `${label} throughput |{bar}| {value}/{total} delivered`, hideCursor: true }, Presets.shades_classic);
  if (process.stderr.isTTY) bar.start(TOTAL, 0);
  const progress = process.stderr.isTTY ? setInterval(() => bar.update(received.size), 200) : undefined;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  for (let b = 0; b < TOTAL; b += BATCH) {
    const now = Date.now();
    await daemon.transport.send('notifier', Array.from({ length: Math.min(BATCH, TOTAL - b) }, (_, i) => notifyMessage(`tp-${b + i}`, now)));
  }
  await waitFor('every notification delivered', async () => (received.size >= TOTAL ? true : undefined), 600_000, 5);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(progress);
  if (process.stderr.isTTY) {
    bar.update(received.size);
    bar.stop();
  }
  const perSecond = TOTAL / seconds;
  console.log(
    `${label} throughput: ${fmt(perSecond)} notifications/s (${fmt(TOTAL)} delivered in ${seconds.toFixed(2)} s; ` +
      `${((cpu.user + cpu.system) / 1000 / TOTAL).toFixed(2)} ms CPU each) — ${verdict(perSecond >= TARGET_THROUGHPUT)} (>= ${fmt(TARGET_THROUGHPUT)}/s)`,
  );
}

/** A steady RATE for SECONDS: firing (the message ts) → webhook POST received. */
async function measureLatency(daemon: Daemon, label: string): Promise<void> {
  received.clear();
  const firedAt = new Map<string, number>();
  const ticks = Math.round((SECONDS * 1000) / TICK_MS);
  let sent = 0;
  const loadStart = performance.now();
  for (let tick = 0; tick < ticks; tick++) {
    // Whatever the ticks so far owe, so the offered rate holds even when a tick runs late.
    const due = Math.round(((tick + 1) * TICK_MS * RATE) / 1000) - sent;
    const now = Date.now();
    const messages = Array.from({ length: due }, (_, i) => {
      const id = `lat-${sent + i}`;
      firedAt.set(id, now);
      return notifyMessage(id, now);
    });
    if (messages.length) await daemon.transport.send('notifier', messages);
    sent += due;
    const wait = loadStart + (tick + 1) * TICK_MS - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  const offered = sent / ((performance.now() - loadStart) / 1000);
  await waitFor('every steady-rate notification delivered', async () => (received.size >= sent ? true : undefined), 600_000, 5);
  const latencies = [...firedAt].map(([id, at]) => (received.get(id) ?? NaN) - at).sort((a, b) => a - b);
  const p99 = percentile(latencies, 99);
  console.log(
    `${label} latency at ${fmt(offered)} notifications/s for ${SECONDS} s: firing → webhook p50 ${percentile(latencies, 50)} ms, ` +
      `p99 ${p99} ms, max ${latencies.at(-1)} ms (${fmt(latencies.length)} notifications) — ${verdict(p99 <= TARGET_P99_MS)} (p99 <= ${TARGET_P99_MS} ms)`,
  );
}

async function run(partitions: number): Promise<void> {
  const label = `${partitions} partition${partitions === 1 ? '' : 's'}:`;
  const daemon = await startTestDaemon((dir) => config(dir, receiverUrl, partitions), { listen: false });
  try {
    await measureThroughput(daemon, label);
    await measureLatency(daemon, label);
    const outcomes = Object.fromEntries((await daemon.metrics.notifications.get()).values.map((v) => [v.labels.outcome, v.value]));
    console.log(`${label} outbox outcomes ${JSON.stringify(outcomes)}`);
  } finally {
    await daemon.close();
  }
}

console.log(
  `bench:notify on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB), Node ${process.version}; ` +
    'local transport (journaled), embedded store, webhook receiver on loopback in a worker thread',
);
console.log(`command: npm run bench:notify -- --notifications ${TOTAL} --rate ${RATE} --seconds ${SECONDS} --batch ${BATCH} --partitions ${PARTITIONS.join(',')}`);
try {
  for (const partitions of PARTITIONS) await run(partitions);
} finally {
  await receiverThread.terminate();
}
