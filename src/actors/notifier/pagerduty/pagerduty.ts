import { readSecret } from '../../../config/load.js';
import type { ReceiverConfig } from '../../../config/schema.js';
import { parseDuration } from '../../../series/duration.js';
import { httpRequest } from '../http.js';
import type { Integration, Notification, SendResult } from '../notify.js';
import {
  alertResource,
  commonPairs,
  formatValue,
  groupHash,
  groupKeyOf,
  groupSeverity,
  notificationKind,
  renderLine,
  templateVars,
  truncate,
  withDefaults,
} from '../templates.js';

type PagerDutyReceiver = Extract<ReceiverConfig, { kind: 'pagerduty' }>;

export const PAGERDUTY_TEMPLATES = { summary: '[{{ $status }}] {{ $rule }} {{ $resource }}: {{ $summary }}' };

const SUMMARY_CHARS = 1024;

/** Events API v2 event. Acknowledge and resolve need only the dedup key of the incident they follow. */
export type PagerDutyEvent =
  | {
      routing_key: string;
      event_action: 'trigger';
      dedup_key: string;
      payload: {
        summary: string;
        source: string;
        severity: 'critical' | 'error' | 'warning' | 'info';
        timestamp?: string;
        class?: string;
        custom_details: Record<string, unknown>;
      };
      client: string;
      client_url: string;
      links: { href: string; text: string }[];
    }
  | { routing_key: string; event_action: 'acknowledge' | 'resolve'; dedup_key: string };

/** One incident per aggregation group: every trigger, acknowledge and resolve of the group names the same key. */
export function pagerDutyDedupKey(notification: Notification): string {
  return `vigil-${groupHash(groupKeyOf(notification))}`;
}

export function pagerDutyEvent(notification: Notification, routingKey: string, receiver: Pick<PagerDutyReceiver, 'templates'>, externalURL: string): PagerDutyEvent {
  const dedup_key = pagerDutyDedupKey(notification);
  const kind = notificationKind(notification);
  if (kind !== 'firing') return { routing_key: routingKey, event_action: kind === 'acknowledged' ? 'acknowledge' : 'resolve', dedup_key };

  const templates = withDefaults(PAGERDUTY_TEMPLATES, receiver.templates);
  const vars = templateVars(notification, externalURL);
  const firing = notification.alerts.filter((a) => a.status === 'firing');
  const lead = firing[0];
  const details: Record<string, unknown> = {
    labels: commonPairs(notification.alerts.map((a) => a.labels)),
    annotations: commonPairs(notification.alerts.map((a) => a.annotations)),
    value: lead?.value,
    firing: firing.length,
  };
  if (notification.alerts.length > 1) {
    details.alerts = notification.alerts.map((a) => ({ fingerprint: a.fingerprint, status: a.status, labels: a.labels, annotations: a.annotations, value: formatValue(a.value) }));
  }
  const links = [
    ...(vars.alert_url ? [{ href: vars.alert_url, text: 'Alert in Vigil' }] : []),
    ...(vars.source_url ? [{ href: vars.source_url, text: 'Source' }] : []),
  ];
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key,
    payload: {
      summary: truncate(renderLine(templates.summary, vars), SUMMARY_CHARS),
      // PagerDuty requires a source: the affected machine, else Vigil itself.
      source: (lead && alertResource(lead)) || 'vigil',
      severity: groupSeverity(notification),
      ...(lead ? { timestamp: lead.startsAt } : {}),
      class: notification.rule,
      custom_details: details,
    },
    client: 'Vigil',
    client_url: externalURL,
    links,
  };
}

export interface PagerDutyDeps {
  externalURL: string;
  baseDir: string;
}

/** Sends Events API v2 events: trigger while firing, acknowledge when someone has it, resolve when it is over. */
export function createPagerDutyNotifier(receiver: PagerDutyReceiver, deps: PagerDutyDeps): Pick<Integration, 'target' | 'notifier'> {
  const routingKey = readSecret(receiver.routing_key, deps.baseDir);
  const url = new URL(receiver.url);
  const timeoutMs = parseDuration(receiver.timeout);
  return {
    // The routing key travels in the body, never in the URL: the URL is safe to show.
    target: `${url.origin}${url.pathname}`,
    notifier: {
      async send(notification, ctx): Promise<SendResult> {
        const body = JSON.stringify(pagerDutyEvent(notification, routingKey, receiver, deps.externalURL));
        const headers = { 'Content-Type': 'application/json', 'Idempotency-Key': ctx.deliveryId };
        // 202 means queued; 400 (malformed, unknown routing key) won't change; 429 and 5xx clear up.
        const result = await httpRequest({ url, headers, body, timeoutMs, secrets: [routingKey] });
        return result.ok ? { ok: true } : { ok: false, retryable: result.retryable, error: result.error };
      },
    },
  };
}
