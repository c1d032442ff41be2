import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEventRecord } from '../../src/store/store.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/servers.js';

const CONFIG = `
auth:
  tokens:
    - { name: watcher, role: viewer, token: viewer-token }
    - { name: oncall, role: responder, token: responder-token }
store: { kind: embedded, path: vigil.db }
rules:
  - { name: DiskFull, kind: threshold, metric: disk_used_percent, op: '>', value: 90 }
  - { name: LoadHigh, kind: threshold, metric: load, op: '>', value: 10, for: 1h }
`;

describe('POST /api/v1/alerts/:id/ack', () => {
  let daemon: TestDaemon;

  beforeAll(async () => {
    daemon = await startTestDaemon(CONFIG, { listen: false });
  });
  afterAll(() => daemon?.close());

  const call = (method: 'GET' | 'POST', url: string, token: string, payload?: object) =>
    daemon.api.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload }) });

  /** Pushes one sample through the API and waits for the alert it opens to reach `state`. */
  async function alertIn(state: string, name: string, labels: Record<string, string>, value: number) {
    expect((await call('POST', '/api/v1/samples', 'responder-token', { samples: [{ name, labels, value }] })).statusCode).toBe(202);
    return waitFor(`a ${state} alert for ${JSON.stringify(labels)}`, async () =>
      (await daemon.store.alerts.find({ where: { state } })).find((a) => Object.entries(labels).every(([k, v]) => a.labels[k] === v)),
    );
  }

  it('acknowledges a firing alert as the token holder and records the comment in its history', async () => {
    const alert = await alertIn('firing', 'disk_used_percent', { host: 'db1' }, 95);
    const res = await call('POST', `/api/v1/alerts/${alert.id}/ack`, 'responder-token', { comment: 'rotating logs' });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ status: 'accepted', fingerprint: alert.id, by: 'oncall' });

    await waitFor('the alert to be acknowledged', async () => (await daemon.store.alerts.get(alert.id))?.state === 'acknowledged');
    const shown = (await call('GET', `/api/v1/alerts/${alert.id}`, 'viewer-token')).json() as { alert: { state: string }; history: AlertEventRecord[] };
    expect(shown.alert.state).toBe('acknowledged');
    expect(shown.history.at(-1)).toMatchObject({ from: 'firing', to: 'acknowledged', by: 'oncall', reason: 'rotating logs' });

    // Acknowledged is not firing: a second request is refused up front.
    const again = await call('POST', `/api/v1/alerts/${alert.id}/ack`, 'responder-token', {});
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: 'not_firing', state: 'acknowledged' });
  });

  it('accepts a request without a body', async () => {
    const alert = await alertIn('firing', 'disk_used_percent', { host: 'db2' }, 97);
    expect((await call('POST', `/api/v1/alerts/${alert.id}/ack`, 'responder-token')).statusCode).toBe(202);
    await waitFor('the alert to be acknowledged', async () => (await daemon.store.alerts.get(alert.id))?.state === 'acknowledged');
    const history = await daemon.store.alertEvents.find({ where: { alertId: alert.id } });
    expect(history.filter((h) => h.to === 'acknowledged').map((h) => `${h.by}: ${h.reason}`)).toEqual(['oncall: acknowledged']);
  });

  it('answers 409 for an alert that is not firing yet', async () => {
    const alert = await alertIn('pending', 'load', { host: 'app1' }, 50);
    const res = await call('POST', `/api/v1/alerts/${alert.id}/ack`, 'responder-token', {});
    expect(res.statusCode).toBe(409);
    expect(res.json().message).toContain('is pending');
  });

  it('answers 404 for an unknown alert', async () => {
    const res = await call('POST', '/api/v1/alerts/0123456789abcdef/ack', 'responder-token', {});
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: 'not_found' });
  });

  it('answers 403 to a viewer and 400 to an overlong comment', async () => {
    const alert = await alertIn('firing', 'disk_used_percent', { host: 'db3' }, 99);
    const viewer = await call('POST', `/api/v1/alerts/${alert.id}/ack`, 'viewer-token', {});
    expect(viewer.statusCode).toBe(403);
    expect(viewer.json().message).toContain('needs responder');
    expect((await call('POST', `/api/v1/alerts/${alert.id}/ack`, 'responder-token', { comment: 'x'.repeat(1025) })).statusCode).toBe(400);
    expect((await daemon.store.alerts.get(alert.id))?.state).toBe('firing');
  });
});
