import { afterEach, describe, expect, it } from 'vitest';
import { makeSilence } from '../../src/noise/silences.js';
import { makeSample } from '../../src/series/series.js';
import { simulatedDeployment, type SimulatedDeployment } from '../simulator/deployment.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 4, 4, 9, 0);

const CONFIG = `
alerting: { evaluation_interval: 30s }
rules:
  - { name: Down, kind: threshold, metric: up, op: '==', value: 0, for: 1m }
  - { name: Availability, kind: sla, metric: up, window: 1h, objective: 90 }
notifier:
  receivers: [{ name: log, kind: log }]
  default_receiver: log
  time_intervals:
    - { name: patch-slot, location: UTC, times: [{ start: '10:00', end: '10:30' }] }
maintenance_windows:
  - { name: db-patching, matchers: ['instance="db"'], schedule: [patch-slot] }
`;

describe('noise control wired into the alert manager', () => {
  let world: SimulatedDeployment;
  afterEach(async () => world?.stop());

  /** Scrapes `up` of both resources every 30 s up to `to`; `down(instance, t)` says which are down. */
  async function scrapeUntil(to: number, down: (instance: string, t: number) => boolean, from = world.clock.t) {
    for (let t = from; t <= to; t += 30_000) await world.scrape(['db', 'app'].map((i) => makeSample('up', { instance: i }, t, down(i, t) ? 0 : 1)), t);
  }
  const state = async (alertname: string, instance: string) => (await world.store.alerts.find()).find((a) => a.labels.alertname === alertname && a.labels.instance === instance)?.state;

  it('a maintenance window mutes the alert inside it and leaves the time out of the SLA; the same outage elsewhere breaches it', async () => {
    world = simulatedDeployment(CONFIG, T0);
    await world.start();
    const outage = (_i: string, t: number) => t >= T0 + 65 * MINUTE && t < T0 + 85 * MINUTE; // 10:05 to 10:25, both resources
    await scrapeUntil(T0 + 75 * MINUTE, outage);
    expect(await state('Down', 'db')).toBe('suppressed');
    expect(await state('Down', 'app')).toBe('firing');
    const history = await world.store.alertEvents.find({ where: { alertId: (await world.store.alerts.find()).find((a) => a.labels.instance === 'db' && a.rule === 'Down')?.id as string } });
    expect(history.map((h) => `${h.to} by ${h.by}`)).toContain('suppressed by maintenance:db-patching');
    await scrapeUntil(T0 + 105 * MINUTE, outage);
    // 20 of 60 minutes down: 66.7 % for app; for db the window's 20 minutes are not counted at all.
    expect(await state('Availability', 'app')).toBe('firing');
    expect(await state('Availability', 'db')).toBeUndefined();
    // Receivers heard of app's outage and SLA breach only.
    const notified = (await world.store.deliveries.find()).map((d) => JSON.stringify(d.payload));
    expect(notified.some((p) => p.includes('"instance":"db"'))).toBe(false);
    expect(notified.some((p) => p.includes('"instance":"app"'))).toBe(true);
  });

  it('a silence stored through the API mutes at the next evaluation tick and lifts when it expires', async () => {
    world = simulatedDeployment(CONFIG, T0);
    await world.start();
    const appDown = (i: string) => i === 'app';
    await scrapeUntil(T0 + 3 * MINUTE, appDown);
    expect(await state('Down', 'app')).toBe('firing');
    const silence = makeSilence({ matchers: ['instance="app"'], startsAt: world.clock.t, endsAt: world.clock.t + 10 * MINUTE, createdBy: 'ann', comment: 'rebuilding' }, world.clock.t, 's1');
    await world.store.silences.put(silence);
    await scrapeUntil(T0 + 4 * MINUTE, appDown);
    expect(await state('Down', 'app')).toBe('suppressed');
    await world.store.silences.put({ ...silence, endsAt: world.clock.t });
    await scrapeUntil(T0 + 5 * MINUTE, appDown);
    expect(await state('Down', 'app')).toBe('firing');
  });

  it('an alert another process stored (another partition) inhibits from the next tick', async () => {
    world = simulatedDeployment(
      `${CONFIG}
topology: { nodes: [{ name: lb }, { name: app, depends_on: [lb] }, { name: db }] }
inhibit_rules: [{ source_matchers: ['severity="critical"'], target_matchers: ['alertname="Down"'], along_topology: true }]
`,
      T0,
    );
    await world.start();
    await world.store.alerts.put({ id: 'lb-fp', rule: 'LbDown', state: 'firing', labels: { alertname: 'LbDown', instance: 'lb', severity: 'critical' }, annotations: {}, snapshot: {}, activeAt: T0, firedAt: T0, updatedAt: T0 });
    await scrapeUntil(T0 + 3 * MINUTE, (i) => i !== 'lb');
    expect(await state('Down', 'app')).toBe('suppressed');
    expect(await state('Down', 'db')).toBe('firing');
    const app = (await world.store.alerts.find()).find((a) => a.labels.instance === 'app' && a.rule === 'Down');
    const history = await world.store.alertEvents.find({ where: { alertId: app?.id as string } });
    expect(history.map((h) => `${h.from}->${h.to} by ${h.by}: ${h.reason}`)).toContain('pending->suppressed by inhibited-by:lb-fp: inhibited by LbDown on lb (inhibit_rules[0])');
  });
});

describe('a rule without `for` whose alert is muted the moment it would fire', () => {
  let world: SimulatedDeployment;
  afterEach(async () => world?.stop());

  const NO_FOR = `
alerting: { evaluation_interval: 30s }
rules:
  - { name: Gone, kind: threshold, metric: up, op: '==', value: 0 }
notifier:
  receivers: [{ name: log, kind: log }]
  default_receiver: log
topology: { nodes: [{ name: lb }, { name: app, depends_on: [lb] }, { name: db }] }
inhibit_rules: [{ source_matchers: ['severity="critical"'], target_matchers: ['alertname="Gone"'], along_topology: true }]
`;
  async function scrapeUntil(to: number, down: (instance: string, t: number) => boolean) {
    for (let t = world.clock.t; t <= to; t += 30_000) await world.scrape(['db', 'app'].map((i) => makeSample('up', { instance: i }, t, down(i, t) ? 0 : 1)), t);
  }
  const alertOf = async (instance: string) => (await world.store.alerts.find()).find((a) => a.rule === 'Gone' && a.labels.instance === instance);
  const historyOf = async (instance: string) =>
    (await world.store.alertEvents.find({ where: { alertId: (await alertOf(instance))?.id as string } })).sort((a, b) => a.at - b.at).map((h) => `${h.from}->${h.to} by ${h.by}: ${h.reason}`);
  /** Firing notifications the alert manager published, by instance. */
  const pagedFor = () =>
    world.published.flatMap((m) => (m.type === 'alert.notify' && (m.payload as { alert: { status: string; labels: Record<string, string> } }).alert.status === 'firing' ? [(m.payload as { alert: { labels: Record<string, string> } }).alert.labels.instance] : []));

  it('a silence in place before the outage: suppressed from the first sample, never paged; pages once the silence ends', async () => {
    world = simulatedDeployment(NO_FOR, T0);
    await world.store.silences.put(makeSilence({ matchers: ['instance="app"'], startsAt: T0, endsAt: T0 + 10 * MINUTE, createdBy: 'ann', comment: 'rebuilding' }, T0, 's1'));
    await world.start();
    await scrapeUntil(T0 + 3 * MINUTE, (i) => i === 'app');
    expect((await alertOf('app'))?.state).toBe('suppressed');
    expect(pagedFor()).toEqual([]);
    expect(await historyOf('app')).toEqual(['inactive->suppressed by silence:s1: condition met; silenced by ann: rebuilding']);
    // Still down when the silence ends: receivers hear of it now, once.
    await scrapeUntil(T0 + 11 * MINUTE, (i) => i === 'app');
    expect((await alertOf('app'))?.state).toBe('firing');
    expect(pagedFor()).toEqual(['app']);
    expect((await alertOf('app'))?.firedAt).toBe(T0);
  });

  it('an inhibiting alert already active: the target is suppressed from the first sample and never paged, the unrelated one pages', async () => {
    world = simulatedDeployment(NO_FOR, T0);
    await world.start();
    // Another process's alert: the inhibitor learns of it at the first tick.
    await world.store.alerts.put({ id: 'lb-fp', rule: 'LbDown', state: 'firing', labels: { alertname: 'LbDown', instance: 'lb', severity: 'critical' }, annotations: {}, snapshot: {}, activeAt: T0, firedAt: T0, updatedAt: T0 });
    await world.runUntil(T0 + 30_000);
    await scrapeUntil(T0 + 3 * MINUTE, (i) => i !== 'lb');
    expect((await alertOf('app'))?.state).toBe('suppressed');
    expect((await alertOf('db'))?.state).toBe('firing');
    expect(pagedFor()).toEqual(['db']);
    expect(await historyOf('app')).toEqual(['inactive->suppressed by inhibited-by:lb-fp: condition met; inhibited by LbDown on lb (inhibit_rules[0])']);
    // The condition clears while muted: resolved without a resolution nobody needed.
    await scrapeUntil(T0 + 4 * MINUTE, () => false);
    expect((await alertOf('app'))?.state).toBe('resolved');
    expect(world.published.filter((m) => m.type === 'alert.notify' && JSON.stringify(m.payload).includes('"instance":"app"'))).toEqual([]);
  });
});
