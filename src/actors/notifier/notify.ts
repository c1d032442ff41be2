import type { AlertPayload, AlertStatus } from '../../bus/messages.js';

/** A person a notification is addressed to (from an on-call schedule or escalation step). */
export interface Recipient {
  name: string;
  email?: string;
  slack?: string;
  jira_account?: string;
}

/** What the outbox stores and a receiver is sent: one aggregation group's alerts for one receiver. */
export interface Notification {
  receiver: string;
  rule: string;
  /** The aggregation group (route + group_by values); PagerDuty's dedup key and Jira's issue are per group. */
  groupKey?: string;
  /** The group's labels (the group_by labels and their values). */
  groupLabels?: Record<string, string>;
  /** Set when this notification reports an acknowledgement rather than a state change. */
  acknowledged?: { by: string; at: number };
  /** People to address (on call, escalation); channels without addressing ignore it. */
  recipients?: Recipient[];
  /** Set when an escalation step sends it: which escalation, step and repeat (each step is its own delivery). */
  escalation?: { id: string; step: number; loop: number };
  /** When the alert manager raised it (the message ts): end-to-end latency is measured from here. */
  raisedAt: number;
  alerts: AlertPayload[];
}

export interface SendContext {
  /** Stable across attempts: receivers use it to drop duplicates. */
  deliveryId: string;
  /** Epoch ms of this attempt. */
  now: number;
}

/** `retryable` says whether the same notification may succeed later (receiver down, overloaded, slow). */
export type SendResult = { ok: true } | { ok: false; retryable: boolean; error: string };

/** One channel (webhook, log, later Slack, email...): sends a notification once, never retries itself. */
export interface Notifier {
  send(notification: Notification, ctx: SendContext): Promise<SendResult>;
}

/** A configured receiver: its notifier plus what the outbox records about it. */
export interface Integration {
  name: string;
  channel: string;
  /** Where it sends, safe to store and show: no credentials. */
  target: string;
  sendResolved: boolean;
  notifier: Notifier;
}

/** Firing if any alert is; a group notification is resolved only when all of its alerts are. */
export function notificationStatus(alerts: readonly AlertPayload[]): AlertStatus {
  return alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved';
}
