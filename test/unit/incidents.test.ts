import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { IncidentError, Incidents, type AlertChange } from '../../src/incidents/incidents.js';
import { createTopology } from '../../src/noise/topology.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';
import { runScenario } from '../simulator/run.js';
import { generateScenario } from '../simulator/scenario.js';

const MINUTE = 60_000;

describe('correlation on simulator scenarios (alert manager + notifier, simulated time)', () => {
  it('a load balancer outage: one incident rooted at the balancer, its app servers\' low traffic inhibited and linked, one page and one resolution', async () => {
    const scenario = generateScenario({ seed: 11, services: 2, inject: [{ kind: 'lb_down', target: 'lb-1', afterMs: 10 * MINUTE, forMs: 15 * MINUTE }] });
    const result = await runScenario(scenario);
    expect(result.incidents).toHaveLength(1);
    const [incident] = result.incidents;
    expect(incident?.rootCause).toMatchObject({ alertname: 'LoadBalancerDown', resource: 'lb-1', reason: 'deepest failing dependency: 3 other alerts depend on lb-1' });
    expect(incident?.members.map((m) => `${m.alertname}@${m.resource}`).sort()).toEqual(['LoadBalancerDown@lb-1', 'LowTraffic@app-1-0', 'LowTraffic@app-1-1', 'LowTraffic@app-1-2']);
    const root = incident?.rootCause?.fingerprint;
    for (const m of incident?.members.filter((x) => x.alertname === 'LowTraffic') ?? []) {
      expect(m.confidence).toBe('high');
      expect(m.reason).toMatch(/inhibited by LoadBalancerDown on lb-1|depends on lb-1/);
    }
    expect(incident?.state).toBe('resolved');
    expect(incident?.related.samples['up{instance="lb-1",kind="load_balancer",service="svc1"}']?.at(-1)?.[1]).toBe(0);
    expect(root).toBeDefined();
    expect(result.notifications).toBe(2);
  });

  it('a host down under a database: the host is the root cause of everything on it and of what needs the database', async () => {
    const scenario = generateScenario({ seed: 11, services: 2, inject: [] });
    const dbHost = scenario.resources.find((r) => r.name === 'db-0')?.parent as string;
    const withFailure = generateScenario({ seed: 11, services: 2, inject: [{ kind: 'host_down', target: dbHost, afterMs: 10 * MINUTE, forMs: 12 * MINUTE }] });
    const result = await runScenario(withFailure);
    expect(result.incidents).toHaveLength(1);
    const [incident] = result.incidents;
    expect(incident?.rootCause).toMatchObject({ alertname: 'HostDown', resource: dbHost });
    expect(incident?.members.map((m) => m.alertname)).toEqual(expect.arrayContaining(['HostDown', 'DatabaseDown']));
    // Everything else is a symptom on what runs on the host or needs the database.
    const onHost = new Set(withFailure.resources.filter((r) => r.parent === dbHost || r.dependsOn.includes('db-0')).map((r) => r.name));
    for (const m of incident?.members ?? []) if (m.alertname !== 'HostDown') expect(onHost.has(m.resource as string)).toBe(true);
    expect(result.notifications).toBe(2);
  });

  it('twelve random failures, some overlapping: within the targets for incidents, pages and root causes', async () => {
    const scenario = generateScenario({ seed: 5, services: 4, failures: 12, spacingMs: 15 * MINUTE });
    const result = await runScenario(scenario);
    expect(result.incidents.length / result.failures).toBeLessThanOrEqual(1.2);
    expect(result.notifications / result.failures).toBeLessThanOrEqual(2);
    expect(result.rightRootCause / result.incidents.length).toBeGreaterThanOrEqual(0.9);
  });
});

describe('incident workflow', () => {
  const stores: SqliteStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });
  const config = parseConfig(
    `
topology:
  nodes: [{ name: lb }, { name: app-1, depends_on: [lb] }, { name: db }]
notifier: { receivers: [{ name: log, kind: log }], default_receiver: log }
`,
    '/etc/vigil/vigil.yaml',
    {},
  );
  /** Incidents over a new store; `alongside` gives a second writer over the same store (the correlator with its cache). */
  function setup(): Incidents & { alongside(options: { cacheOpen?: boolean }): Incidents } {
    const store = SqliteStore.open(':memory:');
    stores.push(store);
    const topology = createTopology(config.topology);
    const make = (options: { cacheOpen?: boolean }) => new Incidents({ store, topology: () => topology, config: () => config.incidents, recentSamples: () => [[1, 2]], activeAlerts: () => [] }, options);
    return Object.assign(make({}), { alongside: make });
  }
  const alert = (fingerprint: string, alertname: string, instance: string, at: number, extra: Partial<AlertChange> = {}): AlertChange => ({
    fingerprint,
    labels: { alertname, instance, severity: 'critical' },
    annotations: {},
    state: 'firing',
    activeAt: at,
    firedAt: at,
    series: `up{instance="${instance}"}`,
    ...extra,
  });
  const T = Date.UTC(2026, 4, 4, 10);

  it('correlates by topology, keeps unrelated alerts apart, names the root cause and resolves with its alerts', async () => {
    const incidents = setup();
    const app = await incidents.observe(alert('a1', 'LowTraffic', 'app-1', T), T);
    expect(app?.change).toBe('opened');
    const lb = await incidents.observe(alert('l1', 'LoadBalancerDown', 'lb', T + MINUTE), T + MINUTE);
    expect(lb?.change).toBe('joined');
    expect(lb?.incident).toMatchObject({ title: 'LoadBalancerDown on lb (+1 related)', confidence: 'high', rootCause: { fingerprint: 'l1', reason: 'deepest failing dependency: 1 other alert depends on lb' } });
    expect(lb?.incident.timeline.map((e) => e.action)).toEqual(['created', 'joined', 'root_cause']);
    expect((await incidents.observe(alert('d1', 'DbDown', 'db', T + 2 * MINUTE), T))?.change).toBe('opened');
    expect((await incidents.observe(alert('s1', 'Silenced', 'lb', T, { state: 'suppressed', suppressedBy: 'silence:x' }), T))).toBeUndefined();
    await incidents.observe(alert('a1', 'LowTraffic', 'app-1', T, { state: 'resolved' }), T + 10 * MINUTE);
    const done = await incidents.observe(alert('l1', 'LoadBalancerDown', 'lb', T, { state: 'resolved' }), T + 11 * MINUTE);
    expect(done?.incident.state).toBe('resolved');
  });

  it('acknowledge, comment, merge and split, with the timeline and refusals', async () => {
    const incidents = setup();
    const one = (await incidents.observe(alert('a1', 'LowTraffic', 'app-1', T), T))!.incident;
    const two = (await incidents.observe(alert('d1', 'DbDown', 'db', T), T))!.incident;
    const acked = await incidents.acknowledge(one.id, 'ann', T + 1);
    expect(acked).toMatchObject({ state: 'investigating', assignee: 'ann' });
    await expect(incidents.acknowledge(one.id, 'bob', T + 2)).rejects.toMatchObject({ status: 409 });
    await incidents.comment(one.id, 'bob', 'looking at the balancer', T + 3);
    const merged = await incidents.merge(one.id, [two.id], 'ann', T + 4);
    expect(merged.alertIds).toEqual(['a1', 'd1']);
    expect(merged.timeline.map((e) => `${e.by} ${e.action}`)).toEqual(['system created', 'ann state', 'bob comment', 'ann merged']);
    expect(await incidents.get(two.id)).toMatchObject({ state: 'closed', mergedInto: one.id });
    await expect(incidents.merge(one.id, [one.id], 'ann', T)).rejects.toBeInstanceOf(IncidentError);
    const { from, to } = await incidents.split(one.id, ['d1'], 'ann', T); // the time d1 opened its own incident
    expect(from.alertIds).toEqual(['a1']);
    expect(to).toMatchObject({ alertIds: ['d1'], state: 'open', rootCause: { fingerprint: 'd1' }, related: { samples: { 'up{instance="db"}': [[1, 2]] } } });
    await expect(incidents.split(one.id, ['a1'], 'ann', T)).rejects.toMatchObject({ status: 400 });
    await expect(incidents.split(one.id, ['zz'], 'ann', T)).rejects.toMatchObject({ status: 400 });
    await expect(incidents.get('nope')).rejects.toMatchObject({ status: 404 });
    // The split-off incident has an id of its own: the one d1 opened at T, merged away, is still there.
    expect(await incidents.get(two.id)).toMatchObject({ state: 'closed', mergedInto: one.id, alertIds: ['d1'] });
  });

  it('a person\'s change made while the correlator holds the incident in its cache is kept: the correlator redoes its write on the fresh copy', async () => {
    const api = setup();
    const correlator = api.alongside({ cacheOpen: true });
    const opened = (await correlator.observe(alert('a1', 'LowTraffic', 'app-1', T), T))!.incident;
    await api.acknowledge(opened.id, 'ann', T + 1);
    await api.comment(opened.id, 'ann', 'draining app-1', T + 2);
    // The correlator's cached copy predates both; its next change must not write over them.
    const joined = await correlator.observe(alert('l1', 'LoadBalancerDown', 'lb', T + MINUTE), T + MINUTE);
    expect(joined?.change).toBe('joined');
    const stored = await api.get(opened.id);
    expect(stored).toMatchObject({ state: 'investigating', assignee: 'ann', alertIds: ['a1', 'l1'], revision: 4 });
    expect(stored.timeline.map((e) => `${e.by} ${e.action}`)).toEqual(['system created', 'ann state', 'ann comment', 'system joined', 'system root_cause']);
  });
});
