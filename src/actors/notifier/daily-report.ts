import type { ActorContext } from '../actor.js';
import { envelope, type AlertPayload, type MessagePayloads } from '../../bus/messages.js';
import { addDays, checkTimeZone, dateOf, parseClock, wallTime, zonedInstant } from '../../oncall/zoned-time.js';
import { formatDuration } from '../../series/duration.js';
import type { AlertRecord, IncidentRecord, NotifierStateRecord } from '../../store/store.js';
import type { Notification } from './notify.js';
import { externalURL } from './registry.js';

/**
 * The daily report (issue 6): at `notifier.daily_report.at` wall-clock time in its time zone, every
 * configured receiver gets the list of unresolved alerts and open incidents. The schedule is a chain of
 * `report.daily` delayed messages named after their due time, each with a `report` record in
 * store.notifierState that remembers which receivers have it, so neither a restart nor a redelivered
 * message sends a report twice or skips one.
 */

export interface DailyReportDeps extends Pick<ActorContext, 'store' | 'bus' | 'clock' | 'config' | 'logger'> {
  /** Hands a notification to the outbox (the notifier's delivery path). */
  deliver(notification: Notification): Promise<void>;
}

export interface DailyReport {
  /** Schedules the next report; idempotent, so call it on start and after every reload. */
  start(): Promise<void>;
  /** A `report.daily` message is due. */
  onDue(payload: MessagePayloads['report.daily']): Promise<void>;
}

export interface ReportRecord extends NotifierStateRecord {
  kind: 'report';
  due: number;
  status: 'scheduled' | 'sent';
  /** Receivers already handed this report. */
  sentTo: string[];
  /**
   * Fixed at the first attempt: the following report's due time, so a late redelivery cannot fork the
   * chain, and the report itself, so a redelivery hands over identical notifications (the outbox names
   * a delivery after its content) and every receiver reads the same report.
   */
  prepared?: { at: number; next: number; summary: string; description: string; generatorURL: string };
}

export const REPORT_ALERTNAME = 'VigilDailyReport';

/** Alert states the report lists: anything not yet resolved. */
const UNRESOLVED_STATES = ['firing', 'acknowledged', 'pending'] as const;
const CLOSED_INCIDENT_STATES: ReadonlySet<string> = new Set(['resolved', 'closed']);
/** Lines per section: beyond this the report says how many more there are. */
const MAX_LINES = 100;
/** Report records kept for the record before they are removed. */
const REPORT_RETENTION_MS = 30 * 86_400_000;

export const reportRecordId = (due: number): string => `report-${due}`;
export const reportMessageId = (due: number): string => `report-daily-${due}`;

/** The first instant strictly after `after` when the clock in `zone` shows `hhmm` (HH:MM; 24:00 is the next midnight). */
export function nextLocalTime(hhmm: string, zone: string, after: number): number {
  const minutes = parseClock(hhmm);
  if (minutes === undefined) throw new Error(`invalid time of day "${hhmm}" (expected HH:MM)`);
  checkTimeZone(zone);
  const today = dateOf(wallTime(after, zone));
  // Today's time may be past; tomorrow's is not (a DST change moves it by an hour at most).
  for (let days = 0; days < 3; days++) {
    const at = zonedInstant(addDays(today, days), minutes, zone);
    if (at > after) return at;
  }
  throw new Error(`no ${hhmm} in ${zone} within two days of ${new Date(after).toISOString()}`);
}

/** A report's contents as plain text: the summary line and one line per alert and incident. */
export function renderReport(alerts: readonly AlertRecord[], incidents: readonly IncidentRecord[], now: number): { summary: string; description: string } {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const age = (since: number) => formatDuration(Math.max(0, Math.floor((now - since) / 60_000) * 60_000));
  const since = (a: AlertRecord) => a.firedAt ?? a.activeAt ?? a.updatedAt;
  const capped = (lines: string[]) => (lines.length > MAX_LINES ? [...lines.slice(0, MAX_LINES), `… and ${lines.length - MAX_LINES} more`] : lines);

  const alertLines = [...alerts]
    .sort((a, b) => since(a) - since(b) || a.id.localeCompare(b.id))
    .map((a) => {
      const { alertname = a.rule, ...rest } = a.labels;
      const labels = Object.entries(rest)
        .sort(([x], [y]) => x.localeCompare(y))
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      const summary = a.annotations.summary ? `: ${a.annotations.summary}` : '';
      return `- [${a.state}] ${alertname} for ${age(since(a))}${labels ? ` {${labels}}` : ''}${summary}`;
    });
  const incidentLines = [...incidents]
    .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
    .map((i) => `- [${i.state}] ${i.title} for ${age(i.createdAt)} (${plural(i.alertIds.length, 'alert')})`);

  const counts = UNRESOLVED_STATES.map((s) => `${alerts.filter((a) => a.state === s).length} ${s}`).join(', ');
  const summary =
    alerts.length === 0 && incidents.length === 0
      ? 'Vigil daily report: nothing unresolved'
      : `Vigil daily report: ${plural(alerts.length, 'unresolved alert')}, ${plural(incidents.length, 'open incident')}`;
  const description = [
    `Unresolved alerts: ${alerts.length} (${counts})`,
    ...capped(alertLines),
    ...(incidents.length ? ['', `Open incidents: ${incidents.length}`, ...capped(incidentLines)] : []),
  ].join('\n');
  return { summary, description };
}

export function createDailyReport(deps: DailyReportDeps): DailyReport {
  const log = deps.logger.child({ component: 'daily-report' });
  const records = deps.store.notifierState;

  async function load(due: number): Promise<ReportRecord | undefined> {
    const record = await records.get(reportRecordId(due));
    return record?.kind === 'report' ? (record as ReportRecord) : undefined;
  }

  /** Records and publishes the report due then; both steps are no-ops when already done. */
  async function schedule(due: number): Promise<void> {
    const now = deps.clock.now();
    const record: ReportRecord = { id: reportRecordId(due), kind: 'report', due, dueAt: due, status: 'scheduled', sentTo: [], updatedAt: now };
    await records.insert(record);
    await deps.bus.publish([envelope('report.daily', reportMessageId(due), { due }, 'daily-report', now)], { delayMs: Math.max(0, due - now) });
  }

  async function unresolvedAlerts(): Promise<AlertRecord[]> {
    const byState = await Promise.all(UNRESOLVED_STATES.map((state) => deps.store.alerts.find({ where: { state } })));
    return byState.flat();
  }

  async function openIncidents(): Promise<IncidentRecord[]> {
    return (await deps.store.incidents.find()).filter((i) => !CLOSED_INCIDENT_STATES.has(i.state));
  }

  function notification(receiver: string, due: number, prepared: NonNullable<ReportRecord['prepared']>): Notification {
    const labels = { alertname: REPORT_ALERTNAME, severity: 'info' };
    const alert: AlertPayload = {
      fingerprint: reportRecordId(due),
      status: 'firing',
      labels,
      annotations: { summary: prepared.summary, description: prepared.description },
      startsAt: new Date(due).toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: prepared.generatorURL,
    };
    // One group per report: channels that deduplicate by group (PagerDuty, the outbox) see each day once.
    return { receiver, rule: REPORT_ALERTNAME, groupKey: reportMessageId(due), groupLabels: labels, raisedAt: prepared.at, alerts: [alert] };
  }

  return {
    async start() {
      const config = deps.config().notifier.daily_report;
      if (!config) return;
      let due: number;
      try {
        due = nextLocalTime(config.at, config.time_zone, deps.clock.now());
      } catch (err) {
        log.error({ err, time_zone: config.time_zone }, 'daily report not scheduled');
        return;
      }
      await schedule(due);
      log.info({ due: new Date(due).toISOString(), time_zone: config.time_zone }, 'daily report scheduled');
    },

    async onDue({ due }) {
      const config = deps.config().notifier.daily_report;
      if (!config) return;
      // A report scheduled under an earlier config (another time or zone) is dropped; start() scheduled the new one.
      if (nextLocalTime(config.at, config.time_zone, due - 1) !== due) {
        log.info({ due: new Date(due).toISOString() }, 'daily report no longer on the schedule: skipped');
        return;
      }
      const now = deps.clock.now();
      let record = (await load(due)) ?? { id: reportRecordId(due), kind: 'report', due, status: 'scheduled', sentTo: [], updatedAt: now };
      if (record.prepared === undefined) {
        const [alerts, incidents] = await Promise.all([unresolvedAlerts(), openIncidents()]);
        // After downtime, the next report is the next one from now: missed days are not sent in a burst.
        const next = nextLocalTime(config.at, config.time_zone, Math.max(due, now));
        const generatorURL = `${externalURL(deps.config()).replace(/\/+$/, '')}/api/v1/alerts`;
        record = { ...record, prepared: { at: now, next, ...renderReport(alerts, incidents, now), generatorURL }, updatedAt: now };
        await records.put(record);
      }
      const prepared = record.prepared as NonNullable<ReportRecord['prepared']>;
      if (record.status !== 'sent') {
        for (const receiver of config.receivers) {
          if (record.sentTo.includes(receiver)) continue;
          await deps.deliver(notification(receiver, due, prepared));
          record = { ...record, sentTo: [...record.sentTo, receiver], updatedAt: deps.clock.now() };
          await records.put(record);
        }
        const { dueAt: _done, ...sent } = record;
        await records.put({ ...sent, status: 'sent', updatedAt: deps.clock.now() });
        log.info({ due: new Date(due).toISOString(), receivers: record.sentTo, summary: prepared.summary }, 'daily report sent');
        await records.deleteMany({ where: { kind: 'report' }, range: { field: 'updatedAt', to: now - REPORT_RETENTION_MS } });
      }
      await schedule(prepared.next);
    },
  };
}
