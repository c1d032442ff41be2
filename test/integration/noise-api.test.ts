import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Incidents, type Incident } from '../../src/incidents/incidents.js';
import { createTopology } from '../../src/noise/topology.js';
import { createLogger } from '../../src/observability/logger.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/servers.js';

const NOW = Date.parse('2026-05-04T12:00:00Z'); // a Monday, 14:00 in Berlin

const CONFIG = `
auth:
  tokens:
    - { name: watcher, role: viewer, token: viewer-token }
    - { name: oncall, role: responder, token: responder-token }
store: { kind: embedded, path: vigil.db }
notifier:
  receivers: [{ name: log, kind: log }]
  default_receiver: log
  time_intervals:
    - { name: office, location: Europe/Berlin, weekdays: [monday, tuesday, wednesday, thursday, friday], times: [{ start: '08:00', end: '16:00' }] }
monitoring_windows:
  - { name: test-box, matchers: ['env="test"'], schedule: [office] }
silences:
  - { matchers: ['alertname="Flapping"'], starts_at: '2026-05-01T00:00:00Z', ends_at: '2026-06-01T00:00:00Z', comment: 'known', created_by: ops }
topology:
  nodes: [{ name: lb }, { name: app-1, depends_on: [lb] }, { name: db }]
alerting: { evaluation_interval: 1h }
rules:
  - { name: QueueStuck, kind: threshold, metric: queue_depth, op: '>', value: 100 }
`;

describe('noise-control and incident API', () => {
  let daemon: TestDaemon;

  beforeAll(async () => {
    daemon = await startTestDaemon(CONFIG, { listen: false, clock: { now: () => NOW }, logger: createLogger('silent', { pretty: false }) });
  });
  afterAll(() => daemon?.close());

  const call = (method: 'GET' | 'POST', url: string, token?: string, payload?: unknown) =>
    daemon.api.inject({ method, url, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}), ...(payload !== undefined ? { payload: payload as string } : {}) });

  it('silences: viewers list, responders add and expire; bad input is a 400 saying why', async () => {
    expect((await call('GET', '/api/v1/silences')).statusCode).toBe(401);
    const body = { matchers: ['instance="db-1"', 'alertname=~"Disk.*"'], duration: '2h', comment: 'resizing the volume' };
    expect((await call('POST', '/api/v1/silences', 'viewer-token', body)).statusCode).toBe(403);
    const created = await call('POST', '/api/v1/silences', 'responder-token', body);
    expect(created.statusCode).toBe(201);
    const silence = created.json().silence;
    expect(silence).toMatchObject({ matchers: ['instance="db-1"', 'alertname=~"Disk.*"'], createdBy: 'oncall', state: 'active', startsAt: '2026-05-04T12:00:00.000Z', endsAt: '2026-05-04T14:00:00.000Z', source: 'api' });
    const listed = (await call('GET', '/api/v1/silences?state=active', 'viewer-token')).json().silences;
    expect(listed.map((s: { id: string; source: string }) => `${s.source}:${s.id}`)).toEqual([`api:${silence.id}`, 'config:config-0']);

    const bad = await call('POST', '/api/v1/silences', 'responder-token', { ...body, matchers: ['instance=~"("'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/invalid regex/);
    expect((await call('POST', '/api/v1/silences', 'responder-token', { matchers: ['a="b"'], comment: 'x' })).json().message).toMatch(/endsAt or duration/);

    expect((await call('POST', `/api/v1/silences/${silence.id}/expire`, 'viewer-token')).statusCode).toBe(403);
    const expired = await call('POST', `/api/v1/silences/${silence.id}/expire`, 'responder-token');
    expect(expired.json().silence).toMatchObject({ state: 'expired', endsAt: '2026-05-04T12:00:00.000Z' });
    expect((await call('POST', `/api/v1/silences/${silence.id}/expire`, 'responder-token')).statusCode).toBe(409);
    expect((await call('POST', '/api/v1/silences/config-0/expire', 'responder-token')).statusCode).toBe(409);
    expect((await call('POST', '/api/v1/silences/nope/expire', 'responder-token')).statusCode).toBe(404);
  });

  it('alerts that began outside their monitoring window are hidden from the list, not lost', async () => {
    const record = (id: string, env: string, activeAt: number) => ({ id, rule: 'Down', state: 'firing', labels: { alertname: 'Down', env }, annotations: {}, snapshot: {}, activeAt, updatedAt: activeAt });
    await daemon.store.alerts.put(record('in-hours', 'test', Date.parse('2026-05-04T07:00:00Z')));
    await daemon.store.alerts.put(record('at-night', 'test', Date.parse('2026-05-04T02:00:00Z')));
    await daemon.store.alerts.put(record('prod-night', 'prod', Date.parse('2026-05-04T02:00:00Z')));
    const ids = async (query: string) => (await call('GET', `/api/v1/alerts${query}`, 'viewer-token')).json().alerts.map((a: { id: string }) => a.id).sort();
    expect(await ids('')).toEqual(['in-hours', 'prod-night']);
    expect(await ids('?outside_monitoring=true')).toEqual(['at-night', 'in-hours', 'prod-night']);
    // The hidden alert is the most recently updated: it does not take one of the page's places.
    await daemon.store.alerts.put({ ...record('at-night', 'test', Date.parse('2026-05-04T02:00:00Z')), updatedAt: NOW });
    expect(await ids('?limit=2')).toEqual(['in-hours', 'prod-night']);
  });

  it('incidents: viewers read, responders acknowledge, comment, merge and split; refusals are 4xx', async () => {
    const topology = createTopology(daemon.config().topology);
    const incidents = new Incidents({ store: daemon.store, topology: () => topology, config: () => daemon.config().incidents, recentSamples: () => [], activeAlerts: () => [] });
    const change = (fingerprint: string, alertname: string, instance: string) => ({ fingerprint, labels: { alertname, instance }, annotations: {}, state: 'firing', activeAt: NOW, firedAt: NOW });
    const one = (await incidents.observe(change('a1', 'LowTraffic', 'app-1'), NOW))?.incident as Incident;
    const two = (await incidents.observe(change('d1', 'DbDown', 'db'), NOW))?.incident as Incident;

    const list = await call('GET', '/api/v1/incidents?state=open', 'viewer-token');
    expect(list.json().incidents.map((i: Incident) => i.id).sort()).toEqual([one.id, two.id].sort());
    expect((await call('GET', `/api/v1/incidents/${one.id}`, 'viewer-token')).json().incident.title).toBe('LowTraffic on app-1');
    expect((await call('GET', '/api/v1/incidents/nope', 'viewer-token')).statusCode).toBe(404);

    for (const [path, payload] of [['ack', undefined], ['comment', { text: 'x' }], ['merge', { incidents: [two.id] }], ['split', { alerts: ['a1'] }], ['state', { state: 'resolved' }], ['assign', { assignee: 'x' }]] as const) {
      expect((await call('POST', `/api/v1/incidents/${one.id}/${path}`, 'viewer-token', payload)).statusCode).toBe(403);
    }
    expect((await call('POST', `/api/v1/incidents/${one.id}/ack`, 'responder-token')).json().incident).toMatchObject({ state: 'investigating', assignee: 'oncall' });
    expect((await call('POST', `/api/v1/incidents/${one.id}/ack`, 'responder-token')).statusCode).toBe(409);
    expect((await call('POST', `/api/v1/incidents/${one.id}/comment`, 'responder-token', { text: '' })).statusCode).toBe(400);
    await call('POST', `/api/v1/incidents/${one.id}/comment`, 'responder-token', { text: 'balancer looks fine' });
    const merged = (await call('POST', `/api/v1/incidents/${one.id}/merge`, 'responder-token', { incidents: [two.id] })).json().incident;
    expect(merged.alertIds).toEqual(['a1', 'd1']);
    const split = await call('POST', `/api/v1/incidents/${one.id}/split`, 'responder-token', { alerts: ['d1'] });
    expect(split.json().to).toMatchObject({ alertIds: ['d1'], state: 'open' });
    expect((await call('POST', `/api/v1/incidents/${one.id}/state`, 'responder-token', { state: 'closed' })).json().incident.state).toBe('closed');
    expect((await call('POST', `/api/v1/incidents/${one.id}/state`, 'responder-token', { state: 'resolved' })).statusCode).toBe(409);
  });

  it('a silence added or expired through the API applies at once, not at the next evaluation tick (an hour away)', async () => {
    const push = await call('POST', '/api/v1/samples', 'responder-token', { samples: [{ name: 'queue_depth', labels: { queue: 'mail' }, value: 500, timestamp: NOW }] });
    expect(push.statusCode).toBe(202);
    const stateOf = async () => (await daemon.store.alerts.find({ where: { rule: 'QueueStuck' } }))[0]?.state;
    await waitFor('the pushed sample to fire the rule', async () => (await stateOf()) === 'firing');
    const silence = (await call('POST', '/api/v1/silences', 'responder-token', { matchers: ['queue="mail"'], duration: '2h', comment: 'draining by hand' })).json().silence;
    await waitFor('the silence to mute the alert', async () => (await stateOf()) === 'suppressed', 5000);
    await call('POST', `/api/v1/silences/${silence.id}/expire`, 'responder-token');
    await waitFor('the expired silence to unmute it', async () => (await stateOf()) === 'firing', 5000);
  });
});
