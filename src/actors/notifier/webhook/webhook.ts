import { createHmac } from 'node:crypto';
import type { AlertPayload, AlertStatus } from '../../../bus/messages.js';
import { readSecret } from '../../../config/load.js';
import type { ReceiverConfig } from '../../../config/schema.js';
import { parseDuration } from '../../../series/duration.js';
import { basicAuth, httpRequest } from '../http.js';
import { notificationStatus, type Integration, type Notification, type SendResult } from '../notify.js';

type WebhookReceiver = Extract<ReceiverConfig, { kind: 'webhook' }>;

/** Alertmanager's webhook payload (version 4), so existing Alertmanager receivers work unchanged. */
export interface WebhookMessage {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: AlertStatus;
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  /** Vigil's alert payload is Alertmanager's alert plus `value`, which the webhook format has no field for. */
  alerts: Omit<AlertPayload, 'value'>[];
}

/** Pairs present with the same value in every set. */
function common(sets: readonly Record<string, string>[]): Record<string, string> {
  const [first, ...rest] = sets;
  return Object.fromEntries(Object.entries(first ?? {}).filter(([k, v]) => rest.every((s) => s[k] === v)));
}

/** Alertmanager's LabelSet.String(): `{a="1", b="2"}`, names sorted. */
function formatLabels(labels: Record<string, string>): string {
  return `{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(', ')}}`;
}

export function webhookMessage(notification: Notification, externalURL: string): WebhookMessage {
  // Until the routing tree lands, every notification is one group per rule under the root route (`{}`).
  const groupLabels = { alertname: notification.rule };
  return {
    version: '4',
    groupKey: `{}:${formatLabels(groupLabels)}`,
    truncatedAlerts: 0,
    status: notificationStatus(notification.alerts),
    receiver: notification.receiver,
    groupLabels,
    commonLabels: common(notification.alerts.map((a) => a.labels)),
    commonAnnotations: common(notification.alerts.map((a) => a.annotations)),
    externalURL,
    alerts: notification.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      endsAt: a.endsAt,
      generatorURL: a.generatorURL,
      fingerprint: a.fingerprint,
    })),
  };
}

/**
 * HMAC-SHA256 over `<timestamp>.<body>`: covering the timestamp lets a receiver refuse replays of an
 * old, validly signed request by checking X-Vigil-Timestamp against its clock.
 */
function signBody(body: string, timestamp: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface WebhookDeps {
  externalURL: string;
  /** Folder relative secret files are read from. */
  baseDir: string;
}

/**
 * POSTs Alertmanager webhook JSON. Credentials in the URL become a Basic Authorization header
 * (fetch refuses URLs with credentials) and are kept out of the stored target.
 */
export function createWebhookNotifier(receiver: WebhookReceiver, deps: WebhookDeps): Pick<Integration, 'target' | 'notifier'> {
  const url = new URL(receiver.url);
  const baseHeaders: Record<string, string> = { 'Content-Type': 'application/json' };
  if (url.username || url.password) {
    baseHeaders.Authorization = basicAuth(decodeURIComponent(url.username), decodeURIComponent(url.password));
    url.username = '';
    url.password = '';
  }
  const secret = receiver.hmac_secret === undefined ? undefined : readSecret(receiver.hmac_secret, deps.baseDir);
  const timeoutMs = parseDuration(receiver.timeout);

  return {
    // The query string may carry tokens, so it is not part of what we store and log.
    target: `${url.origin}${url.pathname}`,
    notifier: {
      async send(notification, ctx): Promise<SendResult> {
        const body = JSON.stringify(webhookMessage(notification, deps.externalURL));
        const headers = { ...baseHeaders, 'Idempotency-Key': ctx.deliveryId };
        if (secret !== undefined) {
          const timestamp = String(Math.floor(ctx.now / 1000));
          Object.assign(headers, { 'X-Vigil-Signature': signBody(body, timestamp, secret), 'X-Vigil-Timestamp': timestamp });
        }
        const result = await httpRequest({ url, headers, body, timeoutMs });
        return result.ok ? { ok: true } : { ok: false, retryable: result.retryable, error: result.error };
      },
    },
  };
}
