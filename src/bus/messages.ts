import type { Sample } from '../series/series.js';

/** Every actor's inbox. An actor reads only its own inbox and writes only messages. */
export const INBOXES = ['collector', 'anomaly-detector', 'predictive-analyzer', 'alert-manager', 'notifier', 'automation'] as const;
export type InboxName = (typeof INBOXES)[number];

/** Why a notification is being sent, in Alertmanager's vocabulary. */
export type AlertStatus = 'firing' | 'resolved';

/** One alert as it leaves the alert manager: Alertmanager's webhook alert shape plus Vigil's fields. */
export interface AlertPayload {
  fingerprint: string;
  status: AlertStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  value?: number;
}

/**
 * Message payloads by type. Version 1 of the wire format: add new types or optional fields,
 * never change the meaning of an existing one.
 */
export interface MessagePayloads {
  /** Samples pushed over the API, parsed but not yet checked for order: the collector admits them. */
  'samples.push': { source: string; samples: Sample[] };
  /** A batch of admitted samples from a source, in time order per series. */
  samples: { source: string; samples: Sample[] };
  /** A durable timer for one alert: fires at `deadline` (epoch ms) and is stale if the alert moved on. */
  'alert.timer': { fingerprint: string; deadline: number; timer: 'for' | 'keep_firing' };
  /** An alert changed state in a way receivers hear about. */
  'alert.notify': { alert: AlertPayload; rule: string; receiver?: string };
  /** A durable retry of one outbox delivery. */
  'delivery.retry': { deliveryId: string };
  /** A person acknowledged an alert (API or CLI): the alert manager records it. */
  'alert.ack': { fingerprint: string; by: string; comment?: string };
  /** The alert manager accepted an acknowledgement: escalations stop, PagerDuty and Jira follow. */
  'alert.acknowledged': { fingerprint: string; by: string; at: number; labels: Record<string, string> };
  /** A notification group's timer (group_wait, group_interval, repeat_interval) is due. */
  'group.flush': { groupKey: string; due: number };
  /** An escalation's step timeout is due. */
  'escalation.step': { escalationId: string; due: number };
  /** A ticket workflow (SLA reached, escalate unresolved ticket) is due. */
  'ticket.check': { ticketId: string; due: number };
  /** The daily report is due. */
  'report.daily': { due: number };
}

export type MessageType = keyof MessagePayloads;

export interface Envelope<T extends MessageType = MessageType> {
  /** Unique and stable: re-sending the same id is deduplicated, handlers use it for idempotency. */
  id: string;
  type: T;
  /** Ordering and partition key (e.g. the series id); messages with one key stay in order. */
  key?: string;
  /** Creation time, epoch ms: used for end-to-end latency. */
  ts: number;
  payload: MessagePayloads[T];
}

/** Which inboxes receive each message type. The only place that knows who listens to what. */
export const ROUTES: { [T in MessageType]: readonly InboxName[] } = {
  'samples.push': ['collector'],
  // The detector and analyzer inboxes join when those actors ship: an inbox nobody consumes only grows.
  samples: ['alert-manager'],
  'alert.timer': ['alert-manager'],
  'alert.notify': ['notifier'],
  'delivery.retry': ['notifier'],
  'alert.ack': ['alert-manager'],
  'alert.acknowledged': ['notifier'],
  'group.flush': ['notifier'],
  'escalation.step': ['notifier'],
  'ticket.check': ['notifier'],
  'report.daily': ['notifier'],
};

export function envelope<T extends MessageType>(type: T, id: string, payload: MessagePayloads[T], key?: string, ts = Date.now()): Envelope<T> {
  return key === undefined ? { id, type, ts, payload } : { id, type, key, ts, payload };
}
