import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { remediationMachine, type RemediationEmitted, type RemediationEvent } from '../../src/automation/remediation.machine.js';

/** Runs the pure machine through events; returns the final state and everything it emitted. */
function run(input: { hasVerify: boolean; hasRollback: boolean }, events: RemediationEvent[]) {
  const emitted: RemediationEmitted[] = [];
  const actor = createActor(remediationMachine, { input });
  actor.on('*', (e) => emitted.push(e));
  actor.start();
  for (const e of events) actor.send(e);
  const snapshot = actor.getSnapshot();
  return { state: snapshot.value, context: snapshot.context, emitted, effects: emitted.filter((e) => e.type !== 'transition').map((e) => e.type), path: emitted.flatMap((e) => (e.type === 'transition' ? [e.to] : [])) };
}

const start = (extra: Partial<Extract<RemediationEvent, { type: 'start' }>> = {}): RemediationEvent => ({ type: 'start', at: 0, dryRun: false, verifyTimeoutMs: 1_000, ...extra });

describe('remediation machine', () => {
  it('acts, verifies and succeeds, asking for each effect in order', () => {
    const r = run({ hasVerify: true, hasRollback: true }, [start(), { type: 'steps.done', at: 10 }, { type: 'verify.passed', at: 20, detail: 'up == 1' }]);
    expect(r.path).toEqual(['approved', 'executing', 'verifying', 'succeeded']);
    expect(r.effects).toEqual(['execute', 'schedule', 'verify']);
    expect(r.emitted.find((e) => e.type === 'schedule')).toEqual({ type: 'schedule', timer: 'verify', deadline: 1_010 });
  });

  it('a verify timer with another deadline (stale, redelivered) is ignored; the right one fails and rolls back', () => {
    const r = run({ hasVerify: true, hasRollback: true }, [start(), { type: 'steps.done', at: 10 }, { type: 'timer', timer: 'verify', deadline: 999 }, { type: 'timer', timer: 'approval', deadline: 1_010 }]);
    expect(r.state).toBe('verifying');
    const done = run({ hasVerify: true, hasRollback: true }, [start(), { type: 'steps.done', at: 10 }, { type: 'timer', timer: 'verify', deadline: 1_010 }, { type: 'rollback.failed', at: 1_020, error: 'exit 1' }]);
    expect(done.path).toEqual(['approved', 'executing', 'verifying', 'failed', 'rolling_back', 'rollback_failed']);
    expect(done.context.reason).toBe('exit 1');
  });

  it('approval: granted, denied, expired; decisions after the end change nothing', () => {
    const ask = start({ approvalTimeoutMs: 600_000 });
    expect(run({ hasVerify: false, hasRollback: false }, [ask]).emitted).toContainEqual({ type: 'schedule', timer: 'approval', deadline: 600_000 });
    const granted = run({ hasVerify: false, hasRollback: false }, [ask, { type: 'approve', at: 5, by: 'ann' }, { type: 'steps.done', at: 6 }]);
    expect(granted.path).toEqual(['awaiting_approval', 'approved', 'executing', 'succeeded']);
    expect(granted.context.approvedBy).toBe('ann');
    expect(granted.emitted.find((e) => e.type === 'transition' && e.to === 'approved')).toMatchObject({ by: 'ann' });
    const denied = run({ hasVerify: false, hasRollback: false }, [ask, { type: 'deny', at: 5, by: 'bob' }, { type: 'approve', at: 6, by: 'ann' }]);
    expect(denied.state).toBe('denied');
    expect(denied.effects).not.toContain('execute');
    const expired = run({ hasVerify: false, hasRollback: false }, [ask, { type: 'timer', timer: 'approval', deadline: 600_000 }, { type: 'approve', at: 600_001, by: 'ann' }]);
    expect(expired.path).toEqual(['awaiting_approval', 'expired']);
  });

  it('dry-run neither verifies nor rolls back', () => {
    expect(run({ hasVerify: true, hasRollback: true }, [start({ dryRun: true }), { type: 'steps.done', at: 1 }]).state).toBe('succeeded');
    expect(run({ hasVerify: true, hasRollback: true }, [start({ dryRun: true }), { type: 'steps.failed', at: 1, error: 'x' }]).state).toBe('failed');
  });

  it('a restart aborts a run mid-action: executing fails (and rolls back), rolling back becomes rollback_failed', () => {
    expect(run({ hasVerify: false, hasRollback: true }, [start(), { type: 'abort', at: 1, reason: 'restarted' }]).path.slice(-2)).toEqual(['failed', 'rolling_back']);
    expect(run({ hasVerify: false, hasRollback: true }, [start(), { type: 'steps.failed', at: 1, error: 'x' }, { type: 'abort', at: 2, reason: 'restarted' }]).state).toBe('rollback_failed');
    expect(run({ hasVerify: false, hasRollback: true }, [start(), { type: 'steps.failed', at: 1, error: 'kill switch', nothingChanged: true }]).state).toBe('failed');
  });

  it('a blocked run is final', () => {
    const r = run({ hasVerify: false, hasRollback: false }, [{ type: 'block', at: 0, reason: 'rate_limit: 3 runs' }, start()]);
    expect(r.path).toEqual(['blocked']);
    expect(r.context.reason).toBe('rate_limit: 3 runs');
  });
});
