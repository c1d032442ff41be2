import type { ActorContext } from '../actor.js';
import { envelope, type MessagePayloads } from '../../bus/messages.js';
import { PermanentError } from '../../bus/transport.js';
import { readSecret } from '../../config/load.js';
import { recipientFor, schedulesOf } from '../../oncall/oncall.js';
import { whoIsOnCall } from '../../oncall/schedule.js';
import { formatDuration, parseDuration } from '../../series/duration.js';
import type { ReceiverConfig } from '../../config/schema.js';
import type { AlertRecord, NotifierStateRecord } from '../../store/store.js';
import { createJiraClient, type JiraClient } from './jira/client.js';
import type { Recipient } from './notify.js';

/**
 * Ticket automation (issue 6): when an alert has been down longer than the SLA (`notifier.tickets.after`),
 * a Jira issue is opened and assigned to whoever is on call; still unresolved `escalate_after` later, it is
 * reassigned to the escalation schedule's on-call. Every step is a `ticket.check` delayed message with an
 * id derived from its due time, and every step's outcome is a `ticket` record in store.notifierState, so a
 * restart resumes where it stopped and a redelivered check finds its work already done.
 */

/** A new issue. `marker` identifies it (a Jira label), so a create whose reply was lost can be found again. */
export interface NewTicket {
  summary: string;
  description: string;
  /** Jira account id; without one the receiver's configured assignee applies. */
  assignee?: string;
  marker: string;
}

/** What the automation needs from an issue tracker; `receiver` names the configured jira receiver. */
export interface TicketSystem {
  /** Creates the issue and returns its key (e.g. OPS-42). */
  create(receiver: string, ticket: NewTicket): Promise<string>;
  /** The key of the issue created with this marker, if any: lets a retried create not open a second one. */
  findByMarker?(receiver: string, marker: string): Promise<string | undefined>;
  comment(receiver: string, key: string, text: string): Promise<void>;
  assign(receiver: string, key: string, accountId: string): Promise<void>;
}

/** Who is on duty in a named schedule at a time; undefined when nobody is (or the schedule is unknown). */
export interface OnCall {
  who(schedule: string, at: number): Promise<Recipient | undefined>;
}

/** The TicketSystem port over the Jira client, for the configured jira receiver named at each call (so a reload applies). */
export function ticketSystemFromConfig(deps: Pick<ActorContext, 'config'>): TicketSystem {
  function jira(name: string): { client: JiraClient; receiver: Extract<ReceiverConfig, { kind: 'jira' }> } {
    const config = deps.config();
    const receiver = config.notifier.receivers.find((r) => r.name === name);
    // Retrying cannot fix the config: dead-letter the check instead.
    if (receiver?.kind !== 'jira') throw new PermanentError(`tickets.receiver "${name}" is not a configured jira receiver`);
    const client = createJiraClient({ url: receiver.url, username: receiver.username, apiToken: readSecret(receiver.api_token, config.baseDir), timeoutMs: parseDuration(receiver.timeout) });
    return { client, receiver };
  }
  return {
    async create(name, ticket) {
      const { client, receiver } = jira(name);
      const assignee = ticket.assignee ?? receiver.assignee;
      return client.createIssue({
        project: receiver.project,
        issueType: receiver.issue_type,
        summary: ticket.summary,
        description: ticket.description,
        labels: [ticket.marker],
        ...(assignee ? { assignee } : {}),
      });
    },
    findByMarker: (name, marker) => jira(name).client.findOpenIssueByLabel(marker),
    comment: (name, key, text) => jira(name).client.comment(key, text),
    assign: (name, key, accountId) => jira(name).client.assign(key, accountId),
  };
}

/** The OnCall port over the configured schedules (import sheets read once per config, as the rest of the notifier does). */
export function oncallFromConfig(deps: Pick<ActorContext, 'config' | 'logger'>): OnCall {
  return {
    async who(name, at) {
      const config = deps.config();
      const schedules = await schedulesOf(config, (schedule, err) => deps.logger.warn({ schedule, err: err.message }, 'on-call import sheet unusable: its layers still apply'));
      const schedule = schedules.get(name);
      if (!schedule) {
        deps.logger.warn({ schedule: name }, 'no on-call schedule by this name');
        return undefined;
      }
      const user = whoIsOnCall(schedule, at);
      return user === undefined ? undefined : recipientFor(config, user);
    },
  };
}

export interface TicketAutomationDeps extends Pick<ActorContext, 'store' | 'bus' | 'clock' | 'config' | 'logger'> {
  tickets: TicketSystem;
  oncall: OnCall;
}

export interface TicketAutomation {
  /** Every `alert.notify`: a firing alert starts a workflow, a resolved one closes it. */
  onNotify(payload: MessagePayloads['alert.notify']): Promise<void>;
  /** A `ticket.check` is due: open the ticket, or escalate it. */
  onCheck(payload: MessagePayloads['ticket.check']): Promise<void>;
}

/**
 * waiting: the SLA timer runs; creating: a create was attempted (it may have succeeded before a crash);
 * open: the issue exists, the escalation timer runs; escalated: no more timers; closed: done.
 */
export type TicketStage = 'waiting' | 'creating' | 'open' | 'escalated' | 'closed';

export interface TicketWorkflow extends NotifierStateRecord {
  kind: 'ticket';
  fingerprint: string;
  rule: string;
  /** When the alert started firing (epoch ms): with the fingerprint, the firing episode this ticket is about. */
  startsAt: number;
  generatorURL: string;
  stage: TicketStage;
  /** The jira receiver the issue lives in, fixed once it is created so a reload cannot orphan it. */
  receiver?: string;
  issueKey?: string;
  assignee?: string;
  openedAt?: number;
  escalatedTo?: string;
  escalatedAt?: number;
  closedAt?: number;
  closeReason?: string;
}

type TicketsConfig = NonNullable<ReturnType<TicketAutomationDeps['config']>['notifier']['tickets']>;

/** Alert states a ticket stays open for. */
const UNRESOLVED_STATES: ReadonlySet<string> = new Set(['firing', 'acknowledged']);

/** Closed workflows kept for the record before they are removed (as daily report records are). */
export const TICKET_RETENTION_MS = 30 * 86_400_000;

/** Jira refuses longer summaries. */
const MAX_SUMMARY = 255;

export const ticketWorkflowId = (fingerprint: string, startsAt: number): string => `ticket-${fingerprint}-${startsAt}`;

/** Named after the due time: a redelivered check has the id of the step it was for. */
export const ticketCheckMessageId = (ticketId: string, due: number): string => `${ticketId}-check-${due}`;

const hours = (ms: number): string => `${Math.round(ms / 360_000) / 10} h`;

export function createTicketAutomation(deps: TicketAutomationDeps): TicketAutomation {
  const log = deps.logger.child({ component: 'tickets' });
  const workflows = deps.store.notifierState;

  async function load(id: string): Promise<TicketWorkflow | undefined> {
    const record = await workflows.get(id);
    return record?.kind === 'ticket' ? (record as TicketWorkflow) : undefined;
  }

  /** Saves the next state; `dueAt` is only kept when given, so a workflow without a timer is not "due". */
  async function save(workflow: TicketWorkflow, changes: Partial<TicketWorkflow>): Promise<TicketWorkflow> {
    const { dueAt: _previousDue, ...rest } = workflow;
    const next: TicketWorkflow = { ...rest, ...changes, updatedAt: deps.clock.now() };
    await workflows.put(next);
    return next;
  }

  /** Publishing the same step twice is deduplicated by its id. Keyed by fingerprint, like alert.notify, so both stay in order. */
  async function scheduleCheck(workflow: TicketWorkflow): Promise<void> {
    if (workflow.dueAt === undefined) return;
    const now = deps.clock.now();
    const message = envelope('ticket.check', ticketCheckMessageId(workflow.id, workflow.dueAt), { ticketId: workflow.id, due: workflow.dueAt }, workflow.fingerprint, now);
    await deps.bus.publish([message], { delayMs: Math.max(0, workflow.dueAt - now) });
  }

  /** The alert if it is still in the firing episode the workflow is about and not resolved. */
  async function unresolvedAlert(workflow: TicketWorkflow): Promise<AlertRecord | undefined> {
    const alert = await deps.store.alerts.get(workflow.fingerprint);
    if (!alert || !UNRESOLVED_STATES.has(alert.state)) return undefined;
    if (alert.firedAt !== undefined && alert.firedAt !== workflow.startsAt) return undefined;
    return alert;
  }

  /** The issue key, looking it up by marker when a create may have succeeded before a crash. */
  async function issueKeyOf(workflow: TicketWorkflow): Promise<string | undefined> {
    if (workflow.issueKey !== undefined || workflow.stage !== 'creating' || !workflow.receiver) return workflow.issueKey;
    return deps.tickets.findByMarker?.(workflow.receiver, workflow.id);
  }

  async function close(workflow: TicketWorkflow, reason: string, comment: string): Promise<void> {
    const key = await issueKeyOf(workflow);
    if (key !== undefined && workflow.receiver) await deps.tickets.comment(workflow.receiver, key, comment);
    const now = deps.clock.now();
    await save(workflow, { stage: 'closed', closedAt: now, closeReason: reason, ...(key === undefined ? {} : { issueKey: key }) });
    log.info({ ticketId: workflow.id, issueKey: key, reason }, 'ticket workflow closed');
    await pruneClosed(now);
  }

  /** Removes workflows closed longer than the retention ago (stage is not indexed: old ones are read and filtered). */
  async function pruneClosed(now: number): Promise<void> {
    const old = (await workflows.find({ where: { kind: 'ticket' }, range: { field: 'updatedAt', to: now - TICKET_RETENTION_MS - 1 } })) as TicketWorkflow[];
    const closed = old.filter((w) => w.stage === 'closed');
    for (const workflow of closed) await workflows.delete(workflow.id);
    if (closed.length) log.debug({ count: closed.length }, 'closed ticket workflows past their retention removed');
  }

  function describe(workflow: TicketWorkflow, alert: AlertRecord, now: number, sla: string): { summary: string; description: string } {
    const name = alert.labels.alertname ?? workflow.rule;
    const downFor = formatDuration(Math.max(0, now - workflow.startsAt));
    const summary = `${name}${alert.annotations.summary ? `: ${alert.annotations.summary}` : ''} (down ${downFor})`;
    const list = (record: Record<string, string>, sep: string) =>
      Object.entries(record)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `- ${k}${sep}${v}`);
    const description = [
      `Alert ${name} has been ${alert.state} since ${new Date(workflow.startsAt).toISOString()}: down ${downFor} so far, past the ${sla} SLA.`,
      ...(alert.value === undefined ? [] : [`Current value: ${alert.value}`]),
      '',
      'Labels:',
      ...list(alert.labels, '='),
      ...(Object.keys(alert.annotations).length ? ['', 'Annotations:', ...list(alert.annotations, ': ')] : []),
      '',
      `Alert: ${workflow.generatorURL}`,
    ].join('\n');
    return { summary: summary.length > MAX_SUMMARY ? `${summary.slice(0, MAX_SUMMARY - 1)}…` : summary, description };
  }

  async function openTicket(workflow: TicketWorkflow, alert: AlertRecord, config: TicketsConfig): Promise<void> {
    const now = deps.clock.now();
    let key = await issueKeyOf(workflow);
    const creating = await save(workflow, { stage: 'creating', receiver: workflow.receiver ?? config.receiver, dueAt: workflow.dueAt });
    const receiver = creating.receiver as string;
    const onCall = config.schedule ? await deps.oncall.who(config.schedule, now) : undefined;
    if (config.schedule && !onCall?.jira_account) log.warn({ ticketId: workflow.id, schedule: config.schedule, onCall: onCall?.name }, 'nobody on call with a jira_account: the receiver default assignee applies');
    if (key === undefined) {
      const text = describe(workflow, alert, now, config.after);
      key = await deps.tickets.create(receiver, { ...text, marker: workflow.id, ...(onCall?.jira_account ? { assignee: onCall.jira_account } : {}) });
    } else if (onCall?.jira_account) {
      await deps.tickets.assign(receiver, key, onCall.jira_account);
    }
    const open = await save(creating, {
      stage: 'open',
      issueKey: key,
      openedAt: now,
      dueAt: now + parseDuration(config.escalate_after),
      ...(onCall ? { assignee: onCall.name } : {}),
    });
    log.info({ ticketId: workflow.id, issueKey: key, assignee: onCall?.name, escalateAt: open.dueAt }, 'SLA reached: ticket opened');
    await scheduleCheck(open);
  }

  async function escalate(workflow: TicketWorkflow, config: TicketsConfig): Promise<void> {
    const now = deps.clock.now();
    const receiver = workflow.receiver as string;
    const key = workflow.issueKey as string;
    const next = config.escalation_schedule ? await deps.oncall.who(config.escalation_schedule, now) : undefined;
    if (next?.jira_account) await deps.tickets.assign(receiver, key, next.jira_account);
    else log.warn({ ticketId: workflow.id, schedule: config.escalation_schedule, onCall: next?.name }, 'escalation has nobody with a jira_account to reassign to');
    const unresolvedFor = hours(now - (workflow.openedAt ?? workflow.startsAt));
    await deps.tickets.comment(receiver, key, `Escalated after ${unresolvedFor} unresolved${next ? `; reassigned to ${next.name}` : ''}.`);
    await save(workflow, { stage: 'escalated', escalatedAt: now, ...(next ? { escalatedTo: next.name } : {}) });
    log.info({ ticketId: workflow.id, issueKey: key, escalatedTo: next?.name }, 'ticket escalated');
  }

  return {
    async onNotify({ alert, rule }) {
      const startsAt = Date.parse(alert.startsAt);
      if (!Number.isFinite(startsAt)) return;
      const id = ticketWorkflowId(alert.fingerprint, startsAt);
      if (alert.status === 'resolved') {
        const workflow = await load(id);
        if (!workflow || workflow.stage === 'closed') return;
        const endsAt = Date.parse(alert.endsAt);
        const resolvedAt = Number.isFinite(endsAt) ? endsAt : deps.clock.now();
        const comment = `Resolved at ${new Date(resolvedAt).toISOString()} after ${formatDuration(Math.max(0, resolvedAt - startsAt))} of downtime.`;
        return close(workflow, 'resolved', comment);
      }
      const config = deps.config().notifier.tickets;
      if (!config) return;
      const now = deps.clock.now();
      const workflow: TicketWorkflow = {
        id,
        kind: 'ticket',
        fingerprint: alert.fingerprint,
        rule,
        startsAt,
        generatorURL: alert.generatorURL,
        stage: 'waiting',
        dueAt: startsAt + parseDuration(config.after),
        updatedAt: now,
      };
      if (await workflows.insert(workflow)) {
        log.debug({ ticketId: id, dueAt: workflow.dueAt }, 'SLA timer started');
        return scheduleCheck(workflow);
      }
      // A repeated or redelivered notification: make sure the pending step is scheduled (a crash may have lost it).
      const existing = await load(id);
      if (existing) await scheduleCheck(existing);
    },

    async onCheck({ ticketId, due }) {
      const workflow = await load(ticketId);
      if (!workflow || workflow.dueAt === undefined) return;
      // A copy of an earlier step: its work is done, but the current step's message may have been lost in a crash.
      if (due !== workflow.dueAt) return scheduleCheck(workflow);
      const config = deps.config().notifier.tickets;
      if (!config) return close(workflow, 'ticket automation removed from the config', 'Vigil ticket automation was turned off; this ticket is no longer tracked.');
      const alert = await unresolvedAlert(workflow);
      if (!alert) return close(workflow, 'alert no longer firing', 'The alert is no longer firing.');
      if (workflow.stage === 'open') return escalate(workflow, config);
      return openTicket(workflow, alert, config);
    },
  };
}
