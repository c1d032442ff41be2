import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { ActorContext } from '../../src/actors/actor.js';
import { createNotifier } from '../../src/actors/notifier/notifier.js';
import type { Notification } from '../../src/actors/notifier/notify.js';
import type { Bus } from '../../src/bus/bus.js';
import { envelope, type AlertPayload, type Envelope } from '../../src/bus/messages.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';
import { startWebhookReceiver, type Reply } from '../helpers/webhook-receiver.js';

const T0 = 1_714_557_600_000;
const COOL_DOWN_MS = 30_000;

const alert = (n: number): AlertPayload => ({
  fingerprint: `f${n}`,
  status: 'firing',
  // An alertname each, so that each alert is its own aggregation group and its own delivery.
  labels: { alertname: `HighCPU${n}`, instance: `db-${n}` },
  annotations: {},
  startsAt: new Date(T0).toISOString(),
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: '',
});
const notify = (n: number): Envelope => envelope('alert.notify', `m${n}`, { alert: alert(n), rule: `HighCPU${n}`, receiver: 'ops' }, `f${n}`, T0);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * The notifier against a real loopback receiver, with a fake clock and a bus that keeps delayed
 * messages: `runUntil` hands them to the notifier in due order, moving the clock to each due time.
 */
async function setup(reply: Reply, yaml: { notifier: string; receiver?: string }) {
  const hook = await startWebhookReceiver(reply);
  cleanups.push(() => hook.close());
  const receiver = `{ name: ops, kind: webhook, url: "${hook.url}", timeout: 1s${yaml.receiver ?? ''} }`;
  const config = parseConfig(`notifier:\n${yaml.notifier}\n  default_receiver: ops\n  receivers: [${receiver}]\n`, join(tmpdir(), 'vigil-breaker-test.yaml'), {});
  const store = SqliteStore.open(':memory:');
  cleanups.push(() => store.close());
  const clock = { t: T0, now: () => clock.t };
  const scheduled: { message: Envelope; dueAt: number }[] = [];
  const bus: Bus = {
    async publish(messages, opts) {
      for (const message of messages) scheduled.push({ message, dueAt: clock.t + (opts?.delayMs ?? 0) });
    },
  };
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  let metrics = createMetrics();
  const build = () => {
    const ctx: ActorContext = { bus, store, logger: createLogger('debug', { destination }), metrics, clock, config: () => config };
    return createNotifier(ctx, { backoff: { baseMs: 100, capMs: 400 }, random: () => 0.5 });
  };
  let notifier = build();
  return {
    hook,
    store,
    clock,
    logs,
    get notifier() {
      return notifier;
    },
    /** A new process on the same store, bus and clock (the old one is gone, with its memory). */
    async restart() {
      metrics = createMetrics();
      notifier = build();
      await notifier.start?.();
    },
    /** The delivery of alert `n`. */
    async delivery(n: number) {
      const all = await store.deliveries.find();
      return all.find((d) => (d.payload as Notification).alerts[0]?.fingerprint === `f${n}`);
    },
    async circuitOpen() {
      return (await metrics.circuitOpen.get()).values.find((v) => v.labels.receiver === 'ops')?.value;
    },
    async deferred(reason: string) {
      return (await metrics.notificationsDeferred.get()).values.find((v) => v.labels.receiver === 'ops' && v.labels.reason === reason)?.value ?? 0;
    },
    /** Handles every scheduled message due by `until`, earliest first (the order the transport would). */
    async runUntil(until: number) {
      for (;;) {
        scheduled.sort((a, b) => a.dueAt - b.dueAt);
        const next = scheduled[0];
        if (!next || next.dueAt > until) break;
        scheduled.shift();
        clock.t = Math.max(clock.t, next.dueAt);
        await notifier.handle(next.message);
      }
      clock.t = Math.max(clock.t, until);
    },
  };
}

describe('notifier with a circuit breaker', () => {
  it('holds retries back while the circuit is open without spending attempts, then delivers after the trial', async () => {
    // 500 for the first three requests, then 200.
    const h = await setup((n) => ({ status: n <= 3 ? 500 : 200 }), { notifier: '  max_attempts: 3\n  circuit_breaker: { failures: 2, cool_down: 30s }' });
    await h.notifier.handle(notify(1));
    await h.notifier.handle(notify(2));
    expect(h.hook.requests).toHaveLength(2);
    expect(await h.circuitOpen()).toBe(1);
    const opened = h.logs.find((l) => String(l.msg).startsWith('circuit opened'));
    expect(opened).toMatchObject({ level: 40, receiver: 'ops', to: 'open' });

    // The backoff retries come due while the circuit is open: no request, no attempt, due again at half-open.
    await h.runUntil(T0 + COOL_DOWN_MS - 1);
    expect(h.hook.requests).toHaveLength(2);
    for (const n of [1, 2]) {
      expect(await h.delivery(n)).toMatchObject({ status: 'failed', attempts: 1, nextAttemptAt: T0 + COOL_DOWN_MS });
    }
    expect(await h.deferred('circuit_open')).toBe(2);

    // Half-open: delivery 1 is the trial and fails (request 3), so the circuit opens again; delivery 2 waits.
    await h.runUntil(T0 + COOL_DOWN_MS);
    expect(h.hook.requests).toHaveLength(3);
    expect(await h.delivery(1)).toMatchObject({ status: 'failed', attempts: 2 });
    expect(await h.delivery(2)).toMatchObject({ status: 'failed', attempts: 1, nextAttemptAt: T0 + 2 * COOL_DOWN_MS });

    // Next half-open: the trial succeeds (request 4), the circuit closes, the other goes at once.
    await h.runUntil(T0 + 3 * COOL_DOWN_MS);
    expect(h.hook.requests).toHaveLength(5);
    expect(await h.delivery(1)).toMatchObject({ status: 'delivered', attempts: 3 });
    expect(await h.delivery(2)).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(await h.circuitOpen()).toBe(0);
    expect(h.logs.filter((l) => typeof l.to === 'string').map((l) => l.to)).toEqual(['open', 'half_open', 'open', 'half_open', 'closed']);
  });

  it('keeps a circuit open across a restart until its cool-down ends, and forgets it once closed', async () => {
    let up = false;
    const h = await setup(() => ({ status: up ? 200 : 500 }), { notifier: '  circuit_breaker: { failures: 1, cool_down: 30s }' });
    await h.notifier.handle(notify(1));
    expect(await h.store.notifierState.find({ where: { kind: 'circuit' } })).toMatchObject([{ receiver: 'ops', openedAt: T0, failures: 1 }]);

    h.clock.t = T0 + COOL_DOWN_MS / 2;
    up = true;
    await h.restart();
    expect(await h.circuitOpen()).toBe(1);
    // Still cooling down: the new alert is held back (not sent), as is the first one's retry.
    await h.notifier.handle(notify(2));
    await h.runUntil(T0 + COOL_DOWN_MS - 1);
    expect(h.hook.requests).toHaveLength(1);
    expect(await h.delivery(2)).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: T0 + COOL_DOWN_MS });

    await h.runUntil(T0 + 2 * COOL_DOWN_MS);
    expect(await h.delivery(1)).toMatchObject({ status: 'delivered' });
    expect(await h.delivery(2)).toMatchObject({ status: 'delivered' });
    expect(await h.circuitOpen()).toBe(0);
    expect(await h.store.notifierState.count({ where: { kind: 'circuit' } })).toBe(0);
  });

  it('does not count a permanent refusal (400) as the receiver being down', async () => {
    const h = await setup(() => ({ status: 400 }), { notifier: '  circuit_breaker: { failures: 1, cool_down: 30s }' });
    await h.notifier.handle(notify(1));
    await h.notifier.handle(notify(2));
    expect(h.hook.requests).toHaveLength(2);
    expect(await h.circuitOpen()).toBeUndefined();
  });
});

describe('notifier with a rate limit', () => {
  it('defers sends beyond the rate to evenly spaced slots, without spending attempts', async () => {
    const h = await setup(() => ({ status: 200 }), { notifier: '  max_attempts: 1', receiver: ', rate_limit: 10' });
    for (const n of [1, 2, 3, 4]) await h.notifier.handle(notify(n));
    expect(h.hook.requests).toHaveLength(1);
    const waiting = await Promise.all([2, 3, 4].map(async (n) => h.delivery(n)));
    expect(waiting.map((d) => [d?.status, d?.attempts, d?.nextAttemptAt])).toEqual([
      ['pending', 0, T0 + 100],
      ['pending', 0, T0 + 200],
      ['pending', 0, T0 + 300],
    ]);
    expect(await h.deferred('rate_limited')).toBe(3);

    const sentAt: number[] = [];
    for (const until of [T0 + 100, T0 + 200, T0 + 300]) {
      await h.runUntil(until);
      sentAt.push(h.clock.now());
      expect(h.hook.requests).toHaveLength(sentAt.length + 1);
    }
    // max_attempts 1: had a deferral spent the attempt, these would be dead instead of delivered.
    for (const n of [1, 2, 3, 4]) expect(await h.delivery(n)).toMatchObject({ status: 'delivered', attempts: 1 });
  });
});
