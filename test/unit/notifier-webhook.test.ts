import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/bus/messages.js';
import type { Notification } from '../../src/actors/notifier/notify.js';
import { createWebhookNotifier, webhookMessage } from '../../src/actors/notifier/webhook/webhook.js';
import { freePort } from '../helpers/servers.js';
import { startWebhookReceiver, type Reply, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const alert: AlertPayload = {
  fingerprint: 'c0ffee0123456789',
  status: 'firing',
  labels: { alertname: 'HighCPU', instance: 'db-1', severity: 'critical' },
  annotations: { summary: 'CPU above 90%' },
  startsAt: '2024-05-01T10:00:00.000Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://vigil.example/rules/HighCPU',
  value: 97.5,
};
const notification: Notification = { receiver: 'ops', rule: 'HighCPU', raisedAt: 1_714_557_600_000, alerts: [alert] };
const ctx = { deliveryId: 'dlv-1234', now: 1_714_557_601_500 };
const deps = { externalURL: 'http://vigil.example', baseDir: '/' };

function webhook(url: string, extra: { hmac_secret?: string; timeout?: string } = {}) {
  return createWebhookNotifier({ name: 'ops', kind: 'webhook', url, timeout: extra.timeout ?? '2s', send_resolved: true, ...extra }, deps);
}

let receiver: WebhookReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function receive(reply?: Reply): Promise<WebhookReceiver> {
  receiver = await startWebhookReceiver(reply);
  return receiver;
}

describe('webhook message', () => {
  it('has exactly the fields of Alertmanager webhook version 4', () => {
    expect(webhookMessage(notification, 'http://vigil.example')).toStrictEqual({
      version: '4',
      groupKey: '{}:{alertname="HighCPU"}',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'ops',
      groupLabels: { alertname: 'HighCPU' },
      commonLabels: { alertname: 'HighCPU', instance: 'db-1', severity: 'critical' },
      commonAnnotations: { summary: 'CPU above 90%' },
      externalURL: 'http://vigil.example',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'HighCPU', instance: 'db-1', severity: 'critical' },
          annotations: { summary: 'CPU above 90%' },
          startsAt: '2024-05-01T10:00:00.000Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://vigil.example/rules/HighCPU',
          fingerprint: 'c0ffee0123456789',
        },
      ],
    });
  });

  it('keeps only labels shared by every alert and is resolved only when all alerts are', () => {
    const other = { ...alert, status: 'resolved' as const, fingerprint: 'f2', labels: { ...alert.labels, instance: 'db-2' } };
    const resolved = { ...alert, status: 'resolved' as const };
    expect(webhookMessage({ ...notification, alerts: [alert, other] }, '')).toMatchObject({ status: 'firing', commonLabels: { alertname: 'HighCPU', severity: 'critical' } });
    expect(webhookMessage({ ...notification, alerts: [resolved, other] }, '').status).toBe('resolved');
  });
});

describe('webhook notifier', () => {
  it('POSTs the JSON with content type and the delivery id as Idempotency-Key', async () => {
    const { url, requests } = await receive();
    expect(await webhook(url).notifier.send(notification, ctx)).toEqual({ ok: true });
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/hook');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['idempotency-key']).toBe('dlv-1234');
    expect(request?.headers['x-vigil-signature']).toBeUndefined();
    expect(JSON.parse(request?.body ?? '')).toEqual(webhookMessage(notification, deps.externalURL));
  });

  it('signs the timestamp and raw body with HMAC-SHA256 when a secret is set', async () => {
    const { url, requests } = await receive();
    await webhook(url, { hmac_secret: 'right-secret' }).notifier.send(notification, ctx);
    const request = requests[0]!;
    const signed = `${String(request.headers['x-vigil-timestamp'])}.${request.body}`;
    const verify = (secret: string, text = signed) => request.headers['x-vigil-signature'] === `sha256=${createHmac('sha256', secret).update(text).digest('hex')}`;
    expect(verify('right-secret')).toBe(true);
    expect(verify('wrong-secret')).toBe(false);
    expect(verify('right-secret', `1714557000.${request.body}`)).toBe(false);
    expect(request.headers['x-vigil-timestamp']).toBe('1714557601');
  });

  it('sends URL credentials as Basic auth and keeps them and the query out of the target', async () => {
    const { url, requests } = await receive();
    const withCredentials = url.replace('http://', 'http://hook-user:p%40ss@') + '?token=abc';
    const { target, notifier } = webhook(withCredentials);
    expect(await notifier.send(notification, ctx)).toEqual({ ok: true });
    expect(requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('hook-user:p@ss').toString('base64')}`);
    expect(requests[0]?.path).toBe('/hook?token=abc');
    expect(target).toBe(url);
  });

  it.each([
    { status: 500, retryable: true },
    { status: 503, retryable: true },
    { status: 429, retryable: true },
    { status: 408, retryable: true },
    { status: 400, retryable: false },
    { status: 401, retryable: false },
    { status: 404, retryable: false },
  ])('answers $status → retryable $retryable', async ({ status, retryable }) => {
    const { url } = await receive(() => ({ status, body: 'nope\n  try later' }));
    expect(await webhook(url).notifier.send(notification, ctx)).toEqual({ ok: false, retryable, error: `HTTP ${status}: nope try later` });
  });

  it('retries when the connection is refused', async () => {
    const port = await freePort();
    const result = await webhook(`http://127.0.0.1:${port}/hook`).notifier.send(notification, ctx);
    expect(result).toMatchObject({ ok: false, retryable: true, error: expect.stringContaining('ECONNREFUSED') });
  });

  it('retries when the receiver does not answer within the timeout', async () => {
    const { url } = await receive(() => ({ status: 200, delayMs: 2_000 }));
    const started = Date.now();
    const result = await webhook(url, { timeout: '50ms' }).notifier.send(notification, ctx);
    expect(result).toEqual({ ok: false, retryable: true, error: 'timed out after 50ms' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
