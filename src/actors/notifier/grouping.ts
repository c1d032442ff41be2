import { createHash } from 'node:crypto';
import type { AlertPayload } from '../../bus/messages.js';
import type { TimeIntervalConfig } from '../../config/schema.js';
import type { NotifierStateRecord } from '../../store/store.js';
import { GROUP_BY_ALL, type RouteSettings } from './routing/route-tree.js';
import { inAnyTimeInterval } from '../../oncall/time-interval.js';

/**
 * Aggregation groups, as in Alertmanager: the alerts one route sends together (same group_by values),
 * notified first `group_wait` after the group appears, then at most every `group_interval` when it
 * changes, and again every `repeat_interval` while it fires. The functions here are pure: the notifier
 * loads a group, asks what to do at a time, stores the answer and carries it out.
 */

export interface GroupedAlert {
  alert: AlertPayload;
  rule: string;
  /** The `alert.notify` message's ts: the newest change's is the notification's raisedAt. */
  raisedAt: number;
}

/** One aggregation group in store.notifierState. */
export interface GroupRecord extends NotifierStateRecord {
  kind: 'group';
  /** Route key + group labels (`{}/{team="db"}:{alertname="DiskFull"}`): PagerDuty dedup key, Jira issue. */
  groupKey: string;
  groupLabels: Record<string, string>;
  /** The route's settings when the group last heard of an alert; the live route wins after a reload. */
  route: RouteSettings;
  alerts: Record<string, GroupedAlert>;
  /** The next flush; a `group.flush` for any other due time is stale. A group always has one. */
  dueAt: number;
  createdAt: number;
  /** Due time of the last completed flush: a redelivered copy only finishes what it left undone. */
  lastFlushAt?: number;
  /** What named the last completed flush's deliveries (groupDeliverySource), to find them again. */
  lastFlushSource?: string;
  /** First notification that reported firing alerts: escalation starts then. */
  firstNotifiedAt?: number;
  lastNotifiedAt?: number;
  /** Per receiver, the hash of the alert statuses it was last sent: unchanged means nothing to say. */
  sent: Record<string, string>;
}

/** Store id of a group: hashed, because group keys hold quotes, colons and braces. */
export function groupId(groupKey: string): string {
  return `grp-${createHash('sha256').update(groupKey).digest('hex').slice(0, 32)}`;
}

/** The delayed `group.flush` for a group and due time: deterministic, so publishing it twice sends one. */
export function flushMessageId(group: string, due: number): string {
  return `${group}-flush-${due}`;
}

/** One delivery per group flush (or acknowledgement) and receiver. */
export function groupDeliverySource(group: string, occasion: number | string): string {
  return `${group}-${occasion}`;
}

function labelsText(labels: Readonly<Record<string, string>>): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')}}`;
}

/** The group an alert with these labels joins on a route: the route's key plus its group_by labels' values. */
export function groupOf(route: Pick<RouteSettings, 'key' | 'groupBy'>, labels: Readonly<Record<string, string>>): { groupKey: string; groupLabels: Record<string, string> } {
  const names = route.groupBy === GROUP_BY_ALL ? Object.keys(labels) : route.groupBy;
  // Alertmanager leaves out group_by labels the alert does not have.
  const groupLabels = Object.fromEntries(names.filter((n) => labels[n] !== undefined).map((n) => [n, labels[n] as string]));
  return { groupKey: `${route.key}:${labelsText(groupLabels)}`, groupLabels };
}

/**
 * Adds an alert's new state to its group (creating the group), or says there is nothing to do:
 * `undefined` for a resolution nobody heard the firing of. `changed` is false for a redelivered or
 * older message: the group's timers stay as they are.
 */
export function addAlert(
  group: GroupRecord | undefined,
  target: { groupKey: string; groupLabels: Record<string, string>; route: RouteSettings },
  entry: GroupedAlert,
  now: number,
): { group: GroupRecord; changed: boolean } | undefined {
  const { fingerprint, status } = entry.alert;
  if (!group) {
    if (status === 'resolved') return undefined;
    const created: GroupRecord = {
      id: groupId(target.groupKey),
      kind: 'group',
      groupKey: target.groupKey,
      groupLabels: target.groupLabels,
      route: target.route,
      alerts: { [fingerprint]: entry },
      dueAt: now + target.route.groupWaitMs,
      createdAt: now,
      updatedAt: now,
      sent: {},
    };
    return { group: created, changed: true };
  }
  const previous = group.alerts[fingerprint];
  if (!previous && status === 'resolved') return { group, changed: false };
  if (previous && previous.raisedAt > entry.raisedAt) return { group, changed: false };
  const changed = previous?.alert.status !== status;
  if (!changed && previous?.raisedAt === entry.raisedAt) return { group, changed: false };
  // A change after a flush waits out group_interval from that flush (or goes now, if it has passed);
  // before the first flush, group_wait is still running and the change joins it. A flush's due time
  // names its deliveries, so two flushes never share one: with group_interval 0s the next is 1 ms later.
  const nextAllowed = group.lastFlushAt === undefined ? undefined : group.lastFlushAt + Math.max(1, target.route.groupIntervalMs);
  const dueAt = changed && nextAllowed !== undefined ? Math.min(group.dueAt, Math.max(now, nextAllowed)) : group.dueAt;
  return { group: { ...group, route: target.route, alerts: { ...group.alerts, [fingerprint]: entry }, dueAt, updatedAt: now }, changed };
}

/**
 * Whether a route's conditions let its group notify at `at`: inside an active interval (if any), outside
 * every mute interval, and with at least `min_firing` firing alerts.
 */
export function routeApplies(route: RouteSettings, group: Pick<GroupRecord, 'alerts'>, intervals: readonly TimeIntervalConfig[], at: number): boolean {
  if (route.activeTimeIntervals.length && !inAnyTimeInterval(route.activeTimeIntervals, intervals, at)) return false;
  if (inAnyTimeInterval(route.muteTimeIntervals, intervals, at)) return false;
  return route.minFiring === undefined || firingCount(group) >= route.minFiring;
}

function firingCount(group: Pick<GroupRecord, 'alerts'>): number {
  return Object.values(group.alerts).filter((a) => a.alert.status === 'firing').length;
}

function statusHash(alerts: readonly AlertPayload[]): string {
  return createHash('sha256')
    .update(alerts.map((a) => `${a.fingerprint}=${a.status}`).join('\n'))
    .digest('hex')
    .slice(0, 16);
}

function byStartThenFingerprint(a: GroupedAlert, b: GroupedAlert): number {
  return a.alert.startsAt.localeCompare(b.alert.startsAt) || a.alert.fingerprint.localeCompare(b.alert.fingerprint);
}

/** A receiver's part of a flush: the alerts to send it and the hash to remember. */
export interface PlannedNotification {
  receiver: string;
  rule: string;
  raisedAt: number;
  alerts: AlertPayload[];
  hash: string;
}

export interface FlushPlan {
  notifications: PlannedNotification[];
  /** The group after the flush, or undefined when it is over (every alert resolved) and is deleted. */
  next: GroupRecord | undefined;
  /** This flush is the group's first to report firing alerts (escalation starts). */
  firstFiring: boolean;
}

/**
 * What a due flush does. `applies` is routeApplies at the due time; `receivers` says which receivers
 * want resolved alerts. A receiver hears of the group when its alerts changed since it last heard, or
 * when repeat_interval has passed and something still fires; never about a group it was never told fired.
 */
export function planFlush(group: GroupRecord, route: RouteSettings, applies: boolean, receivers: readonly { name: string; sendResolved: boolean }[], due: number): FlushPlan {
  const all = Object.values(group.alerts).sort(byStartThenFingerprint);
  const firing = all.filter((a) => a.alert.status === 'firing');
  // Conditions hold back firing news; a receiver once told of firing alerts always hears they all
  // resolved, so no page or ticket stays open because the night began in between.
  const sendable = applies || (firing.length === 0 && group.firstNotifiedAt !== undefined);
  const repeatDue = firing.length > 0 && group.lastNotifiedAt !== undefined && due >= group.lastNotifiedAt + route.repeatIntervalMs;

  const notifications: PlannedNotification[] = [];
  if (sendable) {
    for (const { name, sendResolved } of receivers) {
      const included = sendResolved ? all : firing;
      const told = group.sent[name] !== undefined;
      if (!included.length || (!told && !included.some((a) => a.alert.status === 'firing'))) continue;
      const alerts = included.map((a) => a.alert);
      const hash = statusHash(alerts);
      if (hash === group.sent[name] && !repeatDue) continue;
      const newest = included.reduce((a, b) => (b.raisedAt > a.raisedAt ? b : a));
      // A pure repeat is raised by the timer; a change by the message that brought it.
      notifications.push({ receiver: name, rule: newest.rule, raisedAt: hash === group.sent[name] ? due : newest.raisedAt, alerts, hash });
    }
  }
  const notified = notifications.length > 0;
  const firstFiring = notified && firing.length > 0 && group.firstNotifiedAt === undefined;
  if (!firing.length) return { notifications, next: undefined, firstFiring };

  const lastNotifiedAt = notified ? due : group.lastNotifiedAt;
  const next: GroupRecord = {
    ...group,
    route,
    // Resolved alerts have been reported (or nobody wants them): forget them, as Alertmanager does.
    alerts: sendable ? Object.fromEntries(firing.map((a) => [a.alert.fingerprint, a])) : group.alerts,
    sent: { ...group.sent, ...Object.fromEntries(notifications.map((n) => [n.receiver, n.hash])) },
    lastFlushAt: due,
    ...(lastNotifiedAt !== undefined ? { lastNotifiedAt } : {}),
    ...(firstFiring ? { firstNotifiedAt: due } : {}),
    // Held back by its conditions, the group looks again every group_interval (the night may end).
    dueAt: applies ? (lastNotifiedAt ?? due) + route.repeatIntervalMs : due + route.groupIntervalMs,
    updatedAt: due,
  };
  return { notifications, next, firstFiring };
}
