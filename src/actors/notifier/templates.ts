import { createHash } from 'node:crypto';
import type { AlertPayload } from '../../bus/messages.js';
import { notificationStatus, type Notification } from './notify.js';

/**
 * What every channel says about a notification, and the one template language users override it with:
 * `{{ $name }}` placeholders over the variables of `templateVars` (the rule annotations' `$labels.x` and
 * `$value` work the same way). There are no conditionals or loops; lists come ready-made (`$alerts`).
 */

/** A state change of the group, or that someone acknowledged it (the alerts still fire). */
export type NotificationKind = 'firing' | 'resolved' | 'acknowledged';

export function notificationKind(notification: Notification): NotificationKind {
  const status = notificationStatus(notification.alerts);
  return notification.acknowledged && status === 'firing' ? 'acknowledged' : status;
}

/** Severities channels understand (PagerDuty's set); other label values count as `error`. */
export type Severity = 'critical' | 'error' | 'warning' | 'info';
const SEVERITY_RANK: Record<Severity, number> = { critical: 3, error: 2, warning: 1, info: 0 };

function normalizeSeverity(value: string | undefined): Severity | undefined {
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  return lower in SEVERITY_RANK ? (lower as Severity) : 'error';
}

/** The worst `severity` label among the firing alerts (among all when none fires); `error` when no alert has one. */
export function groupSeverity(notification: Notification): Severity {
  const firing = notification.alerts.filter((a) => a.status === 'firing');
  const alerts = firing.length ? firing : notification.alerts;
  let worst: Severity | undefined;
  for (const alert of alerts) {
    const severity = normalizeSeverity(alert.labels.severity);
    if (severity && (worst === undefined || SEVERITY_RANK[severity] > SEVERITY_RANK[worst])) worst = severity;
  }
  return worst ?? 'error';
}

/** Status colours: red to blue by severity while firing; green when resolved, grey once someone has it. */
export const STATUS_COLOURS: Record<Severity | Exclude<NotificationKind, 'firing'>, string> = {
  critical: '#D32F2F',
  error: '#E64A19',
  warning: '#F57C00',
  info: '#1976D2',
  resolved: '#2E7D32',
  acknowledged: '#757575',
};

export function statusColour(notification: Notification): string {
  const kind = notificationKind(notification);
  return kind === 'firing' ? STATUS_COLOURS[groupSeverity(notification)] : STATUS_COLOURS[kind];
}

/**
 * The notification's aggregation group. Before routing sets one, a notification carries one alert, so
 * its fingerprint is the group: a per-rule key would let one instance's resolve close another's page.
 */
export function groupKeyOf(notification: Notification): string {
  return notification.groupKey ?? `{}/${notification.alerts.map((a) => a.fingerprint).sort().join(',')}`;
}

/** A short stable name for a group key, fit for PagerDuty's dedup_key (≤255 chars) and Jira labels. */
export function groupHash(groupKey: string): string {
  return createHash('sha256').update(groupKey).digest('hex').slice(0, 32);
}

/** Pairs present with the same value in every set. */
export function commonPairs(sets: readonly Record<string, string>[]): Record<string, string> {
  const [first, ...rest] = sets;
  return Object.fromEntries(Object.entries(first ?? {}).filter(([k, v]) => rest.every((s) => s[k] === v)));
}

/** Where an alert fires: its `instance` label, else `host`. */
export function alertResource(alert: AlertPayload): string {
  return alert.labels.instance ?? alert.labels.host ?? '';
}

const LISTED_RESOURCES = 3;

function describeResources(alerts: readonly AlertPayload[]): string {
  const resources = [...new Set(alerts.map(alertResource).filter(Boolean))];
  if (resources.length <= LISTED_RESOURCES) return resources.join(', ');
  return `${resources.slice(0, LISTED_RESOURCES).join(', ')} and ${resources.length - LISTED_RESOURCES} more`;
}

/** Six significant digits: enough to read, without float noise such as 0.30000000000000004. */
export function formatValue(value: number | undefined): string {
  return value === undefined ? '' : String(Number(value.toPrecision(6)));
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Vigil's own page for an alert, and how to acknowledge it: every channel points people there. */
export function alertLinks(fingerprint: string, externalURL: string): { alertURL: string; ackURL: string; ackCommand: string } {
  const base = `${externalURL.replace(/\/+$/, '')}/api/v1/alerts/${encodeURIComponent(fingerprint)}`;
  return { alertURL: base, ackURL: `${base}/ack`, ackCommand: `vigil alerts ack ${fingerprint}` };
}

/** One line per alert: status, resource, value, summary and the fingerprint to acknowledge it by. */
export function describeAlert(alert: AlertPayload): string {
  const resource = alertResource(alert);
  const value = formatValue(alert.value);
  const summary = alert.annotations.summary ?? alert.labels.alertname ?? '';
  return `[${alert.status.toUpperCase()}] ${resource ? `${resource} ` : ''}${value ? `(value ${value}) ` : ''}${summary} — ${alert.fingerprint}`.replace(/\s+/g, ' ');
}

function alertItemHtml(alert: AlertPayload): string {
  const link = alert.generatorURL ? ` <a href="${escapeHtml(alert.generatorURL)}">source</a>` : '';
  return `<li>${escapeHtml(describeAlert(alert))}${link}</li>`;
}

/** The variables every notification has, for documentation and `vigil` help. */
export const TEMPLATE_VARIABLES = [
  'status', 'rule', 'receiver', 'severity', 'resource', 'value', 'fingerprint', 'firing', 'resolved', 'summary', 'description',
  'starts_at', 'source_url', 'alert_url', 'ack_hint', 'acknowledged_by', 'acknowledged_at', 'acknowledgement', 'colour', 'external_url', 'group_key',
  'labels', 'labels_html', 'alerts', 'alerts_html',
] as const;

/** Template variables: the named ones always exist; `labels.NAME` and `annotations.NAME` when shared by every alert. Names ending in `_html` are already HTML and are inserted as they are. */
export type TemplateVars = Record<(typeof TEMPLATE_VARIABLES)[number], string> & Record<string, string>;

/**
 * status is FIRING, RESOLVED or ACKNOWLEDGED; firing and resolved are counts; labels are the shared ones as
 * `a=1, b=2`; alerts has one line per alert; acknowledgement is who and when, or empty;
 * value, resource, fingerprint and the links come from the first firing alert (or the first alert).
 */
export function templateVars(notification: Notification, externalURL: string): TemplateVars {
  const { alerts } = notification;
  const firing = alerts.filter((a) => a.status === 'firing');
  const lead = firing[0] ?? alerts[0];
  const labels = commonPairs(alerts.map((a) => a.labels));
  const annotations = commonPairs(alerts.map((a) => a.annotations));
  const resource = describeResources(firing.length ? firing : alerts);
  const status = notificationKind(notification).toUpperCase();
  const links = lead ? alertLinks(lead.fingerprint, externalURL) : undefined;
  const ackTarget = firing.length === 1 && links ? links : alertLinks('<fingerprint>', externalURL);
  const vars: TemplateVars = {
    status,
    rule: notification.rule,
    receiver: notification.receiver,
    severity: labels.severity ?? groupSeverity(notification),
    resource,
    value: formatValue(lead?.value),
    fingerprint: lead?.fingerprint ?? '',
    firing: String(firing.length),
    resolved: String(alerts.length - firing.length),
    summary: annotations.summary ?? `${notification.rule} ${status.toLowerCase()}${resource ? ` on ${resource}` : ''}`,
    description: annotations.description ?? '',
    starts_at: lead?.startsAt ?? '',
    source_url: lead?.generatorURL ?? '',
    alert_url: links?.alertURL ?? '',
    ack_hint: firing.length ? `acknowledge: \`${ackTarget.ackCommand}\` or POST ${ackTarget.ackURL}` : '',
    acknowledged_by: notification.acknowledged?.by ?? '',
    acknowledged_at: notification.acknowledged ? new Date(notification.acknowledged.at).toISOString() : '',
    acknowledgement: notification.acknowledged ? `Acknowledged by ${notification.acknowledged.by} at ${new Date(notification.acknowledged.at).toISOString()}` : '',
    colour: statusColour(notification),
    external_url: externalURL,
    group_key: groupKeyOf(notification),
    labels: Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(', '),
    labels_html: `<table>${Object.entries(labels).map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`,
    alerts: alerts.map(describeAlert).join('\n'),
    alerts_html: `<ul>${alerts.map(alertItemHtml).join('')}</ul>`,
  };
  for (const [name, value] of Object.entries(labels)) vars[`labels.${name}`] = value;
  for (const [name, value] of Object.entries(annotations)) vars[`annotations.${name}`] = value;
  return vars;
}

const PLACEHOLDER = /\{\{\s*\$([a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)?)\s*\}\}/g;

/**
 * Expands `{{ $name }}`, passing each value through `escape` (HTML, Slack mrkdwn, Jira markup), except
 * `_html` variables. A missing label or annotation renders empty; an unknown name is left as written, so
 * a typo is visible rather than silently blank.
 */
export function renderTemplate(text: string, vars: TemplateVars, escape: (value: string) => string = (v) => v): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) return /^(labels|annotations)\./.test(name) ? '' : whole;
    return name.endsWith('_html') ? value : escape(value);
  });
}

/** For subjects, titles and summaries: one line, no runs of spaces where a variable was empty. */
export function renderLine(text: string, vars: TemplateVars, escape?: (value: string) => string): string {
  return renderTemplate(text, vars, escape).replace(/\s+/g, ' ').trim();
}

/** Cuts text to `max` characters, marking the cut: channels reject or clip longer fields. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A channel's templates: its defaults, with the receiver's overrides where given. */
export function withDefaults<T extends Record<string, string>>(defaults: T, overrides: Readonly<Record<string, string | undefined>> | undefined): T {
  const merged: Record<string, string> = { ...defaults };
  for (const key of Object.keys(defaults)) {
    const override = overrides?.[key];
    if (override !== undefined) merged[key] = override;
  }
  return merged as T;
}
