import { assign, emit, enqueueActions, setup } from 'xstate';
import type { Suppression } from './suppressor.js';

/**
 * The lifecycle of one alert: inactive → pending (condition true, waiting out `for`) → firing →
 * resolved → closed, with acknowledged (a person took it) and suppressed (a silence, maintenance window
 * or inhibition mutes it) on the way, and back to pending/firing when the condition returns.
 *
 * - acknowledged behaves as firing (same conditions, same keep_firing_for) but tells receivers someone
 *   is on it, so escalations stop.
 * - suppressed remembers the state it muted and returns to it on `unsuppress`; while suppressed the
 *   condition still counts (a pending alert fires silently; a clear resolves), and an alert that fired
 *   while suppressed notifies when the suppression ends. A condition that becomes true while its labels
 *   are already muted (the event carries the suppression) enters suppressed directly, so it never pages.
 * - resolved is left for closed after the retention (`close` timer), so resolved alerts leave memory.
 * - `assign` and `comment` are accepted in every state and only add to the history.
 *
 * Pure: no I/O and no clock. Time comes in on events (sample time, a timer's deadline, a request's time),
 * and every effect leaves as an emitted event the actor shell wires in with `actor.on`:
 * - `transition`: a history entry, for every state change; `note`: a comment or assignment;
 * - `notify`: receivers must hear about it (→ firing, → resolved once they heard of the firing);
 * - `acknowledged`: a person took the alert (firing → acknowledged);
 * - `refused`: a person's request does not apply in this state; nothing changed;
 * - `schedule`: deliver a `timer` event at `deadline`. Timers are durable bus messages, not `after`
 *   (xstate#5331: `after` timers are not restored from snapshots), so a timer can arrive late, twice or
 *   after the alert moved on: guards accept only the deadline stored in context.
 */

export const ALERT_STATES = ['inactive', 'pending', 'firing', 'acknowledged', 'suppressed', 'resolved', 'closed'] as const;
export type AlertState = (typeof ALERT_STATES)[number];
/** States whose alerts stay in memory (and are restored after a restart). */
export const LIVE_STATES: readonly AlertState[] = ['pending', 'firing', 'acknowledged', 'suppressed', 'resolved'];
export type TimerKind = 'for' | 'keep_firing' | 'close';
type Mutable = 'pending' | 'firing' | 'acknowledged';

/** The durations of the rule as evaluated now, carried on each condition event so a reload applies at once. */
export interface AlertTiming {
  forMs: number;
  keepFiringForMs: number;
}

export interface AlertContext {
  /** Time of the last state change. Condition events older than it are stale (redelivered or overtaken). */
  since: number;
  activeAt?: number;
  firedAt?: number;
  resolvedAt?: number;
  /** Receivers were told this activation fires (a suppressed alert may fire without telling them). */
  notified?: boolean;
  /** While pending: the alert fires at this time unless the condition clears first. */
  forDeadline?: number;
  /** While firing with a cleared condition: the alert resolves at this time unless the condition returns. */
  keepFiringDeadline?: number;
  /** While resolved: the alert closes at this time. */
  closeDeadline?: number;
  /** How long a resolved alert is kept before it closes. */
  closeAfterMs: number;
  value?: number;
  /** Who acknowledged this activation, and when (wall-clock time of the request); cleared when it activates again. */
  acknowledgedBy?: string;
  acknowledgedAt?: number;
  /** While suppressed: the state it returns to, and what suppresses it. */
  suppressedFrom?: Mutable;
  suppressedBy?: string;
  suppressionReason?: string;
  assignee?: string;
}

type Request = { at: number; by: string; comment?: string };

export type AlertEvent =
  | { type: 'condition.true'; at: number; value: number; timing: AlertTiming; suppression?: Suppression }
  | { type: 'condition.false'; at: number; value: number; timing: AlertTiming }
  | { type: 'timer'; timer: TimerKind; deadline: number }
  | { type: 'rule.removed'; at: number }
  | ({ type: 'ack' } & Request)
  | ({ type: 'resolve' } & Request)
  | { type: 'assign'; at: number; by: string; assignee: string }
  | { type: 'comment'; at: number; by: string; text: string }
  | ({ type: 'suppress'; at: number } & Suppression)
  | { type: 'unsuppress'; at: number };

export interface AlertTransition {
  type: 'transition';
  from: AlertState;
  to: AlertState;
  at: number;
  /** `system`, the person who caused it, or what suppressed it. */
  by: string;
  reason: string;
}

export type AlertEmitted =
  | AlertTransition
  | { type: 'note'; action: 'comment' | 'assign'; at: number; by: string; text: string }
  | { type: 'notify'; status: 'firing' | 'resolved' }
  | { type: 'schedule'; timer: TimerKind; deadline: number }
  | { type: 'acknowledged'; by: string; at: number }
  | { type: 'refused'; action: string; by: string; reason: string };

/** When an event happened: a timer happens at its deadline, whenever it is delivered. */
function eventTime(event: AlertEvent): number {
  return event.type === 'timer' ? event.deadline : event.at;
}
const valueOf = (event: AlertEvent, fallback: number | undefined) => ('value' in event ? event.value : fallback);
const requestOf = (event: AlertEvent) => event as Extract<AlertEvent, { type: 'ack' | 'resolve' }>;
const suppressionOf = (event: AlertEvent) => (event.type === 'condition.true' ? event.suppression : undefined);

export const alertMachine = setup({
  types: {
    context: {} as AlertContext,
    events: {} as AlertEvent,
    emitted: {} as AlertEmitted,
    input: {} as { closeAfterMs: number },
  },
  guards: {
    isStale: ({ context, event }) => eventTime(event) < context.since,
    hasNoForDuration: ({ event }) => 'timing' in event && event.timing.forMs === 0,
    arrivesMuted: ({ event }) => suppressionOf(event) !== undefined,
    heldForDuration: ({ context, event }) => context.forDeadline !== undefined && eventTime(event) >= context.forDeadline,
    isForTimerDue: ({ context, event }) => event.type === 'timer' && event.timer === 'for' && event.deadline === context.forDeadline,
    isKeepFiringTimerDue: ({ context, event }) => event.type === 'timer' && event.timer === 'keep_firing' && event.deadline === context.keepFiringDeadline,
    isCloseTimerDue: ({ context, event }) => event.type === 'timer' && event.timer === 'close' && event.deadline === context.closeDeadline,
    keepsFiringAfterClear: ({ event }) => 'timing' in event && event.timing.keepFiringForMs > 0,
    isKeepingFiring: ({ context }) => context.keepFiringDeadline !== undefined,
    keepFiringElapsed: ({ context, event }) => context.keepFiringDeadline !== undefined && eventTime(event) >= context.keepFiringDeadline,
    mutedPending: ({ context }) => context.suppressedFrom === 'pending',
    mutedFiring: ({ context }) => context.suppressedFrom === 'firing',
    mutedAcknowledged: ({ context }) => context.suppressedFrom === 'acknowledged',
  },
  actions: {
    activate: assign(({ context, event }) => {
      const at = eventTime(event);
      return {
        since: at,
        activeAt: at,
        firedAt: undefined,
        resolvedAt: undefined,
        notified: false,
        forDeadline: 'timing' in event ? at + event.timing.forMs : undefined,
        keepFiringDeadline: undefined,
        closeDeadline: undefined,
        value: valueOf(event, context.value),
        acknowledgedBy: undefined,
        acknowledgedAt: undefined,
      };
    }),
    deactivate: assign(({ event }) => ({ since: eventTime(event), activeAt: undefined, forDeadline: undefined })),
    // Keeps the firing time of an activation that fired while suppressed.
    fire: assign(({ context, event }) => ({ since: eventTime(event), firedAt: context.firedAt ?? eventTime(event), forDeadline: undefined })),
    notifyFiringOnce: enqueueActions(({ context, enqueue }) => {
      if (context.notified) return;
      enqueue.assign({ notified: true });
      enqueue.emit({ type: 'notify', status: 'firing' });
    }),
    resolve: enqueueActions(({ context, event, enqueue }) => {
      const at = eventTime(event);
      const closeDeadline = at + context.closeAfterMs;
      enqueue.assign({ since: at, resolvedAt: at, keepFiringDeadline: undefined, forDeadline: undefined, closeDeadline, suppressedFrom: undefined, suppressedBy: undefined, suppressionReason: undefined });
      // Receivers that never heard of the firing (it fired while suppressed) need no resolution either.
      if (context.notified) enqueue.emit({ type: 'notify', status: 'resolved' });
      enqueue.emit({ type: 'schedule', timer: 'close', deadline: closeDeadline });
    }),
    close: assign({ closeDeadline: undefined }),
    recordValue: assign({ value: ({ context, event }) => valueOf(event, context.value) }),
    startKeepFiring: assign(({ event }) => ({ keepFiringDeadline: 'timing' in event ? eventTime(event) + event.timing.keepFiringForMs : undefined })),
    stopKeepFiring: assign({ keepFiringDeadline: undefined }),
    scheduleForTimer: emit(({ context }) => ({ type: 'schedule', timer: 'for', deadline: context.forDeadline as number }) as const),
    scheduleKeepFiringTimer: emit(({ context }) => ({ type: 'schedule', timer: 'keep_firing', deadline: context.keepFiringDeadline as number }) as const),
    recordTransition: emit(({ event }, params: { from: AlertState; to: AlertState; reason: string }) => ({
      type: 'transition' as const,
      ...params,
      at: eventTime(event),
      by: 'system',
    })),
    /** A person's request moved the alert: the history names them and their comment. */
    recordRequest: emit(({ event }, params: { from: AlertState; to: AlertState; reason: string }) => {
      const r = requestOf(event);
      return { type: 'transition' as const, from: params.from, to: params.to, at: r.at, by: r.by, reason: r.comment?.trim() || params.reason };
    }),
    // Acknowledging is not a condition change: `since` stays, so samples keep being judged against the firing time.
    acknowledge: assign(({ event }) => ({ acknowledgedBy: requestOf(event).by, acknowledgedAt: requestOf(event).at })),
    announceAcknowledgement: emit(({ event }) => ({ type: 'acknowledged' as const, by: requestOf(event).by, at: requestOf(event).at })),
    refuse: emit(({ context, event }, params: { state: AlertState }) => {
      const r = requestOf(event);
      const reason =
        event.type !== 'ack' ? `the alert is ${params.state}` : params.state === 'acknowledged' ? `already acknowledged by ${context.acknowledgedBy ?? 'someone'}` : `the alert is ${params.state}, not firing`;
      return { type: 'refused' as const, action: event.type, by: r.by, reason };
    }),
    suppress: assign(({ event }, params: { from: Mutable }) => {
      const e = event as Extract<AlertEvent, { type: 'suppress' }>;
      return { suppressedFrom: params.from, suppressedBy: e.by, suppressionReason: e.reason };
    }),
    recordSuppression: emit(({ event }, params: { from: Mutable }) => {
      const e = event as Extract<AlertEvent, { type: 'suppress' }>;
      return { type: 'transition' as const, from: params.from, to: 'suppressed' as const, at: e.at, by: e.by, reason: e.reason };
    }),
    /** Activated while muted: pending (its `for` timer runs) or, without `for`, fired silently; either way no page. */
    activateMuted: enqueueActions(({ context, event, enqueue }, params: { from: 'inactive' | 'resolved' }) => {
      const suppression = suppressionOf(event) as Suppression;
      const at = eventTime(event);
      const firesNow = context.forDeadline === at;
      enqueue.assign({
        suppressedFrom: firesNow ? 'firing' : 'pending',
        suppressedBy: suppression.by,
        suppressionReason: suppression.reason,
        ...(firesNow ? { firedAt: at, forDeadline: undefined } : {}),
      });
      if (!firesNow) enqueue.emit({ type: 'schedule', timer: 'for', deadline: context.forDeadline as number });
      enqueue.emit({ type: 'transition', from: params.from, to: 'suppressed', at, by: suppression.by, reason: `condition met; ${suppression.reason}` });
    }),
    unmute: assign({ suppressedFrom: undefined, suppressedBy: undefined, suppressionReason: undefined }),
    /** A pending alert whose `for` elapsed while suppressed fires silently; it notifies when unsuppressed. */
    fireSilently: assign(({ context, event }) => ({ suppressedFrom: 'firing' as const, firedAt: context.firedAt ?? eventTime(event), forDeadline: undefined })),
    note: enqueueActions(({ event, enqueue }) => {
      if (event.type === 'assign') {
        enqueue.assign({ assignee: event.assignee });
        enqueue.emit({ type: 'note', action: 'assign', at: event.at, by: event.by, text: event.assignee });
      } else if (event.type === 'comment') {
        enqueue.emit({ type: 'note', action: 'comment', at: event.at, by: event.by, text: event.text });
      }
    }),
  },
}).createMachine({
  id: 'alert',
  initial: 'inactive',
  context: ({ input }) => ({ since: 0, closeAfterMs: input.closeAfterMs }),
  on: { assign: { actions: 'note' }, comment: { actions: 'note' } },
  states: {
    inactive: {
      on: { 'condition.true': becomeActive('inactive'), ack: refuse('inactive'), resolve: refuse('inactive') },
    },
    pending: {
      on: {
        'condition.true': [
          { guard: 'isStale' },
          { guard: 'heldForDuration', target: 'firing', actions: ['recordValue', transition('pending', 'firing', 'condition held for the for duration')] },
          { actions: 'recordValue' },
        ],
        'condition.false': [
          { guard: 'isStale' },
          { target: 'inactive', actions: ['recordValue', 'deactivate', transition('pending', 'inactive', 'condition cleared before the for duration')] },
        ],
        timer: { guard: 'isForTimerDue', target: 'firing', actions: transition('pending', 'firing', 'condition held for the for duration') },
        'rule.removed': { target: 'inactive', actions: ['deactivate', transition('pending', 'inactive', 'rule removed')] },
        suppress: suppress('pending'),
        ack: refuse('pending'),
        resolve: refuse('pending'),
      },
    },
    firing: {
      entry: ['fire', 'notifyFiringOnce'],
      on: {
        ...whileFiring('firing'),
        ack: { target: 'acknowledged', actions: ['acknowledge', { type: 'recordRequest', params: { from: 'firing', to: 'acknowledged', reason: 'acknowledged' } }, 'announceAcknowledgement'] },
      },
    },
    // Entered without `fire`: receivers already know, and the alert keeps its firing time.
    acknowledged: {
      on: { ...whileFiring('acknowledged'), ack: refuse('acknowledged') },
    },
    suppressed: {
      on: {
        'condition.true': [
          { guard: 'isStale' },
          { guard: 'heldForDuration', actions: ['recordValue', 'fireSilently'] },
          { actions: ['recordValue', 'stopKeepFiring'] },
        ],
        timer: { guard: 'isForTimerDue', actions: 'fireSilently' },
        'condition.false': [
          { guard: 'isStale' },
          { guard: 'mutedPending', target: 'inactive', actions: ['recordValue', 'deactivate', 'unmute', transition('suppressed', 'inactive', 'condition cleared before the for duration')] },
          // Muted anyway: keep_firing_for would only delay a resolution nobody hears of.
          { target: 'resolved', actions: ['recordValue', transition('suppressed', 'resolved', 'condition cleared')] },
        ],
        unsuppress: [
          { guard: 'mutedPending', target: 'pending', actions: ['unmute', transition('suppressed', 'pending', 'suppression ended')] },
          { guard: 'mutedAcknowledged', target: 'acknowledged', actions: ['unmute', transition('suppressed', 'acknowledged', 'suppression ended')] },
          { target: 'firing', actions: ['unmute', transition('suppressed', 'firing', 'suppression ended')] },
        ],
        resolve: { target: 'resolved', actions: { type: 'recordRequest', params: { from: 'suppressed', to: 'resolved', reason: 'resolved by hand' } } },
        'rule.removed': [
          { guard: 'mutedPending', target: 'inactive', actions: ['deactivate', 'unmute', transition('suppressed', 'inactive', 'rule removed')] },
          { target: 'resolved', actions: transition('suppressed', 'resolved', 'rule removed') },
        ],
        ack: refuse('suppressed'),
      },
    },
    resolved: {
      entry: 'resolve',
      on: {
        'condition.true': becomeActive('resolved'),
        timer: { guard: 'isCloseTimerDue', target: 'closed', actions: ['close', transition('resolved', 'closed', 'retention elapsed')] },
        ack: refuse('resolved'),
        resolve: refuse('resolved'),
      },
    },
    closed: {
      on: { ack: refuse('closed'), resolve: refuse('closed') },
    },
  },
});

function transition(from: AlertState, to: AlertState, reason: string) {
  return { type: 'recordTransition', params: { from, to, reason } } as const;
}

function suppress(from: Mutable) {
  return { target: 'suppressed', actions: [{ type: 'suppress', params: { from } }, { type: 'recordSuppression', params: { from } }] } as const;
}

/** The condition became true: pending, or firing at once when the rule has no `for` (Prometheus semantics); suppressed when muted already. */
function becomeActive(from: 'inactive' | 'resolved') {
  return [
    { guard: 'isStale' },
    { guard: 'arrivesMuted', target: 'suppressed', actions: ['activate', { type: 'activateMuted', params: { from } }] },
    { guard: 'hasNoForDuration', target: 'firing', actions: ['activate', transition(from, 'firing', 'condition met')] },
    { target: 'pending', actions: ['activate', 'scheduleForTimer', transition(from, 'pending', 'condition met')] },
  ] as const;
}

/**
 * What a firing alert does, acknowledged or not: the condition holding keeps it (and cancels keep_firing_for),
 * the condition clearing resolves it, at once or once keep_firing_for has elapsed; a person may resolve it.
 */
function whileFiring(from: 'firing' | 'acknowledged') {
  return {
    'condition.true': [{ guard: 'isStale' }, { actions: ['recordValue', 'stopKeepFiring'] }],
    'condition.false': [
      { guard: 'isStale' },
      { guard: 'keepFiringElapsed', target: 'resolved', actions: ['recordValue', transition(from, 'resolved', 'keep_firing_for elapsed')] },
      { guard: 'isKeepingFiring', actions: 'recordValue' },
      { guard: 'keepsFiringAfterClear', actions: ['recordValue', 'startKeepFiring', 'scheduleKeepFiringTimer'] },
      { target: 'resolved', actions: ['recordValue', transition(from, 'resolved', 'condition cleared')] },
    ],
    timer: { guard: 'isKeepFiringTimerDue', target: 'resolved', actions: transition(from, 'resolved', 'keep_firing_for elapsed') },
    'rule.removed': { target: 'resolved', actions: transition(from, 'resolved', 'rule removed') },
    resolve: { target: 'resolved', actions: { type: 'recordRequest', params: { from, to: 'resolved', reason: 'resolved by hand' } } },
    suppress: suppress(from),
  } as const;
}

/** A person's request that does not apply in this state is refused, and the state says why. */
function refuse(state: AlertState) {
  return { actions: { type: 'refuse', params: { state } } } as const;
}

/** Timers a restored alert is waiting for: restoring runs no actions, so the shell re-schedules these. */
export function pendingTimers(context: AlertContext): { timer: TimerKind; deadline: number }[] {
  const timers: { timer: TimerKind; deadline: number }[] = [];
  if (context.forDeadline !== undefined) timers.push({ timer: 'for', deadline: context.forDeadline });
  if (context.keepFiringDeadline !== undefined) timers.push({ timer: 'keep_firing', deadline: context.keepFiringDeadline });
  if (context.closeDeadline !== undefined) timers.push({ timer: 'close', deadline: context.closeDeadline });
  return timers;
}
