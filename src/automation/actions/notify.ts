import { envelope, type AlertPayload, type Envelope } from '../../bus/messages.js';

/** Notifications sent by runbooks carry this rule prefix, so the automation actor never triggers on its own messages. */
export const RUNBOOK_RULE_PREFIX = 'runbook/';

const NO_END = '0001-01-01T00:00:00Z';

export interface RunbookNotification {
  /** Message id and alert fingerprint: the same notification sent twice is deduplicated. */
  id: string;
  runbook: string;
  receiver?: string;
  summary: string;
  severity: string;
  /** The run's target, so routes and templates can tell runs apart. */
  instance?: string;
  now: number;
}

/** An `alert.notify` the notifier routes like any alert (straight to `receiver` when given). */
export function notificationMessage(n: RunbookNotification): Envelope<'alert.notify'> {
  const alert: AlertPayload = {
    fingerprint: n.id,
    status: 'firing',
    labels: { alertname: 'VigilRunbook', runbook: n.runbook, severity: n.severity, ...(n.instance ? { instance: n.instance } : {}) },
    annotations: { summary: n.summary },
    startsAt: new Date(n.now).toISOString(),
    endsAt: NO_END,
    generatorURL: '',
  };
  return envelope('alert.notify', n.id, { alert, rule: `${RUNBOOK_RULE_PREFIX}${n.runbook}`, ...(n.receiver ? { receiver: n.receiver } : {}) }, n.id, n.now);
}
