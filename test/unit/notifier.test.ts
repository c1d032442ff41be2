import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Actor, ActorContext } from '../../src/actors/actor.js';
import { createNotifier } from '../../src/actors/notifier/notifier.js';
import type { Notification } from '../../src/actors/notifier/notify.js';
import { resend } from '../../src/actors/notifier/outbox.js';
import type { Bus } from '../../src/bus/bus.js';
import { envelope, type AlertPayload, type Envelope } from '../../src/bus/messages.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';
import type { DeliveryRecord, Store } from '../../src/store/store.js';
import { freePort } from '../helpers/servers.js';
import { startWebhookReceiver, type Reply, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const RAISED_AT = 1_714_557_600_000;
// Backoff ceilings 100, 200, 400 ms; with random() = 0.5 each delay is 3/4 of its ceiling.
const BACKOFF = { baseMs: 100, capMs: 400 };

const firing: AlertPayload = {
  fingerprint: 'c0ffee0123456789',
  status: 'firing',
  labels: { alertname: 'HighCPU', instance: 'db-1' },
  annotations: { summary: 'CPU above 90%' },
  startsAt: '2024-05-01T10:00:00.000Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://vigil.example/rules/HighCPU',
};
const resolved: AlertPayload = { ...firing, status: 'resolved', endsAt: '2024-05-01T10:05:00.000Z' };

/** `receiver: null` sends the message without one, leaving the choice to the notifier. */
function notify(id: string, alert: AlertPayload = firing, receiver: string | null = 'ops'): Envelope {
  const payload = receiver === null ? { alert, rule: 'HighCPU' } : { alert, rule: 'HighCPU', receiver };
  return envelope('alert.notify', id, payload, alert.fingerprint, RAISED_AT);
}

interface Published {
  message: Envelope;
  delayMs: number | undefined;
}

interface Harness {
  notifier: Actor;
  store: Store;
  published: Published[];
  clock: { t: number; now(): number };
  logs: string[];
  ctx: ActorContext;
  counter(receiver: string, outcome: string): Promise<number>;
  /** The one delivery to a receiver (each test sends one notification per receiver). */
  delivery(receiver?: string): Promise<DeliveryRecord>;
  /** Published delivery retries (the group's repeat timers left out). */
  retries(): Published[];
  /** Handles published retries in order, moving the clock to each one's due time, until none is left. */
  runRetries(): Promise<Published[]>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function receive(reply?: Reply): Promise<WebhookReceiver> {
  const receiver = await startWebhookReceiver(reply);
  cleanups.push(() => receiver.close());
  return receiver;
}

function webhookConfig(url: string, extra = ''): string {
  return [
    'notifier:',
    '  max_attempts: 3',
    '  receivers:',
    '    - { name: log, kind: log }',
    `    - { name: ops, kind: webhook, url: "${url}", timeout: 200ms${extra} }`,
    '',
  ].join('\n');
}

function harness(yaml: string, options: { store?: Store; env?: NodeJS.ProcessEnv } = {}): Harness {
  const config = parseConfig(yaml, join(tmpdir(), 'vigil-notifier-test.yaml'), options.env ?? {});
  const store = options.store ?? SqliteStore.open(':memory:');
  if (!options.store) cleanups.push(() => store.close());
  const published: Published[] = [];
  const bus: Bus = {
    async publish(messages, opts) {
      for (const message of messages) published.push({ message, delayMs: opts?.delayMs });
    },
  };
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const metrics = createMetrics();
  const clock = { t: RAISED_AT + 1_000, now: () => clock.t };
  const ctx: ActorContext = { bus, store, logger: createLogger('debug', { destination }), metrics, clock, config: () => config };
  const notifier = createNotifier(ctx, { backoff: BACKOFF, random: () => 0.5 });
  let handled = 0;
  return {
    notifier,
    store,
    published,
    clock,
    logs,
    ctx,
    async counter(receiver, outcome) {
      const metric = await metrics.notifications.get();
      return metric.values.find((v) => v.labels.receiver === receiver && v.labels.outcome === outcome)?.value ?? 0;
    },
    async delivery(receiver = 'ops') {
      const records = await store.deliveries.find({ where: { receiver } });
      if (records.length !== 1) throw new Error(`${records.length} deliveries to ${receiver}, expected one`);
      return records[0]!;
    },
    retries: () => published.filter((p) => p.message.type === 'delivery.retry'),
    async runRetries() {
      const start = handled;
      while (handled < published.length) {
        const next = published[handled++]!;
        if (next.message.type !== 'delivery.retry') continue;
        clock.t += next.delayMs ?? 0;
        await notifier.handle(next.message);
      }
      return published.slice(start).filter((p) => p.message.type === 'delivery.retry');
    },
  };
}

describe('notifier actor', () => {
  it('stores the delivery, retries 500s with backoff, and records delivery after the third attempt', async () => {
    const hook = await receive((n) => ({ status: n <= 2 ? 500 : 200, body: 'overloaded' }));
    const h = harness(webhookConfig(hook.url));
    await h.notifier.handle(notify('m1'));

    expect(await h.delivery()).toMatchObject({ status: 'failed', attempts: 1, lastError: 'HTTP 500: overloaded', channel: 'webhook', target: hook.url });
    const { id } = await h.delivery();
    const retries = await h.runRetries();

    expect(hook.requests).toHaveLength(3);
    expect(hook.requests.map((r) => r.headers['idempotency-key'])).toEqual([id, id, id]);
    expect(retries.map((r) => r.delayMs)).toEqual([75, 150]);
    expect(retries.map((r) => r.message)).toEqual([
      envelope('delivery.retry', `${id}-retry-${RAISED_AT + 1_075}`, { deliveryId: id }, id, RAISED_AT + 1_000),
      envelope('delivery.retry', `${id}-retry-${RAISED_AT + 1_225}`, { deliveryId: id }, id, RAISED_AT + 1_075),
    ]);
    const record = await h.delivery();
    expect(record).toMatchObject({ status: 'delivered', attempts: 3, deliveredAt: RAISED_AT + 1_225, latencyMs: 1_225 });
    expect(record.nextAttemptAt).toBeUndefined();
    expect(await h.counter('ops', 'failed')).toBe(2);
    expect(await h.counter('ops', 'delivered')).toBe(1);
  });

  it('gives up at once on a 400: dead, no retry', async () => {
    const hook = await receive(() => ({ status: 400, body: 'bad payload' }));
    const h = harness(webhookConfig(hook.url));
    await h.notifier.handle(notify('m1'));
    expect(await h.delivery()).toMatchObject({ status: 'dead', attempts: 1, lastError: 'HTTP 400: bad payload' });
    expect(h.retries()).toEqual([]);
    expect(await h.counter('ops', 'dead')).toBe(1);
  });

  it('schedules a retry when the connection is refused', async () => {
    const h = harness(webhookConfig(`http://127.0.0.1:${await freePort()}/hook`));
    await h.notifier.handle(notify('m1'));
    expect(await h.delivery()).toMatchObject({ status: 'failed', lastError: expect.stringContaining('ECONNREFUSED'), nextAttemptAt: h.clock.t + 75 });
    expect(h.retries().map((p) => p.delayMs)).toEqual([75]);
  });

  it('schedules a retry when the receiver times out', async () => {
    const hook = await receive(() => ({ status: 200, delayMs: 5_000 }));
    const h = harness(webhookConfig(hook.url));
    await h.notifier.handle(notify('m1'));
    expect(await h.delivery()).toMatchObject({ status: 'failed', lastError: 'timed out after 200ms' });
    expect(h.retries()).toHaveLength(1);
  });

  it('is dead after max_attempts, and resend gives it a new set of attempts', async () => {
    let up = false;
    const hook = await receive(() => ({ status: up ? 200 : 503 }));
    const h = harness(webhookConfig(hook.url));
    await h.notifier.handle(notify('m1'));
    await h.runRetries();
    expect(hook.requests).toHaveLength(3);
    expect(await h.delivery()).toMatchObject({ status: 'dead', attempts: 3, lastError: 'HTTP 503' });

    up = true;
    const { id } = await h.delivery();
    expect(await resend(h.ctx, 'no-such-delivery')).toBe('not_found');
    expect(await resend(h.ctx, id)).toBe('requeued');
    expect(await h.delivery()).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await resend(h.ctx, id)).toBe('not_dead');
    await h.runRetries();
    expect(hook.requests).toHaveLength(4);
    expect(await h.delivery()).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('sends a redelivered alert.notify only once', async () => {
    const hook = await receive();
    const h = harness(webhookConfig(hook.url));
    await h.notifier.handle(notify('m1'));
    await h.notifier.handle(notify('m1'));
    expect(hook.requests).toHaveLength(1);
    expect(await h.store.deliveries.count()).toBe(1);
  });

  it('answers a redelivered alert.notify of a failing delivery by re-publishing the same retry, not by sending', async () => {
    const hook = await receive(() => ({ status: 500 }));
    const h = harness(webhookConfig(hook.url));
    await h.notifier.handle(notify('m1'));
    await h.notifier.handle(notify('m1'));
    expect(hook.requests).toHaveLength(1);
    expect(h.retries()).toHaveLength(2);
    expect(h.retries()[1]?.message.id).toBe(h.retries()[0]?.message.id);
  });

  it('ignores a stale copy of an earlier retry', async () => {
    const hook = await receive((n) => ({ status: n <= 2 ? 500 : 200 }));
    const h = harness(webhookConfig(hook.url));
    await h.notifier.handle(notify('m1'));
    const firstRetry = h.retries()[0]!.message;
    await h.notifier.handle(firstRetry);
    expect(hook.requests).toHaveLength(2);
    await h.notifier.handle(firstRetry);
    expect(hook.requests).toHaveLength(2);
    expect(await h.delivery()).toMatchObject({ status: 'failed', attempts: 2 });
  });

  it('re-sends at start a delivery a crash left in sending', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-notifier-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const hook = await receive();
    const file = join(dir, 'vigil.db');
    const id = 'dlv-left-sending';
    const notification: Notification = { receiver: 'ops', rule: 'HighCPU', raisedAt: RAISED_AT, alerts: [firing] };
    const before = SqliteStore.open(file);
    await before.deliveries.put({ id, receiver: 'ops', channel: 'webhook', target: hook.url, status: 'sending', payload: notification, attempts: 1, createdAt: RAISED_AT, updatedAt: RAISED_AT });
    await before.close();

    const store = SqliteStore.open(file);
    cleanups.push(() => store.close());
    const h = harness(webhookConfig(hook.url), { store });
    await h.notifier.start?.();
    expect(hook.requests.map((r) => r.headers['idempotency-key'])).toEqual([id]);
    expect(await h.delivery()).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('skips resolved notifications for a receiver with send_resolved: false', async () => {
    const hook = await receive();
    const h = harness(webhookConfig(hook.url, ', send_resolved: false'));
    await h.notifier.handle(notify('m1', firing));
    h.clock.t += 1_000;
    await h.notifier.handle(notify('m2', resolved));
    expect(hook.requests).toHaveLength(1);
    expect(await h.store.deliveries.count()).toBe(1);
  });

  it('sends resolved notifications by default, and nothing for an alert it never heard fire', async () => {
    const hook = await receive();
    const h = harness(webhookConfig(hook.url));
    await h.notifier.handle(notify('m0', { ...resolved, fingerprint: 'never-fired' }));
    expect(hook.requests).toHaveLength(0);
    await h.notifier.handle(notify('m1', firing));
    h.clock.t += 1_000;
    await h.notifier.handle(notify('m2', resolved));
    expect(hook.requests.map((r) => (r.json as { status: string }).status)).toEqual(['firing', 'resolved']);
  });

  it('uses the default receiver, the log, when the message names none', async () => {
    const h = harness('notifier: {}\n');
    await h.notifier.handle(notify('m1', firing, null));
    expect(await h.delivery('log')).toMatchObject({ status: 'delivered', channel: 'log', target: 'log', attempts: 1 });
    const line = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'alert HighCPU firing');
    expect(line).toMatchObject({ receiver: 'log', rule: 'HighCPU', alerts: [{ fingerprint: firing.fingerprint }] });
  });

  it('marks a delivery to an unconfigured receiver dead with the reason', async () => {
    const h = harness('notifier: {}\n');
    await h.notifier.handle(notify('m1', firing, 'nobody'));
    expect(await h.delivery('nobody')).toMatchObject({ status: 'dead', lastError: 'no receiver named "nobody" is configured' });
  });

  it('never writes the HMAC secret or URL credentials to logs or the outbox', async () => {
    const hook = await receive(() => ({ status: 500 }));
    const url = hook.url.replace('http://', 'http://hook-user:hook-password@');
    const h = harness(webhookConfig(url, ', hmac_secret: "${HOOK_SECRET}"'), { env: { HOOK_SECRET: 'hmac-secret-value' } });
    await h.notifier.handle(notify('m1'));
    await h.runRetries();
    expect(hook.requests[0]?.headers['x-vigil-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    const written = [...h.logs, JSON.stringify(await h.store.deliveries.find())].join('\n');
    expect(written).toContain('notification dead');
    for (const secret of ['hmac-secret-value', 'hook-password', 'hook-user']) expect(written).not.toContain(secret);
  });
});
