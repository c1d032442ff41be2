import { seriesId, type Sample } from '../series/series.js';

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

export type Severity = 'info' | 'warning' | 'critical';

/**
 * One verdict of the anomaly detector on one point. The detector sends `anomalous` events for points
 * whose calibrated score reaches its event threshold, and one `normal` event when a series that was
 * anomalous has settled, so anomaly rules can resolve.
 */
export interface AnomalyEvent {
  state: 'anomalous' | 'normal';
  series: string;
  name: string;
  labels: Record<string, string>;
  t: number;
  value: number;
  /** Calibrated anomaly likelihood in [0, 1]. */
  score: number;
  severity: Severity;
  /** What the model expected at `t`: a point and a band. */
  expected: { value: number; lower: number; upper: number };
  /** Each contributing detector family and its own score in [0, 1]. */
  detectors: Record<string, number>;
  /** A hint for the responder, from the per-metric hints in config. */
  recommendation?: string;
  /** Multivariate verdicts: the resource (group and grouping label value) and the member series scored together. */
  resource?: string;
  members?: string[];
}

/** The predictive analyzer's latest forecast for one series watched by one `predict` rule. */
export interface PredictionEvent {
  rule: string;
  series: string;
  name: string;
  labels: Record<string, string>;
  /** Time of the last sample the forecast used, and its value. */
  t: number;
  value: number;
  threshold: number;
  direction: 'above' | 'below';
  /** Expected crossing and its interval (epoch ms); absent when no crossing is expected within the horizon. */
  breach?: { at: number; earliest: number; latest: number };
  /** Probability in [0, 1] that the series crosses within the rule's horizon. */
  confidence: number;
  /** How fast the series moves, in its own unit per hour. */
  ratePerHour: number;
  /** Alert no later than this: the start of an unattended window that contains the breach. */
  notifyBy?: number;
}

/**
 * A pre-emptive risk from a precursor rule: a resource shows the sustained pattern that preceded earlier
 * incidents. One `raised` event when the score reaches the rule's minimum, one `cleared` when it ends.
 */
export interface RiskEvent {
  state: 'raised' | 'cleared';
  rule: string;
  /** The resource's labels (the rule's group_by). */
  labels: Record<string, string>;
  /** In [0, 1]: how long the pattern has held, as a share of the rule's `for`. */
  score: number;
  /** Each condition as it held, e.g. `cpu_usage{instance="a"} > 90 (now 95.2)`. */
  reasons: string[];
  /** When the pattern began to hold (epoch ms). */
  since: number;
  t: number;
  severity: 'info' | 'warning' | 'critical';
}

/** The resource a risk concerns as one key: the partition key of its events and the alert manager's key for its alert. */
export const riskKey = (event: Pick<RiskEvent, 'rule' | 'labels'>) => seriesId(event.rule, event.labels);

/** Something Vigil itself noticed (a runbook failed, a model could not be trained); rules can alert on it. */
export interface SystemEvent {
  source: InboxName | 'daemon';
  /** Dotted event kind, e.g. `runbook.failed`, `model.training_failed`. */
  kind: string;
  severity: Severity;
  labels: Record<string, string>;
  message: string;
  at: number;
}

/** A runbook execution's durable timer, or a runbook's next cron tick. */
export type RunbookTimer =
  | { timer: 'approval' | 'verify' | 'verify_check'; executionId: string; deadline: number }
  | { timer: 'cron'; runbook: string; path: string; deadline: number };

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
  'alert.timer': { fingerprint: string; deadline: number; timer: 'for' | 'keep_firing' | 'close' };
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
  /** Anomaly verdicts, batched per partition of the series they concern. */
  anomaly: { events: AnomalyEvent[] };
  /** Forecasts for series watched by `predict` rules, batched per partition. */
  prediction: { predictions: PredictionEvent[] };
  /** Precursor risks raised or cleared by the predictive analyzer, batched per partition of their `riskKey`. */
  risk: { events: RiskEvent[] };
  /** One event raised by Vigil itself. */
  'system.event': SystemEvent;
  /** A runbook timer is due (approval or verification deadline, verification re-check, cron tick). */
  'runbook.timer': RunbookTimer;
  /** A person approved or denied a run waiting for approval (API or CLI). */
  'runbook.approve': { executionId: string; by: string; comment?: string };
  'runbook.deny': { executionId: string; by: string; comment?: string };
  /** The anomaly detector's periodic tick for one partition: persist models, retrain, settle quiet series. */
  'anomaly.tick': { partition: number; due: number };
  /** Retrain one series' model (or every model of the receiving partition when `series` is absent). */
  'model.retrain': { series?: string; partition?: number; by: string };
  /** A person's workflow request on an alert (API or CLI): the alert manager applies and records it. */
  'alert.workflow': { fingerprint: string; by: string; action: 'assign' | 'comment' | 'resolve'; text?: string };
  /** The alert manager's evaluation tick for rules that must notice time passing (absence, windows, Prometheus groups). */
  'rules.tick': { due: number };
  /** A silence was added or expired through the API: the alert manager applies it now, not at its next tick. */
  'silences.changed': { id: string; change: 'added' | 'expired'; by: string };
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
  samples: ['alert-manager', 'anomaly-detector', 'predictive-analyzer', 'automation'],
  'alert.timer': ['alert-manager'],
  'alert.notify': ['notifier', 'automation'],
  'delivery.retry': ['notifier'],
  'alert.ack': ['alert-manager'],
  'alert.acknowledged': ['notifier'],
  'group.flush': ['notifier'],
  'escalation.step': ['notifier'],
  'ticket.check': ['notifier'],
  'report.daily': ['notifier'],
  anomaly: ['alert-manager'],
  prediction: ['alert-manager'],
  risk: ['alert-manager'],
  'system.event': ['alert-manager'],
  'runbook.timer': ['automation'],
  'runbook.approve': ['automation'],
  'runbook.deny': ['automation'],
  'anomaly.tick': ['anomaly-detector'],
  'model.retrain': ['anomaly-detector'],
  'alert.workflow': ['alert-manager'],
  'rules.tick': ['alert-manager'],
  'silences.changed': ['alert-manager'],
};

/** Key of the alert manager's messages about every alert (ticks, silences): one partition evaluates them. */
export const ALERT_MANAGER_GLOBAL_KEY = 'rules.tick';

export function envelope<T extends MessageType>(type: T, id: string, payload: MessagePayloads[T], key?: string, ts = Date.now()): Envelope<T> {
  return key === undefined ? { id, type, ts, payload } : { id, type, key, ts, payload };
}
