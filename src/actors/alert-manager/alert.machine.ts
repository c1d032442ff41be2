import { assign, emit, setup } from 'xstate';

/**
 * The lifecycle of one alert, Prometheus style: inactive → pending (condition true, waiting out `for`)
 * → firing → resolved, and back to pending/firing when the condition returns. A person may acknowledge
 * a firing alert: acknowledged behaves as firing (same conditions, same keep_firing_for, resolves with a
 * notification) but tells receivers someone is on it, so escalations stop.
 *
 * Pure: no I/O and no clock. Time comes in on events (sample time, or a timer's deadline), and every
 * effect leaves as an emitted event the actor shell wires in with `actor.on`:
 * - `transition`: a history entry, for every state change;
 * - `notify`: receivers must hear about it (→ firing, firing/acknowledged → resolved);
 * - `acknowledged`: a person took the alert (firing → acknowledged);
 * - `ack.refused`: an acknowledgement arrived for an alert that is not firing; nothing changed;
 * - `schedule`: deliver a `timer` event at `deadline`. Timers are durable bus messages, not `after`
 *   (xstate#5331: `after` timers are not restored from snapshots), so a timer can arrive late, twice or
 *   after the alert moved on: guards accept only the deadline stored in context.
 */

export const ALERT_STATES = ['inactive', 'pending', 'firing', 'acknowledged', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];
export type TimerKind = 'for' | 'keep_firing';

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
  /** While pending: the alert fires at this time unless the condition clears first. */
  forDeadline?: number;
  /** While firing with a cleared condition: the alert resolves at this time unless the condition returns. */
  keepFiringDeadline?: number;
  value?: number;
  /** Who acknowledged this activation, and when (wall-clock time of the request); cleared when it activates again. */
  acknowledgedBy?: string;
  acknowledgedAt?: number;
}

export type AlertEvent =
  | { type: 'condition.true' | 'condition.false'; at: number; value: number; timing: AlertTiming }
  | { type: 'timer'; timer: TimerKind; deadline: number }
  | { type: 'rule.removed'; at: number }
  | { type: 'ack'; at: number; by: string; comment?: string };

export interface AlertTransition {
  type: 'transition';
  from: AlertState;
  to: AlertState;
  at: number;
  /** `system`, or the person who caused it. */
  by: string;
  reason: string;
}

export type AlertEmitted =
  | AlertTransition
  | { type: 'notify'; status: 'firing' | 'resolved' }
  | { type: 'schedule'; timer: TimerKind; deadline: number }
  | { type: 'acknowledged'; by: string; at: number }
  | { type: 'ack.refused'; by: string; reason: string };

/** The acknowledgement actions are wired to `ack` transitions only. */
type AckEvent = Extract<AlertEvent, { type: 'ack' }>;

/** When an event happened: a timer happens at its deadline, whenever it is delivered. */
function eventTime(event: AlertEvent): number {
  return event.type === 'timer' ? event.deadline : event.at;
}

export const alertMachine = setup({
  types: {
    context: {} as AlertContext,
    events: {} as AlertEvent,
    emitted: {} as AlertEmitted,
  },
  guards: {
    isStale: ({ context, event }) => eventTime(event) < context.since,
    hasNoForDuration: ({ event }) => 'timing' in event && event.timing.forMs === 0,
    heldForDuration: ({ context, event }) => context.forDeadline !== undefined && eventTime(event) >= context.forDeadline,
    isForTimerDue: ({ context, event }) => event.type === 'timer' && event.timer === 'for' && event.deadline === context.forDeadline,
    isKeepFiringTimerDue: ({ context, event }) =>
      event.type === 'timer' && event.timer === 'keep_firing' && event.deadline === context.keepFiringDeadline,
    keepsFiringAfterClear: ({ event }) => 'timing' in event && event.timing.keepFiringForMs > 0,
    isKeepingFiring: ({ context }) => context.keepFiringDeadline !== undefined,
    keepFiringElapsed: ({ context, event }) => context.keepFiringDeadline !== undefined && eventTime(event) >= context.keepFiringDeadline,
  },
  actions: {
    activate: assign(({ context, event }) => {
      const at = eventTime(event);
      return {
        since: at,
        activeAt: at,
        firedAt: undefined,
        resolvedAt: undefined,
        forDeadline: 'timing' in event ? at + event.timing.forMs : undefined,
        keepFiringDeadline: undefined,
        value: 'value' in event ? event.value : context.value,
        acknowledgedBy: undefined,
        acknowledgedAt: undefined,
      };
    }),
    deactivate: assign(({ event }) => ({ since: eventTime(event), activeAt: undefined, forDeadline: undefined })),
    fire: assign(({ event }) => ({ since: eventTime(event), firedAt: eventTime(event), forDeadline: undefined })),
    resolve: assign(({ event }) => ({ since: eventTime(event), resolvedAt: eventTime(event), keepFiringDeadline: undefined })),
    recordValue: assign({ value: ({ context, event }) => ('value' in event ? event.value : context.value) }),
    startKeepFiring: assign(({ event }) => ({ keepFiringDeadline: 'timing' in event ? eventTime(event) + event.timing.keepFiringForMs : undefined })),
    stopKeepFiring: assign({ keepFiringDeadline: undefined }),
    scheduleForTimer: emit(({ context }) => ({ type: 'schedule', timer: 'for', deadline: context.forDeadline as number }) as const),
    scheduleKeepFiringTimer: emit(
      ({ context }) => ({ type: 'schedule', timer: 'keep_firing', deadline: context.keepFiringDeadline as number }) as const,
    ),
    notifyFiring: emit({ type: 'notify', status: 'firing' }),
    notifyResolved: emit({ type: 'notify', status: 'resolved' }),
    recordTransition: emit(({ event }, params: { from: AlertState; to: AlertState; reason: string }) => ({
      type: 'transition' as const,
      ...params,
      at: eventTime(event),
      by: 'system',
    })),
    // Acknowledging is not a condition change: `since` stays, so samples keep being judged against the firing time.
    acknowledge: assign(({ event }) => ({ acknowledgedBy: (event as AckEvent).by, acknowledgedAt: (event as AckEvent).at })),
    recordAcknowledgement: emit(({ event }) => {
      const ack = event as AckEvent;
      return { type: 'transition' as const, from: 'firing' as const, to: 'acknowledged' as const, at: ack.at, by: ack.by, reason: ack.comment?.trim() || 'acknowledged' };
    }),
    announceAcknowledgement: emit(({ event }) => ({ type: 'acknowledged' as const, by: (event as AckEvent).by, at: (event as AckEvent).at })),
    refuseAck: emit(({ context, event }, params: { state: AlertState }) => ({
      type: 'ack.refused' as const,
      by: (event as AckEvent).by,
      reason: params.state === 'acknowledged' ? `already acknowledged by ${context.acknowledgedBy ?? 'someone'}` : `the alert is ${params.state}, not firing`,
    })),
  },
}).createMachine({
  id: 'alert',
  initial: 'inactive',
  context: { since: 0 },
  states: {
    inactive: {
      on: { 'condition.true': becomeActive('inactive'), ack: refuseAck('inactive') },
    },
    pending: {
      on: {
        'condition.true': [
          { guard: 'isStale' },
          {
            guard: 'heldForDuration',
            target: 'firing',
            actions: ['recordValue', { type: 'recordTransition', params: { from: 'pending', to: 'firing', reason: 'condition held for the for duration' } }],
          },
          { actions: 'recordValue' },
        ],
        'condition.false': [
          { guard: 'isStale' },
          {
            target: 'inactive',
            actions: ['recordValue', 'deactivate', { type: 'recordTransition', params: { from: 'pending', to: 'inactive', reason: 'condition cleared before the for duration' } }],
          },
        ],
        timer: {
          guard: 'isForTimerDue',
          target: 'firing',
          actions: { type: 'recordTransition', params: { from: 'pending', to: 'firing', reason: 'condition held for the for duration' } },
        },
        'rule.removed': {
          target: 'inactive',
          actions: ['deactivate', { type: 'recordTransition', params: { from: 'pending', to: 'inactive', reason: 'rule removed' } }],
        },
        ack: refuseAck('pending'),
      },
    },
    firing: {
      entry: ['fire', 'notifyFiring'],
      on: {
        ...whileFiring('firing'),
        ack: { target: 'acknowledged', actions: ['acknowledge', 'recordAcknowledgement', 'announceAcknowledgement'] },
      },
    },
    // Entered without `fire` or `notifyFiring`: receivers already know, and the alert keeps its firing time.
    acknowledged: {
      on: { ...whileFiring('acknowledged'), ack: refuseAck('acknowledged') },
    },
    resolved: {
      entry: ['resolve', 'notifyResolved'],
      on: { 'condition.true': becomeActive('resolved'), ack: refuseAck('resolved') },
    },
  },
});

/** The condition became true: pending, or firing at once when the rule has no `for` (Prometheus semantics). */
function becomeActive(from: 'inactive' | 'resolved') {
  return [
    { guard: 'isStale' },
    {
      guard: 'hasNoForDuration',
      target: 'firing',
      actions: ['activate', { type: 'recordTransition', params: { from, to: 'firing', reason: 'condition met' } }],
    },
    {
      target: 'pending',
      actions: ['activate', 'scheduleForTimer', { type: 'recordTransition', params: { from, to: 'pending', reason: 'condition met' } }],
    },
  ] as const;
}

/**
 * What a firing alert does, acknowledged or not: the condition holding keeps it (and cancels keep_firing_for),
 * the condition clearing resolves it, at once or once keep_firing_for has elapsed.
 */
function whileFiring(from: 'firing' | 'acknowledged') {
  return {
    'condition.true': [{ guard: 'isStale' }, { actions: ['recordValue', 'stopKeepFiring'] }],
    'condition.false': [
      { guard: 'isStale' },
      {
        guard: 'keepFiringElapsed',
        target: 'resolved',
        actions: ['recordValue', { type: 'recordTransition', params: { from, to: 'resolved', reason: 'keep_firing_for elapsed' } }],
      },
      { guard: 'isKeepingFiring', actions: 'recordValue' },
      { guard: 'keepsFiringAfterClear', actions: ['recordValue', 'startKeepFiring', 'scheduleKeepFiringTimer'] },
      {
        target: 'resolved',
        actions: ['recordValue', { type: 'recordTransition', params: { from, to: 'resolved', reason: 'condition cleared' } }],
      },
    ],
    timer: {
      guard: 'isKeepFiringTimerDue',
      target: 'resolved',
      actions: { type: 'recordTransition', params: { from, to: 'resolved', reason: 'keep_firing_for elapsed' } },
    },
    'rule.removed': {
      target: 'resolved',
      actions: { type: 'recordTransition', params: { from, to: 'resolved', reason: 'rule removed' } },
    },
  } as const;
}

/** Only a firing alert can be acknowledged; elsewhere the request is refused, and the state says why. */
function refuseAck(state: Exclude<AlertState, 'firing'>) {
  return { actions: { type: 'refuseAck', params: { state } } } as const;
}

/** Timers a restored alert is waiting for: restoring runs no actions, so the shell re-schedules these. */
export function pendingTimers(context: AlertContext): { timer: TimerKind; deadline: number }[] {
  const timers: { timer: TimerKind; deadline: number }[] = [];
  if (context.forDeadline !== undefined) timers.push({ timer: 'for', deadline: context.forDeadline });
  if (context.keepFiringDeadline !== undefined) timers.push({ timer: 'keep_firing', deadline: context.keepFiringDeadline });
  return timers;
}
