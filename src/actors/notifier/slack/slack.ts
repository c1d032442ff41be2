import { readSecret } from '../../../config/load.js';
import type { ReceiverConfig } from '../../../config/schema.js';
import { parseDuration } from '../../../series/duration.js';
import { httpRequest } from '../http.js';
import type { Integration, Notification, Recipient, SendResult } from '../notify.js';
import {
  alertLinks,
  describeAlert,
  notificationKind,
  renderLine,
  renderTemplate,
  templateVars,
  truncate,
  withDefaults,
} from '../templates.js';

type SlackReceiver = Extract<ReceiverConfig, { kind: 'slack' }>;

/** `title` is the plain-text header; `text` the mrkdwn body (values are escaped for mrkdwn). */
export const SLACK_TEMPLATES = {
  title: '[{{ $status }}] {{ $rule }} {{ $resource }}',
  text: '{{ $summary }}\n{{ $description }}',
};

// Slack's limits: header text 150 chars, section text 3000, ten fields per section.
const HEADER_CHARS = 150;
const SECTION_CHARS = 3000;
const LISTED_ALERTS = 10;

/** mrkdwn treats only these three as control characters. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function slackLink(url: string, text: string): string {
  return `<${escapeSlack(url).replace(/\|/g, '%7C')}|${escapeSlack(text)}>`;
}

/** Member (U…, W…) and user-group (S…) ids become real mentions; anything else is shown as written. */
export function slackMention(handle: string): string {
  const id = handle.replace(/^@/, '');
  if (/^[UW][A-Z0-9]{2,}$/.test(id)) return `<@${id}>`;
  if (/^S[A-Z0-9]{2,}$/.test(id)) return `<!subteam^${id}>`;
  return escapeSlack(handle.startsWith('@') ? handle : `@${handle}`);
}

type Block = Record<string, unknown>;
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });

export interface SlackMessage {
  channel?: string;
  text: string;
  blocks: Block[];
  attachments: { color: string; blocks: Block[] }[];
}

export function slackMessage(notification: Notification, receiver: Pick<SlackReceiver, 'channel' | 'templates'>, externalURL: string): SlackMessage {
  const templates = withDefaults(SLACK_TEMPLATES, receiver.templates);
  const vars = templateVars(notification, externalURL);
  const kind = notificationKind(notification);
  const title = truncate(renderLine(templates.title, vars), HEADER_CHARS);
  const mentions = (notification.recipients ?? []).flatMap((r: Recipient) => (r.slack ? [slackMention(r.slack)] : []));

  const blocks: Block[] = [{ type: 'header', text: { type: 'plain_text', text: title, emoji: true } }];
  if (mentions.length) blocks.push({ type: 'section', text: mrkdwn(`cc ${mentions.join(' ')}`) });

  const details: Block[] = [];
  const body = renderTemplate(templates.text, vars, escapeSlack).trim();
  if (body) details.push({ type: 'section', text: mrkdwn(truncate(body, SECTION_CHARS)) });
  const firing = Number(vars.firing);
  const fields = [
    ['Severity', vars.severity],
    ['Resource', vars.resource],
    ['Value', vars.value],
    ['Alerts', `${firing} firing${vars.resolved !== '0' ? `, ${vars.resolved} resolved` : ''}`],
  ].filter(([, value]) => value);
  details.push({ type: 'section', fields: fields.map(([name, value]) => mrkdwn(`*${name}*\n${escapeSlack(value ?? '')}`)) });
  if (notification.alerts.length > 1) {
    const lines = notification.alerts.slice(0, LISTED_ALERTS).map((a) => `• ${escapeSlack(describeAlert(a))}`);
    const more = notification.alerts.length - LISTED_ALERTS;
    details.push({ type: 'section', text: mrkdwn(truncate([...lines, ...(more > 0 ? [`…and ${more} more`] : [])].join('\n'), SECTION_CHARS)) });
  }
  if (notification.acknowledged) {
    const { by, at } = notification.acknowledged;
    const seconds = Math.floor(at / 1000);
    details.push({ type: 'section', text: mrkdwn(`:eyes: Acknowledged by *${escapeSlack(by)}* at <!date^${seconds}^{date_short_pretty} {time}|${new Date(at).toISOString()}>`) });
  }
  const links = [
    vars.source_url ? slackLink(vars.source_url, 'Source') : '',
    vars.fingerprint ? slackLink(alertLinks(vars.fingerprint, externalURL).alertURL, 'Alert in Vigil') : '',
  ].filter(Boolean);
  if (links.length) details.push({ type: 'context', elements: [mrkdwn(links.join('  ·  '))] });
  // A hint, not a button: incoming webhooks cannot receive button clicks.
  if (kind === 'firing' && vars.ack_hint) details.push({ type: 'context', elements: [mrkdwn(escapeSlack(vars.ack_hint))] });

  return {
    ...(receiver.channel ? { channel: receiver.channel } : {}),
    // What phones and screen readers show. Parsed as mrkdwn, so the title is escaped: a label must not @channel.
    text: [escapeSlack(title), ...mentions].join(' '),
    blocks,
    attachments: [{ color: vars.colour, blocks: details }],
  };
}

export interface SlackDeps {
  externalURL: string;
  baseDir: string;
}

/** Posts Block Kit messages to a Slack incoming webhook. The webhook URL is the credential: only its host is shown. */
export function createSlackNotifier(receiver: SlackReceiver, deps: SlackDeps): Pick<Integration, 'target' | 'notifier'> {
  const secretURL = readSecret(receiver.url, deps.baseDir);
  const url = new URL(secretURL);
  const timeoutMs = parseDuration(receiver.timeout);
  return {
    target: receiver.channel ? `${url.origin} ${receiver.channel}` : url.origin,
    notifier: {
      async send(notification, ctx): Promise<SendResult> {
        const body = JSON.stringify(slackMessage(notification, receiver, deps.externalURL));
        // Slack ignores Idempotency-Key; it is there for proxies and test peers that dedupe.
        const headers = { 'Content-Type': 'application/json', 'Idempotency-Key': ctx.deliveryId };
        const result = await httpRequest({ url, headers, body, timeoutMs, secrets: [secretURL, url.pathname] });
        return result.ok ? { ok: true } : { ok: false, retryable: result.retryable, error: result.error };
      },
    },
  };
}
