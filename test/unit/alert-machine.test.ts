import { describe, expect, it } from 'vitest';
import { createActor, type Snapshot } from 'xstate';
import { alertMachine, pendingTimers, type AlertEmitted, type AlertTiming, type TimerKind } from '../../src/actors/alert-manager/alert.machine.js';

const MINUTE = 60_000;
const CLOSE_AFTER = 24 * 60 * MINUTE;

/**
 * Drives one alert machine on simulated time: samples are condition events at `now`, and `advance`
 * delivers the timers the machine scheduled once their deadline is reached, as the bus would.
 */
function simulate(timing: AlertTiming, snapshot?: Snapshot<unknown>) {
  const actor = createActor(alertMachine, { input: { closeAfterMs: CLOSE_AFTER }, ...(snapshot ? { snapshot } : {}) });
  const emitted: AlertEmitted[] = [];
  const timers: { timer: TimerKind; deadline: number }[] = [];
  actor.on('*', (event) => {
    emitted.push(event);
    if (event.type === 'schedule') timers.push({ timer: event.timer, deadline: event.deadline });
  });
  actor.start();
  let now = 0;
  return {
    actor,
    emitted,
    timers,
    get state() {
      return actor.getSnapshot().value;
    },
    get context() {
      return actor.getSnapshot().context;
    },
    sample(value: number, breached: boolean) {
      actor.send({ type: breached ? 'condition.true' : 'condition.false', at: now, value, timing });
    },
    advance(ms: number) {
      now += ms;
      for (const due of timers.filter((t) => t.deadline <= now)) {
        timers.splice(timers.indexOf(due), 1);
        actor.send({ type: 'timer', ...due });
      }
    },
    setNow(t: number) {
      now = t;
    },
    ack(by: string, comment?: string) {
      actor.send({ type: 'ack', at: now, by, ...(comment === undefined ? {} : { comment }) });
    },
    transitions: () => emitted.filter((e) => e.type === 'transition').map((e) => `${e.from}->${e.to}@${e.at}`),
    notifies: () => emitted.filter((e) => e.type === 'notify').map((e) => e.status),
    refusals: () => emitted.filter((e) => e.type === 'refused').map((e) => e.reason),
  };
}

describe('alert machine', () => {
  it('stays pending until `for` has elapsed, then fires once', () => {
    const alert = simulate({ forMs: 5 * MINUTE, keepFiringForMs: 0 });
    alert.sample(95, true);
    expect(alert.state).toBe('pending');
    expect(alert.timers).toEqual([{ timer: 'for', deadline: 5 * MINUTE }]);
    alert.advance(MINUTE);
    alert.sample(96, true);
    expect(alert.state).toBe('pending');
    alert.advance(4 * MINUTE);
    expect(alert.state).toBe('firing');
    expect(alert.context).toMatchObject({ activeAt: 0, firedAt: 5 * MINUTE, value: 96, forDeadline: undefined });
    expect(alert.transitions()).toEqual(['inactive->pending@0', `pending->firing@${5 * MINUTE}`]);
    expect(alert.notifies()).toEqual(['firing']);
  });

  it('fires on a sample once the condition has held for `for`, without waiting for the timer', () => {
    const alert = simulate({ forMs: 5 * MINUTE, keepFiringForMs: 0 });
    alert.sample(95, true);
    alert.setNow(6 * MINUTE);
    alert.sample(97, true);
    expect(alert.state).toBe('firing');
    alert.advance(0);
    expect(alert.notifies()).toEqual(['firing']);
  });

  it('fires on the first true evaluation when `for` is 0', () => {
    const alert = simulate({ forMs: 0, keepFiringForMs: 0 });
    alert.sample(95, true);
    expect(alert.state).toBe('firing');
    expect(alert.timers).toEqual([]);
    expect(alert.transitions()).toEqual(['inactive->firing@0']);
    expect(alert.notifies()).toEqual(['firing']);
  });

  it('returns to inactive without notifying when the condition clears while pending', () => {
    const alert = simulate({ forMs: 5 * MINUTE, keepFiringForMs: 0 });
    alert.sample(95, true);
    alert.advance(MINUTE);
    alert.sample(50, false);
    expect(alert.state).toBe('inactive');
    alert.advance(10 * MINUTE);
    expect(alert.state).toBe('inactive');
    expect(alert.transitions()).toEqual(['inactive->pending@0', `pending->inactive@${MINUTE}`]);
    expect(alert.notifies()).toEqual([]);
  });

  it('resolves and notifies when the condition clears while firing', () => {
    const alert = simulate({ forMs: 0, keepFiringForMs: 0 });
    alert.sample(95, true);
    alert.advance(MINUTE);
    alert.sample(40, false);
    expect(alert.state).toBe('resolved');
    expect(alert.context).toMatchObject({ activeAt: 0, firedAt: 0, resolvedAt: MINUTE, value: 40 });
    expect(alert.notifies()).toEqual(['firing', 'resolved']);
  });

  it('keeps firing for keep_firing_for after the condition clears, then resolves on the timer', () => {
    const alert = simulate({ forMs: 0, keepFiringForMs: 10 * MINUTE });
    alert.sample(95, true);
    alert.advance(MINUTE);
    alert.sample(40, false);
    expect(alert.state).toBe('firing');
    expect(alert.timers).toEqual([{ timer: 'keep_firing', deadline: 11 * MINUTE }]);
    alert.advance(MINUTE);
    alert.sample(41, false); // a second clear sample does not push the deadline out
    expect(alert.context.keepFiringDeadline).toBe(11 * MINUTE);
    alert.advance(9 * MINUTE);
    expect(alert.state).toBe('resolved');
    expect(alert.transitions()).toEqual(['inactive->firing@0', `firing->resolved@${11 * MINUTE}`]);
    expect(alert.notifies()).toEqual(['firing', 'resolved']);
  });

  it('keeps firing without a notification when the condition returns within keep_firing_for', () => {
    const alert = simulate({ forMs: 0, keepFiringForMs: 10 * MINUTE });
    alert.sample(95, true);
    alert.advance(MINUTE);
    alert.sample(40, false);
    alert.advance(MINUTE);
    alert.sample(96, true);
    expect(alert.context.keepFiringDeadline).toBeUndefined();
    alert.advance(20 * MINUTE); // the keep_firing timer arrives but is no longer the one the alert waits for
    expect(alert.state).toBe('firing');
    expect(alert.notifies()).toEqual(['firing']);
  });

  it('ignores a stale `for` timer from an earlier activation', () => {
    const alert = simulate({ forMs: 5 * MINUTE, keepFiringForMs: 0 });
    alert.sample(95, true);
    alert.advance(MINUTE);
    alert.sample(50, false);
    alert.advance(MINUTE);
    alert.sample(95, true); // active again at 2m: deadline 7m
    alert.actor.send({ type: 'timer', timer: 'for', deadline: 5 * MINUTE });
    expect(alert.state).toBe('pending');
    alert.actor.send({ type: 'timer', timer: 'keep_firing', deadline: 7 * MINUTE });
    expect(alert.state).toBe('pending');
    alert.advance(5 * MINUTE);
    expect(alert.state).toBe('firing');
    expect(alert.context.firedAt).toBe(7 * MINUTE);
  });

  it('ignores condition events older than the last transition (a redelivered or overtaken batch)', () => {
    const alert = simulate({ forMs: 5 * MINUTE, keepFiringForMs: 0 });
    alert.setNow(MINUTE);
    alert.sample(95, true);
    alert.setNow(2 * MINUTE);
    alert.sample(50, false);
    alert.setNow(MINUTE);
    alert.sample(95, true);
    expect(alert.state).toBe('inactive');
  });

  it('fires again after resolving when the condition returns, with a new activeAt', () => {
    const alert = simulate({ forMs: 2 * MINUTE, keepFiringForMs: 0 });
    alert.sample(95, true);
    alert.advance(2 * MINUTE);
    alert.sample(40, false);
    alert.advance(MINUTE);
    alert.sample(95, true);
    expect(alert.state).toBe('pending');
    expect(alert.context).toMatchObject({ activeAt: 3 * MINUTE, firedAt: undefined, resolvedAt: undefined });
    alert.advance(2 * MINUTE);
    expect(alert.state).toBe('firing');
    expect(alert.transitions()).toEqual([
      'inactive->pending@0',
      `pending->firing@${2 * MINUTE}`,
      `firing->resolved@${2 * MINUTE}`,
      `resolved->pending@${3 * MINUTE}`,
      `pending->firing@${5 * MINUTE}`,
    ]);
    expect(alert.notifies()).toEqual(['firing', 'resolved', 'firing']);
  });

  it('applies the rule durations given with the latest event', () => {
    const alert = simulate({ forMs: 5 * MINUTE, keepFiringForMs: 0 });
    alert.sample(95, true);
    alert.advance(MINUTE);
    alert.sample(40, false);
    alert.actor.send({ type: 'condition.true', at: 2 * MINUTE, value: 95, timing: { forMs: 0, keepFiringForMs: 0 } });
    expect(alert.state).toBe('firing');
  });

  it('resolves a firing alert and deactivates a pending one when the rule is removed', () => {
    const firing = simulate({ forMs: 0, keepFiringForMs: 10 * MINUTE });
    firing.sample(95, true);
    firing.actor.send({ type: 'rule.removed', at: MINUTE });
    expect(firing.state).toBe('resolved');
    expect(firing.notifies()).toEqual(['firing', 'resolved']);

    const pending = simulate({ forMs: 5 * MINUTE, keepFiringForMs: 0 });
    pending.sample(95, true);
    pending.actor.send({ type: 'rule.removed', at: MINUTE });
    expect(pending.state).toBe('inactive');
    expect(pending.notifies()).toEqual([]);
  });

  it('records every transition as a system history entry with a reason', () => {
    const alert = simulate({ forMs: 0, keepFiringForMs: 0 });
    alert.sample(95, true);
    expect(alert.emitted[0]).toEqual({ type: 'transition', from: 'inactive', to: 'firing', at: 0, by: 'system', reason: 'condition met' });
  });

  it('survives a JSON round trip of its snapshot while pending and fires when the timer arrives', () => {
    const before = simulate({ forMs: 5 * MINUTE, keepFiringForMs: 0 });
    before.sample(95, true);
    const stored = JSON.parse(JSON.stringify(before.actor.getPersistedSnapshot())) as Snapshot<unknown>;
    before.actor.stop();

    const after = simulate({ forMs: 5 * MINUTE, keepFiringForMs: 0 }, stored);
    expect(after.state).toBe('pending');
    expect(after.emitted).toEqual([]); // restoring is not a transition: nothing re-runs
    expect(pendingTimers(after.context)).toEqual([{ timer: 'for', deadline: 5 * MINUTE }]);
    after.actor.send({ type: 'timer', timer: 'for', deadline: 5 * MINUTE });
    expect(after.state).toBe('firing');
    expect(after.transitions()).toEqual([`pending->firing@${5 * MINUTE}`]);
    expect(after.notifies()).toEqual(['firing']);
  });

  it('lists the timers a restored alert is waiting for', () => {
    const alert = simulate({ forMs: 0, keepFiringForMs: 10 * MINUTE });
    alert.sample(95, true);
    expect(pendingTimers(alert.context)).toEqual([]);
    alert.advance(MINUTE);
    alert.sample(40, false);
    expect(pendingTimers(alert.context)).toEqual([{ timer: 'keep_firing', deadline: 11 * MINUTE }]);
  });
});

describe('alert machine: acknowledgement', () => {
  it('acknowledges a firing alert with who and why, then resolves with a notification when the condition clears', () => {
    const alert = simulate({ forMs: 0, keepFiringForMs: 0 });
    alert.sample(95, true);
    alert.advance(MINUTE);
    alert.ack('alice', 'looking at it');
    expect(alert.state).toBe('acknowledged');
    expect(alert.context).toMatchObject({ acknowledgedBy: 'alice', acknowledgedAt: MINUTE, firedAt: 0, since: 0 });
    expect(alert.emitted.slice(-2)).toEqual([
      { type: 'transition', from: 'firing', to: 'acknowledged', at: MINUTE, by: 'alice', reason: 'looking at it' },
      { type: 'acknowledged', by: 'alice', at: MINUTE },
    ]);

    alert.advance(MINUTE);
    alert.sample(97, true); // the condition holds: still acknowledged, nobody is paged again
    expect(alert.state).toBe('acknowledged');
    expect(alert.context.value).toBe(97);
    alert.advance(MINUTE);
    alert.sample(40, false);
    expect(alert.state).toBe('resolved');
    expect(alert.context).toMatchObject({ resolvedAt: 3 * MINUTE, value: 40 });
    expect(alert.transitions()).toEqual(['inactive->firing@0', `firing->acknowledged@${MINUTE}`, `acknowledged->resolved@${3 * MINUTE}`]);
    expect(alert.notifies()).toEqual(['firing', 'resolved']);
  });

  it("uses 'acknowledged' as the reason when no comment is given", () => {
    const alert = simulate({ forMs: 0, keepFiringForMs: 0 });
    alert.sample(95, true);
    alert.ack('bob', '  ');
    expect(alert.emitted.find((e) => e.type === 'transition' && e.to === 'acknowledged')).toMatchObject({ by: 'bob', reason: 'acknowledged' });
  });

  it('refuses an acknowledgement while pending, resolved or already acknowledged, saying why and changing nothing', () => {
    const alert = simulate({ forMs: 5 * MINUTE, keepFiringForMs: 0 });
    alert.sample(95, true);
    alert.ack('alice');
    expect(alert.state).toBe('pending');
    alert.advance(5 * MINUTE);
    alert.ack('alice');
    alert.ack('bob'); // a second person, or the first one's request redelivered
    expect(alert.state).toBe('acknowledged');
    expect(alert.context.acknowledgedBy).toBe('alice');
    alert.advance(MINUTE);
    alert.sample(40, false);
    alert.ack('carol');
    expect(alert.state).toBe('resolved');
    expect(alert.refusals()).toEqual(['the alert is pending, not firing', 'already acknowledged by alice', 'the alert is resolved, not firing']);
    expect(alert.emitted.filter((e) => e.type === 'acknowledged')).toHaveLength(1);
    expect(alert.transitions()).toEqual(['inactive->pending@0', `pending->firing@${5 * MINUTE}`, `firing->acknowledged@${5 * MINUTE}`, `acknowledged->resolved@${6 * MINUTE}`]);
  });

  it('keeps keep_firing_for semantics while acknowledged', () => {
    const alert = simulate({ forMs: 0, keepFiringForMs: 10 * MINUTE });
    alert.sample(95, true);
    alert.advance(MINUTE);
    alert.sample(40, false); // keeps firing until 11m
    alert.ack('alice');
    alert.advance(MINUTE);
    alert.sample(96, true); // returns: the keep_firing deadline is cancelled
    expect(alert.context.keepFiringDeadline).toBeUndefined();
    alert.advance(MINUTE);
    alert.sample(41, false); // clears again at 3m: resolves at 13m
    expect(alert.timers).toEqual(expect.arrayContaining([{ timer: 'keep_firing', deadline: 13 * MINUTE }]));
    alert.advance(9 * MINUTE);
    expect(alert.state).toBe('acknowledged');
    alert.advance(MINUTE);
    expect(alert.state).toBe('resolved');
    expect(alert.transitions().slice(-1)).toEqual([`acknowledged->resolved@${13 * MINUTE}`]);
    expect(alert.notifies()).toEqual(['firing', 'resolved']);
  });

  it('resolves an acknowledged alert when its rule is removed', () => {
    const alert = simulate({ forMs: 0, keepFiringForMs: 0 });
    alert.sample(95, true);
    alert.ack('alice');
    alert.actor.send({ type: 'rule.removed', at: MINUTE });
    expect(alert.state).toBe('resolved');
    expect(alert.notifies()).toEqual(['firing', 'resolved']);
  });

  it('forgets the acknowledgement when the alert fires again', () => {
    const alert = simulate({ forMs: 0, keepFiringForMs: 0 });
    alert.sample(95, true);
    alert.ack('alice');
    alert.advance(MINUTE);
    alert.sample(40, false);
    alert.advance(MINUTE);
    alert.sample(95, true);
    expect(alert.state).toBe('firing');
    expect(alert.context.acknowledgedBy).toBeUndefined();
    alert.ack('bob');
    expect(alert.context.acknowledgedBy).toBe('bob');
  });

  it('survives a JSON round trip of its snapshot while acknowledged, and restarts without re-notifying', () => {
    const before = simulate({ forMs: 0, keepFiringForMs: 10 * MINUTE });
    before.sample(95, true);
    before.advance(MINUTE);
    before.ack('alice', 'on it');
    before.advance(MINUTE);
    before.sample(40, false); // keeps firing until 12m
    const stored = JSON.parse(JSON.stringify(before.actor.getPersistedSnapshot())) as Snapshot<unknown>;
    before.actor.stop();

    const after = simulate({ forMs: 0, keepFiringForMs: 10 * MINUTE }, stored);
    expect(after.state).toBe('acknowledged');
    expect(after.emitted).toEqual([]); // restoring neither re-notifies nor re-announces the acknowledgement
    expect(after.context).toMatchObject({ acknowledgedBy: 'alice', acknowledgedAt: MINUTE, firedAt: 0 });
    expect(pendingTimers(after.context)).toEqual([{ timer: 'keep_firing', deadline: 12 * MINUTE }]);
    after.ack('alice', 'on it'); // the request, redelivered after the restart
    expect(after.refusals()).toEqual(['already acknowledged by alice']);
    after.actor.send({ type: 'timer', timer: 'keep_firing', deadline: 12 * MINUTE });
    expect(after.state).toBe('resolved');
    expect(after.transitions()).toEqual([`acknowledged->resolved@${12 * MINUTE}`]);
    expect(after.notifies()).toEqual(['resolved']);
  });
});

describe('alert machine: a condition that becomes true while muted', () => {
  const suppression = { by: 'silence:s1', reason: 'silenced by ann: rebuilding' };

  it('without `for`: enters suppressed directly, fired silently; pages only when the suppression ends', () => {
    const alert = simulate({ forMs: 0, keepFiringForMs: 0 });
    alert.setNow(1000);
    alert.actor.send({ type: 'condition.true', at: 1000, value: 0, timing: { forMs: 0, keepFiringForMs: 0 }, suppression });
    expect(alert.state).toBe('suppressed');
    expect(alert.notifies()).toEqual([]);
    expect(alert.emitted.filter((e) => e.type === 'transition')).toEqual([{ type: 'transition', from: 'inactive', to: 'suppressed', at: 1000, by: 'silence:s1', reason: 'condition met; silenced by ann: rebuilding' }]);
    expect(alert.context).toMatchObject({ activeAt: 1000, firedAt: 1000, suppressedFrom: 'firing', notified: false });
    expect(alert.timers).toEqual([]);
    alert.actor.send({ type: 'unsuppress', at: 2000 });
    expect(alert.state).toBe('firing');
    expect(alert.notifies()).toEqual(['firing']);
    expect(alert.context.firedAt).toBe(1000);
  });

  it('with `for`: muted while pending, its `for` timer fires it silently, and a clear resolves it without a word', () => {
    const timing = { forMs: 5 * MINUTE, keepFiringForMs: 0 };
    const alert = simulate(timing);
    alert.actor.send({ type: 'condition.true', at: 0, value: 0, timing, suppression });
    expect(alert.state).toBe('suppressed');
    expect(alert.context.suppressedFrom).toBe('pending');
    expect(alert.timers).toEqual([{ timer: 'for', deadline: 5 * MINUTE }]);
    alert.advance(5 * MINUTE);
    expect(alert.state).toBe('suppressed');
    expect(alert.context).toMatchObject({ suppressedFrom: 'firing', firedAt: 5 * MINUTE });
    alert.sample(1, false);
    expect(alert.state).toBe('resolved');
    expect(alert.notifies()).toEqual([]);
    expect(alert.transitions()).toEqual(['inactive->suppressed@0', `suppressed->resolved@${5 * MINUTE}`]);
  });
});
