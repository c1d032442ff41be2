import { assign, emit, setup } from 'xstate';

/**
 * The lifecycle of one runbook execution:
 *
 *   proposed → awaiting_approval → approved → executing → verifying → succeeded
 *                 ↘ denied | expired                   ↘ failed → rolling_back → rolled_back | rollback_failed
 *   proposed → blocked (a safety gate said no: kill switch, rate limit, circuit breaker, concurrency, blast radius)
 *
 * Pure: no I/O, no clock. Time arrives on events; every effect leaves as an emitted event that the
 * automation actor wires in (src/actors/automation/automation.ts):
 * - `transition`: an audit entry for every state change;
 * - `schedule`: deliver a `runbook.timer` at `deadline` (durable delayed bus message, never `after`);
 * - `execute` / `rollback`: run the steps / the rollback steps, then send `steps.*` / `rollback.*`;
 * - `verify`: start checking the verification until `verify.passed` or the verify timer.
 * A timer is accepted only when its deadline is the one in context, so a late or repeated timer is harmless.
 */

export const REMEDIATION_STATES = [
  'proposed',
  'blocked',
  'awaiting_approval',
  'denied',
  'expired',
  'approved',
  'executing',
  'verifying',
  'succeeded',
  'failed',
  'rolling_back',
  'rolled_back',
  'rollback_failed',
] as const;
export type RemediationState = (typeof REMEDIATION_STATES)[number];
/**
 * Stored states in which a run may still act, or is about to: they count against concurrency and blast
 * radius. (`approved` and a `failed` that rolls back are passed through within one event, never stored;
 * a stored `failed` is final.)
 */
export const IN_FLIGHT_STATES: readonly RemediationState[] = ['proposed', 'awaiting_approval', 'executing', 'verifying', 'rolling_back'];
/** Outcomes that count as failures for the circuit breaker. */
export const FAILED_OUTCOMES: readonly RemediationState[] = ['failed', 'rolled_back', 'rollback_failed'];

export type RemediationTimer = 'approval' | 'verify';

export interface RemediationInput {
  hasVerify: boolean;
  hasRollback: boolean;
}

export interface RemediationContext extends RemediationInput {
  dryRun: boolean;
  verifyTimeoutMs: number;
  approvalDeadline?: number;
  verifyDeadline?: number;
  approvedBy?: string;
  /** Why the run stopped (blocked, denied, failed, rollback failed). */
  reason?: string;
}

export type RemediationEvent =
  /** `approvalTimeoutMs` present: a person must approve within it. */
  | { type: 'start'; at: number; dryRun: boolean; approvalTimeoutMs?: number; verifyTimeoutMs: number }
  | { type: 'block'; at: number; reason: string }
  | { type: 'approve'; at: number; by: string; comment?: string }
  | { type: 'deny'; at: number; by: string; comment?: string }
  | { type: 'timer'; timer: RemediationTimer; deadline: number }
  | { type: 'steps.done'; at: number }
  /** `nothingChanged`: no step ran (e.g. the kill switch stopped the run first), so there is nothing to roll back. */
  | { type: 'steps.failed'; at: number; error: string; nothingChanged?: boolean }
  | { type: 'verify.passed'; at: number; detail: string }
  | { type: 'verify.failed'; at: number; error: string }
  | { type: 'rollback.done'; at: number }
  | { type: 'rollback.failed'; at: number; error: string }
  /** The process restarted while the run was acting: its progress is unknown. */
  | { type: 'abort'; at: number; reason: string };

export interface RemediationTransition {
  type: 'transition';
  from: RemediationState;
  to: RemediationState;
  at: number;
  by: string;
  reason: string;
}

export type RemediationEmitted =
  | RemediationTransition
  | { type: 'schedule'; timer: RemediationTimer; deadline: number }
  | { type: 'execute' }
  | { type: 'verify' }
  | { type: 'rollback' };

function eventTime(event: RemediationEvent): number {
  return event.type === 'timer' ? event.deadline : event.at;
}

function eventBy(event: RemediationEvent): string {
  return event.type === 'approve' || event.type === 'deny' ? event.by : 'system';
}

function eventReason(event: RemediationEvent, fallback: string): string {
  if ('error' in event) return event.error;
  if ('reason' in event) return event.reason;
  if ('comment' in event && event.comment) return event.comment;
  if ('detail' in event) return event.detail;
  return fallback;
}

type Move = { from: RemediationState; to: RemediationState; reason: string };

export const remediationMachine = setup({
  types: {
    input: {} as RemediationInput,
    context: {} as RemediationContext,
    events: {} as RemediationEvent,
    emitted: {} as RemediationEmitted,
  },
  guards: {
    needsApproval: ({ event }) => event.type === 'start' && event.approvalTimeoutMs !== undefined,
    verifies: ({ context }) => context.hasVerify && !context.dryRun,
    rollsBack: ({ context }) => context.hasRollback && !context.dryRun,
    isApprovalTimer: ({ context, event }) => event.type === 'timer' && event.timer === 'approval' && event.deadline === context.approvalDeadline,
    isVerifyTimer: ({ context, event }) => event.type === 'timer' && event.timer === 'verify' && event.deadline === context.verifyDeadline,
  },
  actions: {
    record: emit(({ event }, params: Move) => ({
      type: 'transition' as const,
      from: params.from,
      to: params.to,
      at: eventTime(event),
      by: eventBy(event),
      reason: eventReason(event, params.reason),
    })),
    begin: assign(({ event }) => {
      const e = event as Extract<RemediationEvent, { type: 'start' }>;
      return {
        dryRun: e.dryRun,
        ...(e.approvalTimeoutMs === undefined ? {} : { approvalDeadline: e.at + e.approvalTimeoutMs }),
        verifyTimeoutMs: e.verifyTimeoutMs,
      };
    }),
    scheduleApproval: emit(({ context }) => ({ type: 'schedule' as const, timer: 'approval' as const, deadline: context.approvalDeadline as number })),
    noteApprover: assign({ approvedBy: ({ event }) => (event.type === 'approve' ? event.by : 'system') }),
    noteReason: assign({ reason: ({ event }) => eventReason(event, '') }),
    noteNothingChanged: assign({ hasRollback: ({ context, event }) => context.hasRollback && !(event.type === 'steps.failed' && event.nothingChanged) }),
    execute: emit({ type: 'execute' }),
    startVerify: assign(({ context, event }) => ({ verifyDeadline: eventTime(event) + context.verifyTimeoutMs })),
    scheduleVerify: emit(({ context }) => ({ type: 'schedule' as const, timer: 'verify' as const, deadline: context.verifyDeadline as number })),
    verify: emit({ type: 'verify' }),
    rollback: emit({ type: 'rollback' }),
  },
}).createMachine({
  id: 'remediation',
  initial: 'proposed',
  context: ({ input }) => ({ ...input, dryRun: false, verifyTimeoutMs: 0 }),
  states: {
    proposed: {
      on: {
        block: { target: 'blocked', actions: ['noteReason', { type: 'record', params: { from: 'proposed', to: 'blocked', reason: 'blocked' } }] },
        start: [
          {
            guard: 'needsApproval',
            target: 'awaiting_approval',
            actions: ['begin', 'scheduleApproval', { type: 'record', params: { from: 'proposed', to: 'awaiting_approval', reason: 'approval required' } }],
          },
          { target: 'approved', actions: ['begin', { type: 'record', params: { from: 'proposed', to: 'approved', reason: 'no approval required' } }] },
        ],
        abort: { target: 'blocked', actions: ['noteReason', { type: 'record', params: { from: 'proposed', to: 'blocked', reason: 'interrupted' } }] },
      },
    },
    awaiting_approval: {
      on: {
        approve: { target: 'approved', actions: ['noteApprover', { type: 'record', params: { from: 'awaiting_approval', to: 'approved', reason: 'approved' } }] },
        deny: { target: 'denied', actions: ['noteReason', { type: 'record', params: { from: 'awaiting_approval', to: 'denied', reason: 'denied' } }] },
        timer: {
          guard: 'isApprovalTimer',
          target: 'expired',
          actions: [assign({ reason: 'nobody approved in time' }), { type: 'record', params: { from: 'awaiting_approval', to: 'expired', reason: 'nobody approved in time' } }],
        },
      },
    },
    approved: {
      // Approval is a checkpoint in the audit trail; acting follows at once.
      always: { target: 'executing', actions: ['execute', { type: 'record', params: { from: 'approved', to: 'executing', reason: 'executing steps' } }] },
    },
    executing: {
      on: {
        'steps.done': [
          {
            guard: 'verifies',
            target: 'verifying',
            actions: ['startVerify', 'scheduleVerify', 'verify', { type: 'record', params: { from: 'executing', to: 'verifying', reason: 'steps done' } }],
          },
          { target: 'succeeded', actions: { type: 'record', params: { from: 'executing', to: 'succeeded', reason: 'steps done' } } },
        ],
        'steps.failed': { target: 'failed', actions: ['noteReason', 'noteNothingChanged', { type: 'record', params: { from: 'executing', to: 'failed', reason: 'a step failed' } }] },
        abort: { target: 'failed', actions: ['noteReason', { type: 'record', params: { from: 'executing', to: 'failed', reason: 'interrupted' } }] },
      },
    },
    verifying: {
      on: {
        'verify.passed': { target: 'succeeded', actions: { type: 'record', params: { from: 'verifying', to: 'succeeded', reason: 'verified' } } },
        'verify.failed': { target: 'failed', actions: ['noteReason', { type: 'record', params: { from: 'verifying', to: 'failed', reason: 'verification failed' } }] },
        timer: {
          guard: 'isVerifyTimer',
          target: 'failed',
          actions: [assign({ reason: 'verification did not pass in time' }), { type: 'record', params: { from: 'verifying', to: 'failed', reason: 'verification did not pass in time' } }],
        },
      },
    },
    failed: {
      always: { guard: 'rollsBack', target: 'rolling_back', actions: ['rollback', { type: 'record', params: { from: 'failed', to: 'rolling_back', reason: 'rolling back' } }] },
    },
    rolling_back: {
      on: {
        'rollback.done': { target: 'rolled_back', actions: { type: 'record', params: { from: 'rolling_back', to: 'rolled_back', reason: 'rollback done' } } },
        'rollback.failed': { target: 'rollback_failed', actions: ['noteReason', { type: 'record', params: { from: 'rolling_back', to: 'rollback_failed', reason: 'rollback failed' } }] },
        abort: { target: 'rollback_failed', actions: ['noteReason', { type: 'record', params: { from: 'rolling_back', to: 'rollback_failed', reason: 'interrupted' } }] },
      },
    },
    blocked: { type: 'final' },
    denied: { type: 'final' },
    expired: { type: 'final' },
    succeeded: { type: 'final' },
    rolled_back: { type: 'final' },
    rollback_failed: { type: 'final' },
  },
});
