import { readSecret } from '../../../config/load.js';
import type { ReceiverConfig } from '../../../config/schema.js';
import type { Logger } from '../../../observability/logger.js';
import { parseDuration } from '../../../series/duration.js';
import type { NotifierStateRecord, Store } from '../../../store/store.js';
import type { Integration, Notification, SendResult } from '../notify.js';
import { groupHash, groupKeyOf, notificationKind, renderLine, renderTemplate, templateVars, truncate, withDefaults } from '../templates.js';
import { createJiraClient, JiraError, type JiraClient } from './client.js';

type JiraReceiver = Extract<ReceiverConfig, { kind: 'jira' }>;

/** Jira wiki markup (API v2); values are escaped so a label cannot inject markup or links. */
export const JIRA_TEMPLATES = {
  summary: '[{{ $severity }}] {{ $rule }} {{ $resource }}: {{ $summary }}',
  description: `h3. {{ $summary }}
{{ $description }}

||Severity|{{ $severity }}|
||Resource|{{ $resource }}|
||Value|{{ $value }}|
||Started|{{ $starts_at }}|
||Labels|{{ $labels }}|

*Alerts*
{{ $alerts }}

[Source|{{ $source_url }}] · [Alert in Vigil|{{ $alert_url }}]
{{ $ack_hint }}
`,
};

const SUMMARY_CHARS = 255;

/** Backslash-escapes wiki markup; a bare URL stays clickable, with only the characters that would end a link encoded. */
export function escapeJira(text: string): string {
  if (/^https?:\/\/\S+$/.test(text)) return text.replace(/\|/g, '%7C').replace(/\]/g, '%5D');
  return text.replace(/[\\{}[\]|*_+^~#!?-]/g, '\\$&');
}

/** The store record that remembers a group's issue, so a retry or a later notification finds it. */
export interface JiraTicketRecord extends NotifierStateRecord {
  kind: 'ticket';
  receiver: string;
  groupKey: string;
  /** The open issue of the group; cleared once resolved, so the group's next firing opens a new one. */
  issueKey?: string;
  closedIssueKey?: string;
  /** Steps of one acknowledged or resolved delivery already done, so its retry doesn't comment twice. */
  progress?: { deliveryId: string; steps: string[] };
}

export function jiraTicketId(receiver: string, groupKey: string): string {
  return `jira-${receiver}-${groupHash(groupKey)}`;
}

/** The label every issue of a group carries: the JQL that finds an issue whose key was never remembered. */
export function jiraGroupLabel(groupKey: string): string {
  return `vigil-${groupHash(groupKey)}`;
}

export interface JiraDeps {
  externalURL: string;
  baseDir: string;
  logger: Logger;
  /** Where issue keys are remembered; without it, every lookup is a JQL search. */
  store?: Store;
  /** For tests and the ticket automation; built from the receiver otherwise. */
  client?: JiraClient;
}

/**
 * One Jira issue per notification group: created when the group fires, commented and transitioned when it is
 * acknowledged and resolved. A firing retried after a crash between create and remember finds its issue by
 * the group label instead of opening a second one.
 */
export function createJiraNotifier(receiver: JiraReceiver, deps: JiraDeps): Pick<Integration, 'target' | 'notifier'> {
  const url = new URL(receiver.url);
  const client =
    deps.client ?? createJiraClient({ url: receiver.url, username: receiver.username, apiToken: readSecret(receiver.api_token, deps.baseDir), timeoutMs: parseDuration(receiver.timeout) });
  const templates = withDefaults(JIRA_TEMPLATES, receiver.templates);
  const log = deps.logger.child({ receiver: receiver.name });
  const states = deps.store?.notifierState;

  async function remember(record: JiraTicketRecord): Promise<void> {
    await states?.put(record);
  }

  async function open(notification: Notification, ctx: { deliveryId: string }, record: JiraTicketRecord): Promise<void> {
    const groupKey = groupKeyOf(notification);
    const label = jiraGroupLabel(groupKey);
    let key = record.issueKey ?? (await client.findOpenIssueByLabel(label));
    if (key === undefined) {
      const vars = templateVars(notification, deps.externalURL);
      key = await client.createIssue({
        project: receiver.project,
        issueType: receiver.issue_type,
        summary: truncate(renderLine(templates.summary, vars), SUMMARY_CHARS),
        description: renderTemplate(templates.description, vars, escapeJira).replace(/\n{3,}/g, '\n\n'),
        assignee: notification.recipients?.find((r) => r.jira_account)?.jira_account ?? receiver.assignee,
        // The delivery label says which notification opened the issue.
        labels: ['vigil', label, `vigil-${ctx.deliveryId}`],
      });
      log.info({ issueKey: key, deliveryId: ctx.deliveryId }, 'jira issue created');
    }
    if (record.issueKey !== key) await remember({ ...record, issueKey: key });
  }

  async function follow(notification: Notification, ctx: { deliveryId: string; now: number }, record: JiraTicketRecord, kind: 'acknowledged' | 'resolved'): Promise<void> {
    const key = record.issueKey ?? (await client.findOpenIssueByLabel(jiraGroupLabel(groupKeyOf(notification))));
    // Never ticketed (or already closed and moved on): nothing to follow up.
    if (key === undefined) return;
    const steps = record.progress?.deliveryId === ctx.deliveryId ? [...record.progress.steps] : [];
    let current: JiraTicketRecord = { ...record, issueKey: key };
    const step = async (name: string, run: () => Promise<void>) => {
      if (steps.includes(name)) return;
      await run();
      steps.push(name);
      current = { ...current, updatedAt: ctx.now, progress: { deliveryId: ctx.deliveryId, steps } };
      await remember(current);
    };
    const ack = notification.acknowledged;
    const text =
      kind === 'acknowledged' && ack
        ? `Acknowledged by ${ack.by} at ${new Date(ack.at).toISOString()}.`
        : `Resolved: all alerts of the group have stopped firing (${new Date(ctx.now).toISOString()}).`;
    await step('comment', () => client.comment(key, text));
    const transition = receiver.transitions[kind];
    if (transition) await step('transition', () => client.transition(key, transition));
    if (kind === 'resolved') {
      const { issueKey: _closed, ...rest } = current;
      await remember({ ...rest, closedIssueKey: key, updatedAt: ctx.now });
    }
  }

  return {
    target: `${url.origin}${url.pathname.replace(/\/+$/, '')} ${receiver.project}`,
    notifier: {
      async send(notification, ctx): Promise<SendResult> {
        const groupKey = groupKeyOf(notification);
        const id = jiraTicketId(receiver.name, groupKey);
        try {
          const record = ((await states?.get(id)) as JiraTicketRecord | undefined) ?? { id, kind: 'ticket', receiver: receiver.name, groupKey, updatedAt: ctx.now };
          const kind = notificationKind(notification);
          if (kind === 'firing') await open(notification, ctx, { ...record, updatedAt: ctx.now });
          else await follow(notification, ctx, record, kind);
          return { ok: true };
        } catch (err) {
          if (err instanceof JiraError) return { ok: false, retryable: err.retryable, error: err.message };
          throw err;
        }
      },
    },
  };
}
