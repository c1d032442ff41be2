import { afterEach, describe, expect, it } from 'vitest';
import { createPagerDutyNotifier, pagerDutyDedupKey, pagerDutyEvent } from '../../src/actors/notifier/pagerduty/pagerduty.js';
import { freePort } from '../helpers/servers.js';
import { startWebhookReceiver, type Reply, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { acknowledged, ctx, EXTERNAL_URL, firing, firingAlert, resolved } from './notifier-channels.fixtures.js';

const ROUTING_KEY = 'R0UTINGKEYsecret000000000000000';
const deps = { externalURL: EXTERNAL_URL, baseDir: '/' };

let receiver: WebhookReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

/** A loopback stand-in for events.pagerduty.com: answers 202 like the real Events API unless told otherwise. */
async function eventsAPI(reply: Reply = () => ({ status: 202, body: '{"status":"success","message":"Event processed"}' })): Promise<WebhookReceiver> {
  receiver = await startWebhookReceiver(reply);
  return receiver;
}

function pagerduty(url: string, extra: { timeout?: string; templates?: { summary?: string } } = {}) {
  return createPagerDutyNotifier({ name: 'pd', kind: 'pagerduty', routing_key: ROUTING_KEY, url, timeout: '2s', send_resolved: true, ...extra }, deps);
}

describe('pagerduty event', () => {
  it('triggers with summary, source, severity, details and links', () => {
    expect(pagerDutyEvent(firing, ROUTING_KEY, {}, EXTERNAL_URL)).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: pagerDutyDedupKey(firing),
      payload: {
        summary: '[FIRING] HighCPU db-1: CPU above 90%',
        source: 'db-1',
        severity: 'critical',
        timestamp: '2024-05-01T10:00:00.000Z',
        class: 'HighCPU',
        custom_details: { labels: firingAlert.labels, annotations: firingAlert.annotations, value: 97.5, firing: 1 },
      },
      client: 'Vigil',
      client_url: EXTERNAL_URL,
      links: [
        { href: 'http://vigil.example/api/v1/alerts/c0ffee0123456789', text: 'Alert in Vigil' },
        { href: firingAlert.generatorURL, text: 'Source' },
      ],
    });
  });

  it.each([
    { label: 'critical', severity: 'critical' },
    { label: 'warning', severity: 'warning' },
    { label: 'info', severity: 'info' },
    { label: 'page-me', severity: 'error' },
  ])('maps severity $label to $severity', ({ label, severity }) => {
    const notification = { ...firing, alerts: [{ ...firingAlert, labels: { ...firingAlert.labels, severity: label } }] };
    expect(pagerDutyEvent(notification, ROUTING_KEY, {}, EXTERNAL_URL)).toMatchObject({ payload: { severity } });
  });

  it('acknowledges and resolves the same incident with only the dedup key', () => {
    const key = pagerDutyDedupKey(firing);
    expect(pagerDutyEvent(acknowledged, ROUTING_KEY, {}, EXTERNAL_URL)).toEqual({ routing_key: ROUTING_KEY, event_action: 'acknowledge', dedup_key: key });
    expect(pagerDutyEvent(resolved, ROUTING_KEY, {}, EXTERNAL_URL)).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: key });
  });

  it('keys the incident by group: stable, distinct per group, at most 255 characters', () => {
    const key = pagerDutyDedupKey(firing);
    expect(key).toMatch(/^vigil-[0-9a-f]{32}$/);
    const anotherAlertSameGroup = { ...firing, alerts: [{ ...firingAlert, fingerprint: 'other', labels: { ...firingAlert.labels, instance: 'db-2' } }] };
    expect(pagerDutyDedupKey(anotherAlertSameGroup)).toBe(key);
    expect(pagerDutyDedupKey({ ...firing, groupKey: '{}/{severity="warning"}:{alertname="HighCPU"}' })).not.toBe(key);
    expect(pagerDutyDedupKey({ ...firing, groupKey: 'x'.repeat(10_000) }).length).toBeLessThanOrEqual(255);
  });

  it('uses a summary template override and lists the alerts of a group', () => {
    const other = { ...firingAlert, fingerprint: 'f2', labels: { ...firingAlert.labels, instance: 'db-2' } };
    const event = pagerDutyEvent({ ...firing, alerts: [firingAlert, other] }, ROUTING_KEY, { templates: { summary: '{{ $firing }} × {{ $rule }} ({{ $resource }})' } }, EXTERNAL_URL);
    expect(event).toMatchObject({ payload: { summary: '2 × HighCPU (db-1, db-2)', custom_details: { firing: 2, labels: { alertname: 'HighCPU', severity: 'critical' } } } });
    expect(event.event_action === 'trigger' && event.payload.custom_details.alerts).toHaveLength(2);
  });
});

describe('pagerduty notifier', () => {
  it('POSTs trigger, acknowledge and resolve to the Events API; 202 is delivered', async () => {
    const api = await eventsAPI();
    const { notifier, target } = pagerduty(`${api.url.replace('/hook', '/v2/enqueue')}`);
    for (const notification of [firing, acknowledged, resolved]) expect(await notifier.send(notification, ctx)).toEqual({ ok: true });
    expect(api.requests.map((r) => [r.path, r.headers['content-type'], (r.json as { event_action: string }).event_action])).toEqual([
      ['/v2/enqueue', 'application/json', 'trigger'],
      ['/v2/enqueue', 'application/json', 'acknowledge'],
      ['/v2/enqueue', 'application/json', 'resolve'],
    ]);
    expect(new Set(api.requests.map((r) => (r.json as { dedup_key: string }).dedup_key)).size).toBe(1);
    expect(target).toBe(api.url.replace('/hook', '/v2/enqueue'));
  });

  it.each([
    { status: 500, retryable: true },
    { status: 502, retryable: true },
    { status: 429, retryable: true },
    { status: 400, retryable: false },
    { status: 404, retryable: false },
  ])('answers $status → retryable $retryable', async ({ status, retryable }) => {
    const api = await eventsAPI(() => ({ status, body: '{"status":"invalid event","message":"Event object is invalid"}' }));
    expect(await pagerduty(api.url).notifier.send(firing, ctx)).toEqual({ ok: false, retryable, error: `HTTP ${status}: {"status":"invalid event","message":"Event object is invalid"}` });
  });

  it('retries on a refused connection or a timeout', async () => {
    const port = await freePort();
    expect(await pagerduty(`http://127.0.0.1:${port}/v2/enqueue`).notifier.send(firing, ctx)).toMatchObject({ ok: false, retryable: true, error: expect.stringContaining('ECONNREFUSED') });
    const api = await eventsAPI(() => ({ status: 202, delayMs: 2_000 }));
    expect(await pagerduty(api.url, { timeout: '50ms' }).notifier.send(firing, ctx)).toEqual({ ok: false, retryable: true, error: 'timed out after 50ms' });
  });

  it('keeps the routing key out of the target and out of errors that echo it', async () => {
    const api = await eventsAPI((_n, request) => ({ status: 400, body: `unknown routing key ${(request.json as { routing_key: string }).routing_key}` }));
    const { target, notifier } = pagerduty(api.url);
    const result = await notifier.send(firing, ctx);
    expect(result).toEqual({ ok: false, retryable: false, error: 'HTTP 400: unknown routing key [redacted]' });
    expect(target).not.toContain(ROUTING_KEY);
  });
});
