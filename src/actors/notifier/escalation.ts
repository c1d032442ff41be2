import { createHash } from 'node:crypto';
import type { Bus } from '../../bus/bus.js';
import { envelope } from '../../bus/messages.js';
import type { VigilConfig } from '../../config/load.js';
import type { Logger } from '../../observability/logger.js';
import { recipientFor, schedulesOf } from '../../oncall/oncall.js';
import { whoIsOnCall } from '../../oncall/schedule.js';
import { parseDuration } from '../../series/duration.js';
import type { NotifierStateRecord, Store } from '../../store/store.js';
import type { Clock } from '../actor.js';
import type { Notification, Recipient } from './notify.js';

/**
 * Escalation policies: step 0's targets are told at once; unless someone acknowledges within the
 * step's timeout, the next step's are; after the last step the policy starts over `repeat` times.
 *
 * Each timeout is a delayed `escalation.step` message with a deterministic id, and the escalation's
 * state is a notifierState record, so a restart neither loses nor doubles a step. The record is
 * written before a step's targets are told (`stepNotified: false`) and marked after; a redelivered
 * step message finds the step unfinished and completes it, so a crash in between pages twice
 * rather than never.
 */

export type EscalationStatus = 'active' | 'acknowledged' | 'resolved' | 'exhausted';

export interface EscalationStep {
  targets: string[];
  timeoutMs: number;
}

export interface EscalationRecord extends NotifierStateRecord {
  kind: 'escalation';
  groupKey: string;
  policy: string;
  /** The policy as it was when the escalation started: a reload does not change a running one. */
  steps: EscalationStep[];
  repeat: number;
  status: EscalationStatus;
  /** Current step and how many times the steps have started over. */
  step: number;
  loop: number;
  /** Set while active: when the current step times out. Absent once stopped, so queries on it find the active ones. */
  dueAt?: number;
  /** The `due` of the step message that moved to the current step, so its redelivery can finish the step. */
  enteredBy?: number;
  /** Whether the current step's targets were told and its timeout message published. */
  stepNotified: boolean;
  /** Alerts of the group; acknowledging any of them stops the escalation. */
  fingerprints: string[];
  notification: Notification;
  firstFiringAt: number;
  startedAt: number;
  acknowledged?: { by: string; at: number };
  stoppedAt?: number;
  /** Who was told at each step, for the record. */
  notified: { step: number; loop: number; at: number; recipients: string[]; receivers: string[] }[];
}

export interface EscalationDeps {
  store: Store;
  bus: Bus;
  clock: Clock;
  config: () => VigilConfig;
  logger: Logger;
  /** Queues a notification for delivery (the outbox). */
  deliver: (notification: Notification) => Promise<void>;
}

export interface Escalations {
  /** Starts the group's escalation under the named policy; for a running one, adds the notification's alerts. */
  start(groupKey: string, policy: string, notification: Notification): Promise<void>;
  /** Stops every active escalation that contains the alert. */
  acknowledge(fingerprint: string, by: string): Promise<void>;
  /** Stops the group's active escalation. */
  resolve(groupKey: string): Promise<void>;
  /** Handles an `escalation.step` message: moves to the next step, unless the message is stale. */
  onStep(payload: { escalationId: string; due: number }): Promise<void>;
}

/** One escalation per group and firing episode: the same group firing again later escalates afresh. */
export function escalationId(groupKey: string, firstFiringAt: number): string {
  return `esc-${createHash('sha256').update(`${groupKey}\n${firstFiringAt}`).digest('hex').slice(0, 32)}`;
}

/** `schedule:NAME`, `user:NAME` or `receiver:NAME`. */
export function parseTarget(target: string): { kind: 'schedule' | 'user' | 'receiver'; name: string } | undefined {
  const m = /^(schedule|user|receiver):(.+)$/.exec(target.trim());
  return m ? { kind: m[1] as 'schedule' | 'user' | 'receiver', name: m[2]!.trim() } : undefined;
}

function firstFiringAt(notification: Notification): number | undefined {
  const starts = notification.alerts.filter((a) => a.status === 'firing').map((a) => Date.parse(a.startsAt));
  if (!starts.length) return undefined;
  const valid = starts.filter((t) => Number.isFinite(t));
  return valid.length ? Math.min(...valid) : notification.raisedAt;
}

function firingFingerprints(notification: Notification): string[] {
  return notification.alerts.filter((a) => a.status === 'firing').map((a) => a.fingerprint);
}

function stop(record: EscalationRecord, status: Exclude<EscalationStatus, 'active'>, at: number): void {
  record.status = status;
  record.stoppedAt = at;
  record.updatedAt = at;
  delete record.dueAt;
}

export function createEscalations(deps: EscalationDeps): Escalations {
  const { store, bus, clock, logger } = deps;
  const log = logger.child({ component: 'escalation' });

  // Operations on one escalation run one at a time, so an acknowledgement and a step cannot interleave.
  const queues = new Map<string, Promise<unknown>>();
  function exclusive<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = queues.get(id) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => {});
    queues.set(id, settled);
    void settled.then(() => {
      if (queues.get(id) === settled) queues.delete(id);
    });
    return next;
  }

  async function load(id: string): Promise<EscalationRecord | undefined> {
    const record = await store.notifierState.get(id);
    return record?.kind === 'escalation' ? (record as EscalationRecord) : undefined;
  }

  async function save(record: EscalationRecord): Promise<void> {
    await store.notifierState.put(record);
  }

  /** People and receivers of the current step, resolved now: a schedule pages whoever is on duty at this moment. */
  async function targetsOf(record: EscalationRecord, at: number): Promise<{ people: Recipient[]; receivers: string[] }> {
    const config = deps.config();
    const schedules = await schedulesOf(config, (schedule, err) => log.error({ schedule, err: err.message }, 'on-call import sheet unusable; using the schedule without it'));
    const people = new Map<string, Recipient>();
    const receivers = new Set<string>();
    for (const target of record.steps[record.step]?.targets ?? []) {
      const parsed = parseTarget(target);
      if (!parsed) {
        log.error({ escalation: record.id, target }, 'unknown escalation target');
        continue;
      }
      if (parsed.kind === 'receiver') receivers.add(parsed.name);
      else if (parsed.kind === 'user') people.set(parsed.name, recipientFor(config, parsed.name));
      else {
        const schedule = schedules.get(parsed.name);
        const user = schedule && whoIsOnCall(schedule, at);
        if (user) people.set(user, recipientFor(config, user));
        else log.warn({ escalation: record.id, schedule: parsed.name }, schedule ? 'nobody is on call in the schedule' : 'no such schedule');
      }
    }
    return { people: [...people.values()], receivers: [...receivers] };
  }

  /** Tells the current step's targets, publishes its timeout, then marks the step done. */
  async function runStep(record: EscalationRecord): Promise<void> {
    const at = clock.now();
    const { people, receivers } = await targetsOf(record, at);
    // Naming the step makes each step and repeat a delivery of its own, while a replayed step stays the same one.
    const base: Notification = { ...record.notification, escalation: { id: record.id, step: record.step, loop: record.loop } };
    if (people.length || !receivers.length) {
      // With nobody resolved, the group's own receiver still hears it: a page to its default address beats none.
      if (!people.length) log.warn({ escalation: record.id, step: record.step }, 'escalation step resolved to no one; notifying the receiver without recipients');
      await deps.deliver(people.length ? { ...base, recipients: people } : withoutRecipients(base));
    }
    for (const receiver of receivers) await deps.deliver({ ...withoutRecipients(base), receiver });

    const due = record.dueAt as number;
    await bus.publish([envelope('escalation.step', `${record.id}:${record.loop}:${record.step}`, { escalationId: record.id, due }, record.id, at)], {
      delayMs: Math.max(0, due - at),
    });
    record.stepNotified = true;
    record.updatedAt = at;
    record.notified.push({ step: record.step, loop: record.loop, at, recipients: people.map((p) => p.name), receivers });
    await save(record);
    log.info({ escalation: record.id, group: record.groupKey, step: record.step, loop: record.loop, recipients: people.map((p) => p.name), receivers }, 'escalation step notified');
  }

  async function activeEscalations(): Promise<EscalationRecord[]> {
    const records = await store.notifierState.find({ where: { kind: 'escalation' }, range: { field: 'dueAt', from: 0 } });
    return (records as EscalationRecord[]).filter((r) => r.status === 'active');
  }

  async function stopWhere(matches: (r: EscalationRecord) => boolean, status: 'acknowledged' | 'resolved', by?: string): Promise<void> {
    for (const candidate of (await activeEscalations()).filter(matches)) {
      await exclusive(candidate.id, async () => {
        const record = await load(candidate.id);
        if (!record || record.status !== 'active') return;
        const at = clock.now();
        stop(record, status, at);
        if (by !== undefined) record.acknowledged = { by, at };
        await save(record);
        log.info({ escalation: record.id, group: record.groupKey, status, by }, 'escalation stopped');
      });
    }
  }

  return {
    async start(groupKey, policyName, notification) {
      const firstFiring = firstFiringAt(notification);
      if (firstFiring === undefined) return;
      const id = escalationId(groupKey, firstFiring);
      await exclusive(id, async () => {
        const existing = await load(id);
        if (existing) {
          if (existing.status !== 'active') return;
          existing.fingerprints = [...new Set([...existing.fingerprints, ...firingFingerprints(notification)])];
          // Later steps carry the group's latest alerts.
          existing.notification = notification;
          existing.updatedAt = clock.now();
          await save(existing);
          if (!existing.stepNotified) await runStep(existing);
          return;
        }
        const policy = deps.config().notifier.escalation_policies.find((p) => p.name === policyName);
        if (!policy) throw new Error(`no escalation policy named "${policyName}"`);
        const now = clock.now();
        const steps = policy.steps.map((s) => ({ targets: [...s.targets], timeoutMs: parseDuration(s.timeout) }));
        const record: EscalationRecord = {
          id,
          kind: 'escalation',
          groupKey,
          policy: policy.name,
          steps,
          repeat: policy.repeat,
          status: 'active',
          step: 0,
          loop: 0,
          dueAt: now + steps[0]!.timeoutMs,
          stepNotified: false,
          fingerprints: firingFingerprints(notification),
          notification,
          firstFiringAt: firstFiring,
          startedAt: now,
          updatedAt: now,
          notified: [],
        };
        await save(record);
        log.info({ escalation: id, group: groupKey, policy: policy.name }, 'escalation started');
        await runStep(record);
      });
    },

    acknowledge(fingerprint, by) {
      return stopWhere((r) => r.fingerprints.includes(fingerprint), 'acknowledged', by);
    },

    resolve(groupKey) {
      return stopWhere((r) => r.groupKey === groupKey, 'resolved');
    },

    async onStep({ escalationId: id, due }) {
      await exclusive(id, async () => {
        const record = await load(id);
        if (!record || record.status !== 'active') return;
        if (due === record.enteredBy && !record.stepNotified) {
          // Redelivery of the message that moved to this step, interrupted before its targets were told.
          await runStep(record);
          return;
        }
        if (due !== record.dueAt) {
          log.debug({ escalation: id, due, dueAt: record.dueAt }, 'stale escalation step ignored');
          return;
        }
        const now = clock.now();
        let step = record.step + 1;
        let loop = record.loop;
        if (step >= record.steps.length) {
          if (loop >= record.repeat) {
            stop(record, 'exhausted', now);
            await save(record);
            log.warn({ escalation: id, group: record.groupKey, policy: record.policy }, 'escalation exhausted without acknowledgement');
            return;
          }
          step = 0;
          loop += 1;
        }
        Object.assign(record, { step, loop, enteredBy: due, dueAt: now + record.steps[step]!.timeoutMs, stepNotified: false, updatedAt: now });
        await save(record);
        await runStep(record);
      });
    },
  };
}

function withoutRecipients(notification: Notification): Notification {
  const copy = { ...notification };
  delete copy.recipients;
  return copy;
}
