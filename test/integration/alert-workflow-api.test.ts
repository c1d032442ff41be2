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
`;

describe('alert workflow API: assign, comment, resolve, bulk', () => {
  let daemon: TestDaemon;

  beforeAll(async () => {
    daemon = await startTestDaemon(CONFIG, { listen: false });
  });
  afterAll(() => daemon?.close());

  const call = (url: string, token: string, payload?: object) =>
    daemon.api.inject({ method: payload === undefined ? 'GET' : 'POST', url, headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload }) });

  async function firing(host: string) {
    expect((await call('/api/v1/samples', 'responder-token', { samples: [{ name: 'disk_used_percent', labels: { host }, value: 95 }] })).statusCode).toBe(202);
    return waitFor(`the alert of ${host} to fire`, async () => (await daemon.store.alerts.find({ where: { state: 'firing' } })).find((a) => a.labels.host === host));
  }
  const history = async (id: string) => ((await call(`/api/v1/alerts/${id}`, 'viewer-token')).json() as { history: AlertEventRecord[] }).history;

  it('assigns, comments and resolves one alert, each recorded with who', async () => {
    const alert = await firing('db1');
    expect((await call(`/api/v1/alerts/${alert.id}/assign`, 'responder-token', { assignee: 'bob' })).statusCode).toBe(202);
    await waitFor('the assignment', async () => (await daemon.store.alerts.get(alert.id))?.assignee === 'bob');
    expect((await call(`/api/v1/alerts/${alert.id}/comments`, 'responder-token', { text: 'cleaning /var' })).statusCode).toBe(202);
    await waitFor('the comment', async () => (await history(alert.id)).some((h) => h.action === 'comment'));
    expect((await call(`/api/v1/alerts/${alert.id}/resolve`, 'responder-token', { comment: 'freed 20 GB' })).statusCode).toBe(202);
    await waitFor('the resolution', async () => (await daemon.store.alerts.get(alert.id))?.state === 'resolved');
    expect((await history(alert.id)).map((h) => [h.action ?? `${h.from}->${h.to}`, h.by, h.reason])).toEqual([
      ['inactive->firing', 'system', 'condition met'],
      ['assign', 'oncall', 'bob'],
      ['comment', 'oncall', 'cleaning /var'],
      ['firing->resolved', 'oncall', 'freed 20 GB'],
    ]);
    const again = await call(`/api/v1/alerts/${alert.id}/resolve`, 'responder-token', {});
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: 'not_active', state: 'resolved' });
  });

  it('acknowledges and resolves in bulk, saying which alerts were skipped and why', async () => {
    const a = await firing('web1');
    const b = await firing('web2');
    const ack = await call('/api/v1/alerts/bulk/ack', 'responder-token', { ids: [a.id, b.id, 'fedcba9876543210'], comment: 'one cause' });
    expect(ack.statusCode).toBe(202);
    expect(ack.json()).toMatchObject({ by: 'oncall', accepted: [a.id, b.id], skipped: [{ id: 'fedcba9876543210', reason: 'no such alert' }] });
    await waitFor('both acknowledged', async () => (await daemon.store.alerts.find({ where: { state: 'acknowledged' } })).length >= 2);
    const resolve = await call('/api/v1/alerts/bulk/resolve', 'responder-token', { ids: [a.id, b.id] });
    expect(resolve.json()).toMatchObject({ accepted: [a.id, b.id], skipped: [] });
    await waitFor('both resolved', async () => (await daemon.store.alerts.get(a.id))?.state === 'resolved' && (await daemon.store.alerts.get(b.id))?.state === 'resolved');
  });

  it('needs the responder role', async () => {
    const res = await call('/api/v1/alerts/bulk/ack', 'viewer-token', { ids: ['x'] });
    expect(res.statusCode).toBe(403);
  });
});
