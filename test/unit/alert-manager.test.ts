import { afterEach, describe, expect, it } from 'vitest';
import type { Actor, ActorContext } from '../../src/actors/actor.js';
import { createAlertManager } from '../../src/actors/alert-manager/alert-manager.js';
import type { Bus } from '../../src/bus/bus.js';
import { envelope, type Envelope } from '../../src/bus/messages.js';
import { parseConfig, type VigilConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { makeSample } from '../../src/series/series.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const MINUTE = 60_000;

const RULES = `
server: { external_url: "https://vigil.example/" }
rules:
  - name: HighCpu
    kind: threshold
    metric: cpu_usage
    match: { env: prod }
    op: ">"
    value: 90
    for: 5m
    severity: critical
    labels: { team: infra }
    annotations: { summary: "CPU on {{ $labels.host }} is {{ $value }}%" }
  - name: DiskFull
    kind: threshold
    metric: disk_used
    op: ">="
    value: 95
`;

interface Published {
  message: Envelope;
  dueAt: number;
}

/**
 * One simulated deployment: a real embedded store, a clock the test moves, and a bus that records
 * what is published (a restart keeps the store, the clock and the record, like a real daemon).
 */
function createWorld(configText = RULES) {
  const store = SqliteStore.open(':memory:');
  const clock = { t: T0, now: () => clock.t };
  const published: Published[] = [];
  let failPublishes = 0;
  const bus: Bus = {
    async publish(messages, options) {
      if (failPublishes > 0) {
        failPublishes--;
        throw new Error('bus unavailable');
      }
      for (const message of messages) published.push({ message, dueAt: clock.t + (options?.delayMs ?? 0) });
    },
  };
  let config = parseConfig(configText, '/etc/vigil/vigil.yaml', {});
  let metrics: Metrics = createMetrics();

  function boot(): { actor: Actor; metrics: Metrics } {
    metrics = createMetrics();
    const ctx: ActorContext = { bus, store, clock, metrics, logger: createLogger('silent', { pretty: false }), config: () => config };
    return { actor: createAlertManager(ctx), metrics };
  }

  return {
    store,
    clock,
    published,
    boot,
    failNextPublishes(n: number) {
      failPublishes = n;
    },
    setConfig(text: string): VigilConfig {
      config = parseConfig(text, '/etc/vigil/vigil.yaml', {});
      return config;
    },
    cpu(value: number, host = 'h1', env = 'prod'): Envelope {
      const sample = makeSample('cpu_usage', { host, env }, clock.t, value);
      return envelope('samples', `samples-${sample.series}-${clock.t}`, { source: 'test', samples: [sample] }, sample.series, clock.t);
    },
    ack(fp: string, by: string, comment?: string): Envelope {
      return envelope('alert.ack', `ack-${fp}-${by}-${clock.t}`, { fingerprint: fp, by, ...(comment === undefined ? {} : { comment }) }, fp, clock.t);
    },
    notifies: () => published.filter((p) => p.message.type === 'alert.notify').map((p) => p.message as Envelope<'alert.notify'>),
    acknowledgements: () => published.filter((p) => p.message.type === 'alert.acknowledged').map((p) => p.message as Envelope<'alert.acknowledged'>),
    timers: () => published.filter((p) => p.message.type === 'alert.timer'),
    /** Hands the actor every timer that is due, as the transport would. */
    async deliverDueTimers(actor: Actor) {
      for (const { message } of published.filter((p) => p.message.type === 'alert.timer' && p.dueAt <= clock.t)) await actor.handle(message);
    },
  };
}

type World = ReturnType<typeof createWorld>;
const worlds: World[] = [];
function world(configText?: string): World {
  const w = createWorld(configText);
  worlds.push(w);
  return w;
}
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.store.close()));
});

describe('alert manager', () => {
  it('pages once when a series stays above the threshold longer than `for`, and once when it recovers', async () => {
    const w = world();
    const { actor, metrics } = w.boot();
    await actor.start?.();

    await actor.handle(w.cpu(95));
    expect(w.timers().map((t) => [t.message.id, t.dueAt])).toEqual([[expect.stringMatching(/^alert-[0-9a-f]{16}-for-\d+$/), T0 + 5 * MINUTE]]);
    for (let i = 1; i <= 4; i++) {
      w.clock.t = T0 + i * MINUTE;
      await actor.handle(w.cpu(95 + i));
    }
    expect(w.notifies()).toEqual([]);

    w.clock.t = T0 + 5 * MINUTE;
    await w.deliverDueTimers(actor);
    w.clock.t = T0 + 6 * MINUTE;
    await actor.handle(w.cpu(97));
    w.clock.t = T0 + 7 * MINUTE;
    await actor.handle(w.cpu(50));
    await actor.handle(w.cpu(40, 'h1', 'dev')); // not selected by `match`

    const notifies = w.notifies();
    expect(notifies.map((n) => n.payload.alert.status)).toEqual(['firing', 'resolved']);
    const [firing, resolved] = notifies.map((n) => n.payload.alert);
    const fp = firing!.fingerprint;
    expect(firing).toEqual({
      fingerprint: fp,
      status: 'firing',
      labels: { alertname: 'HighCpu', env: 'prod', host: 'h1', severity: 'critical', team: 'infra' },
      annotations: { summary: 'CPU on h1 is 99%' },
      startsAt: new Date(T0 + 5 * MINUTE).toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: `https://vigil.example/api/v1/alerts/${fp}`,
      value: 99,
    });
    expect(resolved).toMatchObject({ status: 'resolved', startsAt: firing!.startsAt, endsAt: new Date(T0 + 7 * MINUTE).toISOString(), value: 50 });
    expect(notifies.map((n) => n.id)).toEqual([`alert-${fp}-firing-${T0}`, `alert-${fp}-resolved-${T0}`]);
    expect(notifies[0]!.payload.rule).toBe('HighCpu');

    const history = await w.store.alertEvents.find({ where: { alertId: fp }, orderBy: { field: 'at' } });
    expect(history.map((h) => `${h.from}->${h.to}`)).toEqual(['inactive->pending', 'pending->firing', 'firing->resolved']);
    expect(history.every((h) => h.by === 'system' && h.reason.length > 0)).toBe(true);
    expect(await w.store.alerts.get(fp)).toMatchObject({ rule: 'HighCpu', state: 'resolved', activeAt: T0, firedAt: T0 + 5 * MINUTE, resolvedAt: T0 + 7 * MINUTE, value: 50 });

    expect((await metrics.alertsActive.get()).values).toEqual(expect.arrayContaining([
      expect.objectContaining({ labels: { state: 'resolved' }, value: 1 }),
      expect.objectContaining({ labels: { state: 'firing' }, value: 0 }),
    ]));
    expect((await metrics.ruleEvaluations.get()).values).toEqual([expect.objectContaining({ labels: { rule: 'HighCpu' }, value: 7 })]);
  });

  it('fires on the first sample of a rule without `for`', async () => {
    const w = world();
    const { actor } = w.boot();
    await actor.start?.();
    const sample = makeSample('disk_used', { mount: '/' }, w.clock.t, 99);
    await actor.handle(envelope('samples', 's1', { source: 'test', samples: [sample] }));
    expect(w.notifies().map((n) => n.payload.alert.labels)).toEqual([{ alertname: 'DiskFull', mount: '/', severity: 'warning' }]);
    expect(w.timers()).toEqual([]);
  });

  it('still fires exactly once after a restart while pending, when the timer arrives', async () => {
    const w = world();
    const first = w.boot().actor;
    await first.start?.();
    await first.handle(w.cpu(95));
    await first.stop?.();

    w.clock.t = T0 + 2 * MINUTE;
    const { actor: second, metrics } = w.boot();
    await second.start?.();
    // The restored alert re-publishes its timer under the same id, so the transport drops the duplicate.
    const timerIds = w.timers().map((t) => t.message.id);
    expect(timerIds).toHaveLength(2);
    expect(timerIds[1]).toBe(timerIds[0]);
    expect((await metrics.alertsActive.get()).values).toEqual([expect.objectContaining({ labels: { state: 'pending' }, value: 1 })]);

    w.clock.t = T0 + 5 * MINUTE;
    await w.deliverDueTimers(second); // both copies: the second is stale
    expect(w.notifies().map((n) => n.payload.alert.status)).toEqual(['firing']);
    const fp = w.notifies()[0]!.payload.alert.fingerprint;
    expect((await w.store.alertEvents.find({ where: { alertId: fp } })).map((h) => h.to).sort()).toEqual(['firing', 'pending']);
  });

  it('keeps a condition that clears during pending silent, also after a restart', async () => {
    const w = world();
    const first = w.boot().actor;
    await first.start?.();
    await first.handle(w.cpu(95));
    w.clock.t = T0 + MINUTE;
    await first.handle(w.cpu(10));

    const second = w.boot().actor;
    await second.start?.();
    w.clock.t = T0 + 10 * MINUTE;
    await w.deliverDueTimers(second);
    await w.deliverDueTimers(first);
    expect(w.notifies()).toEqual([]);
  });

  it('does not duplicate history or notifications when samples and timers are redelivered', async () => {
    const w = world();
    const { actor } = w.boot();
    await actor.start?.();
    const up = w.cpu(95);
    await actor.handle(up);
    w.clock.t = T0 + 5 * MINUTE;
    await w.deliverDueTimers(actor);
    w.clock.t = T0 + 6 * MINUTE;
    const down = w.cpu(50);
    await actor.handle(down);

    const before = w.published.length;
    await actor.handle(up); // an old batch, redelivered after the alert moved on
    await w.deliverDueTimers(actor);
    await actor.handle(down);
    expect(w.published.length).toBe(before);
    expect(w.notifies().map((n) => n.payload.alert.status)).toEqual(['firing', 'resolved']);
    expect(await w.store.alertEvents.count()).toBe(3);
  });

  it('retries a transition whose effects failed, with the same message ids and one history entry', async () => {
    const w = world();
    const { actor } = w.boot();
    await actor.start?.();
    await actor.handle(w.cpu(95));
    w.clock.t = T0 + 5 * MINUTE;
    const [timer] = w.timers();

    w.failNextPublishes(1);
    await expect(actor.handle(timer!.message)).rejects.toThrow('bus unavailable');
    expect(w.notifies()).toEqual([]);
    const fp = (timer!.message as Envelope<'alert.timer'>).payload.fingerprint;
    expect((await w.store.alerts.get(fp))?.state).toBe('pending'); // nothing stored before the messages went out

    await actor.handle(timer!.message); // the transport's redelivery
    await actor.handle(timer!.message);
    expect(w.notifies().map((n) => n.id)).toEqual([`alert-${fp}-firing-${T0}`]);
    expect((await w.store.alerts.get(fp))?.state).toBe('firing');
    expect(await w.store.alertEvents.count({ where: { alertId: fp } })).toBe(2);
  });

  it('resolves alerts of a removed rule on reload and drops their timers', async () => {
    const w = world();
    const { actor, metrics } = w.boot();
    await actor.start?.();
    await actor.handle(w.cpu(95, 'h1')); // pending
    await actor.handle(envelope('samples', 'disk', { source: 'test', samples: [makeSample('disk_used', { mount: '/' }, w.clock.t, 99)] })); // firing

    w.clock.t = T0 + MINUTE;
    await actor.reload?.(w.setConfig('rules: []'));
    expect(w.notifies().map((n) => `${n.payload.rule}:${n.payload.alert.status}`)).toEqual(['DiskFull:firing', 'DiskFull:resolved']);
    const states = (await w.store.alerts.find()).map((a) => `${a.rule}:${a.state}`).sort();
    expect(states).toEqual(['DiskFull:resolved', 'HighCpu:inactive']);
    const reasons = (await w.store.alertEvents.find({ orderBy: { field: 'at' } })).filter((h) => h.at === T0 + MINUTE).map((h) => `${h.from}->${h.to}:${h.reason}`);
    expect(reasons.sort()).toEqual(['firing->resolved:rule removed', 'pending->inactive:rule removed']);

    w.clock.t = T0 + 10 * MINUTE;
    await w.deliverDueTimers(actor);
    await actor.handle(w.cpu(99));
    expect(w.notifies()).toHaveLength(2);
    expect((await metrics.alertsActive.get()).values.every((v) => v.value === 0)).toBe(true);

    // A restart with the rule still gone does not page again.
    const second = w.boot().actor;
    await second.start?.();
    expect(w.notifies()).toHaveLength(2);
  });

  it('treats a rule whose labels changed as a new rule: old alerts resolve, new ones carry the new labels', async () => {
    const w = world();
    const { actor } = w.boot();
    await actor.start?.();
    await actor.handle(envelope('samples', 'd1', { source: 'test', samples: [makeSample('disk_used', { mount: '/' }, w.clock.t, 99)] }));
    w.clock.t = T0 + MINUTE;
    await actor.reload?.(w.setConfig(RULES.replace('op: ">="\n    value: 95', 'op: ">="\n    value: 95\n    labels: { team: storage }')));
    w.clock.t = T0 + 2 * MINUTE;
    await actor.handle(envelope('samples', 'd2', { source: 'test', samples: [makeSample('disk_used', { mount: '/' }, w.clock.t, 99)] }));
    expect(w.notifies().map((n) => [n.payload.alert.status, n.payload.alert.labels.team])).toEqual([
      ['firing', undefined],
      ['resolved', undefined],
      ['firing', 'storage'],
    ]);
  });

  it('keeps alerts of an unchanged rule across a reload and applies a new threshold', async () => {
    const w = world();
    const { actor } = w.boot();
    await actor.start?.();
    await actor.handle(w.cpu(95));
    await actor.reload?.(w.setConfig(RULES.replace('value: 90', 'value: 96')));
    w.clock.t = T0 + MINUTE;
    await actor.handle(w.cpu(95)); // no longer above the threshold: back to inactive
    w.clock.t = T0 + 10 * MINUTE;
    await w.deliverDueTimers(actor);
    expect(w.notifies()).toEqual([]);
    const history = await w.store.alertEvents.find({ orderBy: { field: 'at' } });
    expect(history.map((h) => `${h.from}->${h.to}:${h.reason}`)).toEqual(['inactive->pending:condition met', 'pending->inactive:condition cleared before the for duration']);
  });
});

describe('alert manager: acknowledgement', () => {
  /** A DiskFull alert (no `for`) firing since T0; returns its fingerprint. */
  async function fireDisk(w: World, actor: Actor): Promise<string> {
    await actor.handle(envelope('samples', `disk-${w.clock.t}`, { source: 'test', samples: [makeSample('disk_used', { mount: '/' }, w.clock.t, 99)] }));
    return w.notifies()[0]!.payload.alert.fingerprint;
  }
  const disk = (w: World, value: number) =>
    envelope('samples', `disk-${w.clock.t}`, { source: 'test', samples: [makeSample('disk_used', { mount: '/' }, w.clock.t, value)] });

  it('records who acknowledged and announces it once, also when the request is redelivered', async () => {
    const w = world();
    const { actor, metrics } = w.boot();
    await actor.start?.();
    const fp = await fireDisk(w, actor);

    w.clock.t = T0 + MINUTE;
    const ack = w.ack(fp, 'alice', 'disk cleanup running');
    await actor.handle(ack);
    await actor.handle(ack); // at-least-once delivery
    w.clock.t = T0 + 2 * MINUTE;
    await actor.handle(w.ack(fp, 'bob')); // a second person: refused, the alert is already taken

    expect(w.acknowledgements().map((m) => ({ id: m.id, key: m.key, payload: m.payload }))).toEqual([
      {
        id: `alert-${fp}-acknowledged-${T0}`,
        key: fp,
        payload: { fingerprint: fp, by: 'alice', at: T0 + MINUTE, labels: { alertname: 'DiskFull', mount: '/', severity: 'warning' } },
      },
    ]);
    const history = await w.store.alertEvents.find({ where: { alertId: fp }, orderBy: { field: 'at' } });
    expect(history.map((h) => `${h.from}->${h.to} by ${h.by}: ${h.reason}`)).toEqual(['inactive->firing by system: condition met', 'firing->acknowledged by alice: disk cleanup running']);
    expect(await w.store.alerts.get(fp)).toMatchObject({ state: 'acknowledged', firedAt: T0 });
    expect((await metrics.alertsActive.get()).values).toEqual(expect.arrayContaining([expect.objectContaining({ labels: { state: 'acknowledged' }, value: 1 })]));

    // Still above the threshold: no new page; cleared: resolved, notified as a firing alert would be.
    w.clock.t = T0 + 3 * MINUTE;
    await actor.handle(disk(w, 99));
    w.clock.t = T0 + 4 * MINUTE;
    await actor.handle(disk(w, 50));
    expect(w.notifies().map((n) => n.payload.alert.status)).toEqual(['firing', 'resolved']);
    expect((await w.store.alerts.get(fp))?.state).toBe('resolved');
  });

  it('refuses, without writing anything, an acknowledgement of an alert that is not firing or not known', async () => {
    const w = world();
    const { actor } = w.boot();
    await actor.start?.();
    await actor.handle(w.cpu(95)); // pending
    const fp = (w.timers()[0]!.message as Envelope<'alert.timer'>).payload.fingerprint;
    const before = w.published.length;
    await actor.handle(w.ack(fp, 'alice'));
    await actor.handle(w.ack('0000000000000000', 'alice'));
    expect(w.published.length).toBe(before);
    expect((await w.store.alertEvents.find({ where: { alertId: fp } })).map((h) => h.to)).toEqual(['pending']);
    expect((await w.store.alerts.get(fp))?.state).toBe('pending');
  });

  it('retries an acknowledgement whose announcement failed, with the same message id and one history entry', async () => {
    const w = world();
    const { actor } = w.boot();
    await actor.start?.();
    const fp = await fireDisk(w, actor);
    w.clock.t = T0 + MINUTE;
    const ack = w.ack(fp, 'alice');
    w.failNextPublishes(1);
    await expect(actor.handle(ack)).rejects.toThrow('bus unavailable');
    expect((await w.store.alerts.get(fp))?.state).toBe('firing');

    w.clock.t = T0 + 2 * MINUTE; // redelivered later: it still carries the request's time
    await actor.handle(ack);
    expect(w.acknowledgements().map((m) => m.payload.at)).toEqual([T0 + MINUTE]);
    expect((await w.store.alertEvents.find({ where: { alertId: fp } })).filter((h) => h.to === 'acknowledged')).toHaveLength(1);
  });

  it('stays acknowledged across a restart and resolves once', async () => {
    const w = world();
    const first = w.boot().actor;
    await first.start?.();
    const fp = await fireDisk(w, first);
    w.clock.t = T0 + MINUTE;
    await first.handle(w.ack(fp, 'alice'));
    await first.stop?.();

    w.clock.t = T0 + 2 * MINUTE;
    const { actor: second, metrics } = w.boot();
    await second.start?.();
    expect((await metrics.alertsActive.get()).values).toEqual([expect.objectContaining({ labels: { state: 'acknowledged' }, value: 1 })]);
    await second.handle(disk(w, 99));
    await second.handle(w.ack(fp, 'alice'));
    expect(w.acknowledgements()).toHaveLength(1);
    expect(w.notifies()).toHaveLength(1);

    w.clock.t = T0 + 3 * MINUTE;
    await second.handle(disk(w, 10));
    expect(w.notifies().map((n) => n.payload.alert.status)).toEqual(['firing', 'resolved']);
    const history = await w.store.alertEvents.find({ where: { alertId: fp }, orderBy: { field: 'at' } });
    expect(history.map((h) => `${h.from}->${h.to}`)).toEqual(['inactive->firing', 'firing->acknowledged', 'acknowledged->resolved']);
  });
});
