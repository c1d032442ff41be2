import { createHmac } from 'node:crypto';
import type { AlertStatus } from '../../../bus/messages.js';
import { readSecret } from '../../../config/load.js';
import type { ReceiverConfig } from '../../../config/schema.js';
import { parseDuration } from '../../../series/duration.js';
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
  alerts: {
    status: AlertStatus;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }[];
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

/** 5xx: the receiver is broken or overloaded now; 408 and 429 ask us to come back later. Other 4xx won't change. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/**
 * HMAC-SHA256 over `<timestamp>.<body>`: covering the timestamp lets a receiver refuse replays of an
 * old, validly signed request by checking X-Vigil-Timestamp against its clock.
 */
function signBody(body: string, timestamp: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

const ERROR_BODY_CHARS = 200;

function describeNetworkError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `timed out after ${timeoutMs}ms`;
  const cause = err instanceof Error ? (err.cause as NodeJS.ErrnoException | undefined) : undefined;
  if (cause?.code) return `${cause.code}: ${cause.message}`;
  return err instanceof Error ? err.message : String(err);
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
    const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    baseHeaders.Authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
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
        let status: number;
        let text: string;
        try {
          const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
          status = response.status;
          // Read inside the timeout: a receiver that stalls mid-body is as down as one that never answers.
          text = await response.text();
        } catch (err) {
          // No answer at all (refused, reset, DNS, timeout): the receiver may be restarting, so try again later.
          return { ok: false, retryable: true, error: describeNetworkError(err, timeoutMs) };
        }
        if (status >= 200 && status < 300) return { ok: true };
        const excerpt = text.replace(/\s+/g, ' ').trim().slice(0, ERROR_BODY_CHARS);
        return { ok: false, retryable: isRetryableStatus(status), error: `HTTP ${status}${excerpt ? `: ${excerpt}` : ''}` };
      },
    },
  };
}
