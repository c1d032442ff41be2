import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Actor, ActorContext } from '../../src/actors/actor.js';
import { groupId } from '../../src/actors/notifier/grouping.js';
import { createNotifier } from '../../src/actors/notifier/notifier.js';
import type { Notification } from '../../src/actors/notifier/notify.js';
import type { Bus } from '../../src/bus/bus.js';
import { envelope, type AlertPayload, type Envelope } from '../../src/bus/messages.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';
import type { Store } from '../../src/store/store.js';

const T0 = Date.parse('2024-05-01T10:00:00Z');
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function alert(instance: string, status: AlertPayload['status'] = 'firing', labels: Record<string, string> = {}): AlertPayload {
  return {
    fingerprint: `fp-${instance}`,
    status,
    labels: { alertname: 'ServerDown', instance, ...labels },
    annotations: {},
    startsAt: '2024-05-01T10:00:00.000Z',
    endsAt: status === 'resolved' ? '2024-05-01T11:00:00.000Z' : '0001-01-01T00:00:00Z',
    generatorURL: '',
  };
}

interface Queued {
  message: Envelope;
  due: number;
}

/**
 * The notifier on the real embedded store with a recording bus and a hand-driven clock. Published
 * messages wait in `queue` until `advance` reaches their due time; the bus keeps duplicates (it does
 * not deduplicate by id) so handlers must be idempotent.
 */
function harness(yaml: string, shared?: { store: Store; queue: Queued[]; clock: { t: number } }) {
  const config = parseConfig(yaml, join(tmpdir(), 'vigil-grouping-test.yaml'), {});
  const store = shared?.store ?? SqliteStore.open(':memory:');
  if (!shared) cleanups.push(() => store.close());
  const queue: Queued[] = shared?.queue ?? [];
  const clock = shared?.clock ?? { t: T0 };
  const bus: Bus = {
    async publish(messages, options) {
      for (const message of messages) queue.push({ message, due: clock.t + (options?.delayMs ?? 0) });
    },
  };
  const ctx: ActorContext = { bus, store, logger: createLogger('silent'), metrics: createMetrics(), clock: { now: () => clock.t }, config: () => config };
  const notifier: Actor = createNotifier(ctx, { random: () => 0.5 });
  let seq = 0;
  return {
    notifier,
    store,
    queue,
    clock,
    shared: { store, queue, clock },
    /** An alert.notify raised now. */
    async notify(a: AlertPayload) {
      await notifier.handle(envelope('alert.notify', `notify-${a.fingerprint}-${a.status}-${clock.t}-${seq++}`, { alert: a, rule: 'ServerDown' }, a.fingerprint, clock.t));
    },
    /** Moves the clock to `to`, handling every queued message due by then in due order. */
    async advance(to: number) {
      for (;;) {
        const next = queue.filter((q) => q.due <= to).sort((a, b) => a.due - b.due)[0];
        if (!next) break;
        queue.splice(queue.indexOf(next), 1);
        clock.t = Math.max(clock.t, next.due);
        await notifier.handle(next.message);
      }
      clock.t = to;
    },
    /** What was handed to the outbox, oldest first: receiver, time, and each alert as `instance:status`. */
    async sent() {
      const records = (await store.deliveries.find({ orderBy: { field: 'createdAt' } })).map((r) => r.payload as Notification & { createdAt?: number });
      return records.map((n) => ({ receiver: n.receiver, alerts: n.alerts.map((a) => `${a.labels.instance}:${a.status}`), ...(n.acknowledged ? { acknowledged: n.acknowledged.by } : {}) }));
    },
  };
}

const ROUTED = `
notifier:
  receivers:
    - { name: team, kind: log }
  route:
    receiver: team
    group_by: [alertname]
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 4h
`;

/** Every change is sent at once, as with no route configured. */
const AT_ONCE = ROUTED.replace('group_wait: 30s', 'group_wait: 0s').replace('group_interval: 5m', 'group_interval: 0s');

describe('aggregation groups', () => {
  it('group_wait collects the alerts that arrive meanwhile into one notification', async () => {
    const h = harness(ROUTED);
    await h.notify(alert('a'));
    h.clock.t = T0 + 10 * SECOND;
    await h.notify(alert('b'));
    await h.advance(T0 + 29 * SECOND);
    expect(await h.sent()).toEqual([]);
    await h.advance(T0 + 30 * SECOND);
    expect(await h.sent()).toEqual([{ receiver: 'team', alerts: ['a:firing', 'b:firing'] }]);
  });

  it('group_interval batches later changes; repeat_interval resends while firing and stops once resolved', async () => {
    const h = harness(ROUTED);
    await h.notify(alert('a'));
    await h.notify(alert('b'));
    await h.advance(T0 + 30 * SECOND);

    await h.advance(T0 + 1 * MINUTE);
    await h.notify(alert('c'));
    await h.advance(T0 + 2 * MINUTE);
    await h.notify(alert('a', 'resolved'));
    await h.advance(T0 + 30 * SECOND + 5 * MINUTE - 1);
    expect(await h.sent()).toHaveLength(1);
    await h.advance(T0 + 30 * SECOND + 5 * MINUTE);
    expect((await h.sent())[1]).toEqual({ receiver: 'team', alerts: ['a:resolved', 'b:firing', 'c:firing'] });

    // Nothing changes: the next word is the repeat, 4h after the last notification, without the resolved alert.
    await h.advance(T0 + 30 * SECOND + 5 * MINUTE + 4 * HOUR - 1);
    expect(await h.sent()).toHaveLength(2);
    await h.advance(T0 + 30 * SECOND + 5 * MINUTE + 4 * HOUR);
    expect((await h.sent())[2]).toEqual({ receiver: 'team', alerts: ['b:firing', 'c:firing'] });

    await h.notify(alert('b', 'resolved'));
    await h.notify(alert('c', 'resolved'));
    await h.advance(T0 + 48 * HOUR);
    expect((await h.sent()).slice(3)).toEqual([{ receiver: 'team', alerts: ['b:resolved', 'c:resolved'] }]);
    expect(await h.store.notifierState.count({ where: { kind: 'group' } })).toBe(0);
    expect(h.queue).toEqual([]);
  });

  it('sends nothing for a group resolved before group_wait ends', async () => {
    const h = harness(ROUTED);
    await h.notify(alert('a'));
    h.clock.t = T0 + 10 * SECOND;
    await h.notify(alert('a', 'resolved'));
    await h.advance(T0 + 24 * HOUR);
    expect(await h.sent()).toEqual([]);
    expect(await h.store.notifierState.count({ where: { kind: 'group' } })).toBe(0);
  });

  it('group_by [...] makes one group per label set; group_by labels an alert lacks are left out', async () => {
    const h = harness(ROUTED.replace('group_by: [alertname]', "group_by: ['...']"));
    await h.notify(alert('a'));
    await h.notify(alert('b'));
    await h.advance(T0 + 30 * SECOND);
    expect((await h.sent()).sort((x, y) => x.alerts[0]!.localeCompare(y.alerts[0]!))).toEqual([
      { receiver: 'team', alerts: ['a:firing'] },
      { receiver: 'team', alerts: ['b:firing'] },
    ]);
    const groups = await h.store.notifierState.find({ where: { kind: 'group' } });
    expect(groups.map((g) => g.groupLabels)).toContainEqual({ alertname: 'ServerDown', instance: 'a' });

    const byTeam = harness(ROUTED.replace('group_by: [alertname]', 'group_by: [team]'));
    await byTeam.notify(alert('a'));
    const [group] = await byTeam.store.notifierState.find({ where: { kind: 'group' } });
    expect(group).toMatchObject({ groupKey: '{}:{}', groupLabels: {} });
  });

  it('resumes a group after a restart and flushes it once', async () => {
    const before = harness(ROUTED);
    await before.notify(alert('a'));
    // The process dies before group_wait ends; a new notifier starts on the same store and queue.
    const after = harness(ROUTED, before.shared);
    await after.notifier.start?.();
    expect(after.queue.map((q) => q.message.id)).toEqual([before.queue[0]!.message.id, before.queue[0]!.message.id]);
    await after.advance(T0 + 1 * HOUR);
    expect(await after.sent()).toEqual([{ receiver: 'team', alerts: ['a:firing'] }]);
  });

  it('resumes a group whose timer was lost with the crash', async () => {
    const before = harness(ROUTED);
    await before.notify(alert('a'));
    before.queue.splice(0);
    const after = harness(ROUTED, before.shared);
    await after.notifier.start?.();
    await after.advance(T0 + 1 * HOUR);
    expect(await after.sent()).toEqual([{ receiver: 'team', alerts: ['a:firing'] }]);
  });

  it('handles redelivered alert.notify and group.flush messages once', async () => {
    const h = harness(ROUTED);
    const message = envelope('alert.notify', 'n1', { alert: alert('a'), rule: 'ServerDown' }, 'fp-a', T0);
    await h.notifier.handle(message);
    await h.notifier.handle(message);
    const flush = h.queue[0]!.message;
    expect(flush).toMatchObject({ type: 'group.flush', payload: { due: T0 + 30 * SECOND } });
    await h.advance(T0 + 30 * SECOND);
    await h.notifier.handle(flush);
    await h.notifier.handle(message);
    await h.advance(T0 + 1 * HOUR);
    expect(await h.sent()).toEqual([{ receiver: 'team', alerts: ['a:firing'] }]);
    const [group] = await h.store.notifierState.find({ where: { kind: 'group' } });
    expect(group?.id).toBe(groupId((flush as Envelope<'group.flush'>).payload.groupKey));
  });

  it('sends a notification once when the process died after writing it but before storing its group', async () => {
    const h = harness(AT_ONCE);
    const message = envelope('alert.notify', 'n1', { alert: alert('a'), rule: 'ServerDown' }, 'fp-a', T0);
    // The first process writes the delivery, then dies as it stores the group (group_wait 0s: never stored before).
    const dying = Object.create(h.store.notifierState) as Store['notifierState'];
    dying.put = async () => {
      throw new Error('killed');
    };
    const crashed = harness(AT_ONCE, { ...h.shared, store: Object.assign(Object.create(h.store) as Store, { notifierState: dying }) });
    await expect(crashed.notifier.handle(message)).rejects.toThrow('killed');
    expect(await h.store.deliveries.count()).toBe(1);

    // Restarted later, the journal hands the message over again: the same delivery, sent once.
    h.clock.t = T0 + 5 * SECOND;
    const after = harness(AT_ONCE, h.shared);
    await after.notifier.start?.();
    await after.notifier.handle(message);
    await after.advance(T0 + 1 * HOUR);
    expect(await after.sent()).toEqual([{ receiver: 'team', alerts: ['a:firing'] }]);
    // Its first attempt was counted when it was written (as `sending`), so the crash cut one attempt short.
    expect((await h.store.deliveries.find()).map((d) => [d.status, d.attempts])).toEqual([['delivered', 2]]);
    expect(await h.store.notifierState.count({ where: { kind: 'group' } })).toBe(1);
  });

  it('sends both when one alert of a group resolves and another fires in the same millisecond', async () => {
    const h = harness(AT_ONCE);
    await h.notify(alert('a'));
    h.clock.t = T0 + 1 * MINUTE;
    // The resolution empties the group (it is deleted); the new alert starts it again at the same due time.
    await h.notify(alert('a', 'resolved'));
    await h.notify(alert('b'));
    expect(await h.sent()).toEqual([
      { receiver: 'team', alerts: ['a:firing'] },
      { receiver: 'team', alerts: ['a:resolved'] },
      { receiver: 'team', alerts: ['b:firing'] },
    ]);
  });

  it('tells the receivers of a group that an alert was acknowledged, and only those', async () => {
    const h = harness(ROUTED);
    await h.notify(alert('a'));
    await h.notifier.handle(envelope('alert.acknowledged', 'ack-early', { fingerprint: 'fp-a', by: 'ann', at: T0 + 1, labels: alert('a').labels }));
    expect(await h.sent()).toEqual([]);
    await h.advance(T0 + MINUTE);
    const ack = envelope('alert.acknowledged', 'ack-1', { fingerprint: 'fp-a', by: 'ann', at: T0 + MINUTE, labels: alert('a').labels });
    await h.notifier.handle(ack);
    await h.notifier.handle(ack);
    expect(await h.sent()).toEqual([
      { receiver: 'team', alerts: ['a:firing'] },
      { receiver: 'team', alerts: ['a:firing'], acknowledged: 'ann' },
    ]);
  });

  it('starts the route\'s escalation on the first firing notification and stops it when the group resolves', async () => {
    const h = harness(`${ROUTED}    escalation: night-shift
  oncall:
    users: [{ name: ann }]
  escalation_policies:
    - name: night-shift
      steps: [{ targets: ['user:ann'], timeout: 15m }]
`);
    await h.notify(alert('a'));
    expect(await h.store.notifierState.count({ where: { kind: 'escalation' } })).toBe(0);
    await h.advance(T0 + 30 * SECOND);
    const [started] = await h.store.notifierState.find({ where: { kind: 'escalation' } });
    expect(started).toMatchObject({ status: 'active', policy: 'night-shift' });
    // The first page goes out once, through escalation step 0, addressed to ann.
    const pages = await h.store.deliveries.find({});
    expect(pages).toHaveLength(1);
    expect((pages[0]!.payload as { recipients?: { name: string }[] }).recipients?.map((r) => r.name)).toEqual(['ann']);
    await h.notify(alert('a', 'resolved'));
    await h.advance(T0 + 10 * MINUTE);
    const [stopped] = await h.store.notifierState.find({ where: { kind: 'escalation' } });
    expect(stopped).toMatchObject({ status: 'resolved' });
  });
});

/**
 * Time-based routing (issue 6): "at night, if only one of three servers is down, email; by day always
 * page; by default email and page". Conditions are checked when a group flushes, not when alerts arrive.
 */
const NIGHT_AND_DAY = `
notifier:
  receivers:
    - { name: email, kind: log }
    - { name: pager, kind: log }
  time_intervals:
    - { name: night, location: Europe/Berlin, times: [{ start: '22:00', end: '07:00' }] }
  route:
    receivers: [email, pager]          # by default: email and page
    group_by: [alertname]
    group_wait: 30s
    group_interval: 5m
    routes:
      - matchers: ['role="server"']    # by day: page whatever is down
        receiver: pager
        mute_time_intervals: [night]
        continue: true
      - matchers: ['role="server"']    # at night: page only when two or more servers are down
        receiver: pager
        active_time_intervals: [night]
        min_firing: 2
        continue: true
      - matchers: ['role="server"']    # and always email
        receiver: email
`;

describe('time-based routing: min_firing by night, always by day', () => {
  const server = (n: string, status: AlertPayload['status'] = 'firing') => alert(n, status, { role: 'server' });
  const DAY = Date.parse('2024-05-01T10:00:00Z'); // 12:00 in Berlin
  const NIGHT = Date.parse('2024-05-01T21:00:00Z'); // 23:00 in Berlin

  it('by day one server down pages and emails', async () => {
    const h = harness(NIGHT_AND_DAY, { store: SqliteStore.open(':memory:'), queue: [], clock: { t: DAY } });
    cleanups.push(() => h.store.close());
    await h.notify(server('s1'));
    await h.advance(DAY + MINUTE);
    expect((await h.sent()).map((s) => s.receiver).sort()).toEqual(['email', 'pager']);
  });

  it('at night one server down only emails; a second one down pages', async () => {
    const h = harness(NIGHT_AND_DAY, { store: SqliteStore.open(':memory:'), queue: [], clock: { t: NIGHT } });
    cleanups.push(() => h.store.close());
    await h.notify(server('s1'));
    await h.advance(NIGHT + 10 * MINUTE);
    expect(await h.sent()).toEqual([{ receiver: 'email', alerts: ['s1:firing'] }]);

    await h.notify(server('s2'));
    await h.advance(NIGHT + 20 * MINUTE);
    expect(await h.sent()).toEqual([
      { receiver: 'email', alerts: ['s1:firing'] },
      { receiver: 'email', alerts: ['s1:firing', 's2:firing'] },
      { receiver: 'pager', alerts: ['s1:firing', 's2:firing'] },
    ]);
  });

  it('other alerts go to the root route: email and page', async () => {
    const h = harness(NIGHT_AND_DAY, { store: SqliteStore.open(':memory:'), queue: [], clock: { t: NIGHT } });
    cleanups.push(() => h.store.close());
    await h.notify(alert('db-1'));
    await h.advance(NIGHT + MINUTE);
    expect((await h.sent()).map((s) => s.receiver).sort()).toEqual(['email', 'pager']);
  });

  it('a page sent by day hears of the resolution even when it comes at night', async () => {
    const evening = Date.parse('2024-05-01T19:55:00Z'); // 21:55 in Berlin
    const h = harness(NIGHT_AND_DAY, { store: SqliteStore.open(':memory:'), queue: [], clock: { t: evening } });
    cleanups.push(() => h.store.close());
    await h.notify(server('s1'));
    await h.advance(evening + MINUTE);
    await h.advance(evening + 30 * MINUTE);
    await h.notify(server('s1', 'resolved'));
    await h.advance(evening + HOUR);
    const pages = (await h.sent()).filter((s) => s.receiver === 'pager');
    expect(pages).toEqual([
      { receiver: 'pager', alerts: ['s1:firing'] },
      { receiver: 'pager', alerts: ['s1:resolved'] },
    ]);
  });
});
