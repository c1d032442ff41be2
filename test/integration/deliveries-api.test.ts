import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, type AlertPayload } from '../../src/bus/messages.js';
import { createLogger } from '../../src/observability/logger.js';
import type { DeliveryRecord } from '../../src/store/store.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/servers.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const HMAC_SECRET = 'deliveries-api-hmac-secret';

const alert = (name: string): AlertPayload => ({
  fingerprint: `fp-${name}`,
  status: 'firing',
  labels: { alertname: name, instance: 'db-1' },
  annotations: { summary: `${name} on db-1` },
  startsAt: new Date().toISOString(),
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: '',
});

describe('delivery log API', () => {
  let daemon: TestDaemon;
  let hook: WebhookReceiver;
  let receiverUp = false;

  beforeAll(async () => {
    hook = await startWebhookReceiver(() => ({ status: receiverUp ? 200 : 500 }));
    daemon = await startTestDaemon(
      `
auth:
  tokens:
    - { name: watcher, role: viewer, token: viewer-token }
    - { name: oncall, role: responder, token: responder-token }
store: { kind: embedded, path: vigil.db }
notifier:
  max_attempts: 1
  default_receiver: ops
  receivers:
    - { name: ops, kind: webhook, url: "${hook.url}", hmac_secret: "\${HOOK_SECRET}" }
    - { name: audit, kind: log }
`,
      { listen: false, env: { HOOK_SECRET: HMAC_SECRET }, logger: createLogger('fatal', { destination: process.stderr }) },
    );
    await daemon.transport.send('notifier', [
      envelope('alert.notify', 'notify-disk', { alert: alert('DiskFull'), rule: 'DiskFull', receiver: 'ops' }, 'fp-DiskFull'),
      envelope('alert.notify', 'notify-cpu', { alert: alert('CpuHot'), rule: 'CpuHot', receiver: 'audit' }, 'fp-CpuHot'),
    ]);
    await waitFor('both deliveries settled', async () => {
      const settled = await daemon.store.deliveries.find();
      return settled.length === 2 && settled.every((d) => d.status === 'dead' || d.status === 'delivered') ? true : undefined;
    }, 10_000, 10);
  });
  afterAll(async () => {
    await daemon?.close();
    await hook?.close();
  });

  const call = (method: 'GET' | 'POST', url: string, token?: string) =>
    daemon.api.inject({ method, url, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });
  const deadId = async () => (await daemon.store.deliveries.find({ where: { receiver: 'ops' } }))[0]!.id;

  it('lists the delivery log, newest first, filtered by status and receiver', async () => {
    const all = await call('GET', '/api/v1/deliveries', 'viewer-token');
    expect(all.statusCode).toBe(200);
    const deliveries = all.json().deliveries as Record<string, unknown>[];
    expect(deliveries).toHaveLength(2);
    for (const d of deliveries) {
      expect(Object.keys(d)).toEqual(expect.arrayContaining(['id', 'receiver', 'channel', 'target', 'status', 'attempts', 'createdAt', 'notification']));
      expect(d).not.toHaveProperty('payload');
    }

    const dead = (await call('GET', '/api/v1/deliveries?status=dead', 'viewer-token')).json().deliveries;
    expect(dead).toEqual([
      expect.objectContaining({
        receiver: 'ops',
        channel: 'webhook',
        target: hook.url,
        status: 'dead',
        attempts: 1,
        lastError: expect.stringContaining('HTTP 500'),
        notification: expect.objectContaining({ rule: 'DiskFull', status: 'firing', alertCount: 1, alerts: ['DiskFull{instance="db-1"}'] }),
      }),
    ]);
    const audit = (await call('GET', '/api/v1/deliveries?receiver=audit', 'viewer-token')).json().deliveries;
    expect(audit).toEqual([expect.objectContaining({ receiver: 'audit', channel: 'log', status: 'delivered', latencyMs: expect.any(Number), deliveredAt: expect.any(Number) })]);
    expect((await call('GET', '/api/v1/deliveries?limit=1', 'viewer-token')).json().deliveries).toHaveLength(1);
  });

  it('rejects bad filters and missing tokens', async () => {
    expect((await call('GET', '/api/v1/deliveries?status=lost', 'viewer-token')).statusCode).toBe(400);
    expect((await call('GET', '/api/v1/deliveries?limit=0', 'viewer-token')).statusCode).toBe(400);
    expect((await call('GET', '/api/v1/deliveries')).statusCode).toBe(401);
  });

  it('shows one delivery, and 404 for an unknown id', async () => {
    const id = await deadId();
    const one = await call('GET', `/api/v1/deliveries/${id}`, 'viewer-token');
    expect(one.statusCode).toBe(200);
    expect(one.json().delivery).toMatchObject({ id, status: 'dead', notification: { rule: 'DiskFull' } });
    expect(one.body).not.toContain(HMAC_SECRET);
    const missing = await call('GET', '/api/v1/deliveries/dlv-nope', 'viewer-token');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'not_found' });
  });

  it('re-sends a dead delivery for a responder only: 403 for a viewer, 404 unknown, 409 not dead', async () => {
    const id = await deadId();
    const forbidden = await call('POST', `/api/v1/deliveries/${id}/resend`, 'viewer-token');
    expect(forbidden.statusCode).toBe(403);
    expect((await daemon.store.deliveries.get(id))?.status).toBe('dead');
    expect((await call('POST', '/api/v1/deliveries/dlv-nope/resend', 'responder-token')).statusCode).toBe(404);
    const audit = (await daemon.store.deliveries.find({ where: { receiver: 'audit' } }))[0]!;
    const notDead = await call('POST', `/api/v1/deliveries/${audit.id}/resend`, 'responder-token');
    expect(notDead.statusCode).toBe(409);
    expect(notDead.json()).toMatchObject({ error: 'not_dead', message: expect.stringContaining('delivered') });

    receiverUp = true;
    const requestsBefore = hook.requests.length;
    const resent = await call('POST', `/api/v1/deliveries/${id}/resend`, 'responder-token');
    expect(resent.statusCode).toBe(202);
    expect(resent.json()).toEqual({ status: 'requeued', id });
    const delivered = await waitFor('the re-sent delivery delivered', async () => {
      const record = await daemon.store.deliveries.get(id);
      return record?.status === 'delivered' ? record : undefined;
    }, 10_000, 10);
    expect(delivered).toMatchObject<Partial<DeliveryRecord>>({ attempts: 1 });
    expect(hook.requests.length).toBe(requestsBefore + 1);
    expect((await call('POST', `/api/v1/deliveries/${id}/resend`, 'responder-token')).statusCode).toBe(409);
  });

  it('exports the circuit state per receiver', async () => {
    const metrics = await call('GET', '/metrics');
    expect(metrics.body).toContain('# TYPE vigil_notifier_circuit_open gauge');
  });
});
