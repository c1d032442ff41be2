import { describe, expect, it } from 'vitest';
import { CircuitBreaker, TRIAL_RECHECK_MS, type CircuitState } from '../../src/actors/notifier/breaker.js';

const COOL_DOWN = 30_000;
const T0 = 1_700_000_000_000;

function breaker(failures = 3) {
  const changes: [CircuitState, CircuitState, number][] = [];
  const b = new CircuitBreaker({ failures, coolDownMs: COOL_DOWN }, ({ from, to, at }) => changes.push([from, to, at]));
  return { b, changes };
}

/** Fails `n` sends at `at`, each let through first, as the notifier does. */
function failSends(b: CircuitBreaker, n: number, at: number): void {
  for (let i = 0; i < n; i++) {
    expect(b.blockedUntil(at)).toBeUndefined();
    b.sending(at);
    b.failed(at);
  }
}

describe('CircuitBreaker', () => {
  it('stays closed below the failure threshold, and a success resets the count', () => {
    const { b, changes } = breaker(3);
    failSends(b, 2, T0);
    b.succeeded(T0);
    failSends(b, 2, T0 + 1);
    expect(b.state(T0 + 1)).toBe('closed');
    expect(b.blockedUntil(T0 + 1)).toBeUndefined();
    expect(changes).toEqual([]);
  });

  it('opens after N consecutive failures and lets nothing through for the cool-down', () => {
    const { b, changes } = breaker(3);
    failSends(b, 3, T0);
    expect(b.state(T0)).toBe('open');
    expect(changes).toEqual([['closed', 'open', T0]]);
    for (const at of [T0, T0 + 1, T0 + COOL_DOWN - 1]) expect(b.blockedUntil(at)).toBe(T0 + COOL_DOWN);
  });

  it('half-opens after the cool-down with exactly one trial; the others wait briefly', () => {
    const { b, changes } = breaker(3);
    failSends(b, 3, T0);
    const halfOpen = T0 + COOL_DOWN;
    expect(b.blockedUntil(halfOpen)).toBeUndefined();
    expect(b.state(halfOpen)).toBe('half_open');
    b.sending(halfOpen);
    expect(b.blockedUntil(halfOpen + 5)).toBe(halfOpen + 5 + TRIAL_RECHECK_MS);
    expect(changes.map(([, to]) => to)).toEqual(['open', 'half_open']);
  });

  it('closes when the trial succeeds', () => {
    const { b, changes } = breaker(3);
    failSends(b, 3, T0);
    const halfOpen = T0 + COOL_DOWN;
    expect(b.blockedUntil(halfOpen)).toBeUndefined();
    b.sending(halfOpen);
    b.succeeded(halfOpen + 20);
    expect(b.state(halfOpen + 20)).toBe('closed');
    expect(b.blockedUntil(halfOpen + 20)).toBeUndefined();
    expect(changes).toEqual([
      ['closed', 'open', T0],
      ['open', 'half_open', halfOpen],
      ['half_open', 'closed', halfOpen + 20],
    ]);
  });

  it('re-opens for another full cool-down when the trial fails', () => {
    const { b, changes } = breaker(3);
    failSends(b, 3, T0);
    const halfOpen = T0 + COOL_DOWN;
    failSends(b, 1, halfOpen);
    expect(b.state(halfOpen)).toBe('open');
    expect(b.blockedUntil(halfOpen + 1)).toBe(halfOpen + COOL_DOWN);
    expect(changes.map(([, to]) => to)).toEqual(['open', 'half_open', 'open']);
  });

  it('does not extend an open circuit when sends already in flight fail', () => {
    const { b, changes } = breaker(1);
    failSends(b, 1, T0);
    b.failed(T0 + 10);
    expect(b.blockedUntil(T0 + 10)).toBe(T0 + COOL_DOWN);
    expect(changes).toHaveLength(1);
  });

  it('lets a new trial go when the earlier one never settled', () => {
    const { b } = breaker(1);
    failSends(b, 1, T0);
    const halfOpen = T0 + COOL_DOWN;
    b.blockedUntil(halfOpen);
    b.sending(halfOpen);
    expect(b.blockedUntil(halfOpen + COOL_DOWN - 1)).toBe(halfOpen + COOL_DOWN);
    expect(b.blockedUntil(halfOpen + COOL_DOWN)).toBeUndefined();
  });

  it('always defers to a time after now', () => {
    const { b } = breaker(1);
    failSends(b, 1, T0);
    for (let at = T0; at < T0 + COOL_DOWN; at += 997) expect(b.blockedUntil(at)).toBeGreaterThan(at);
  });

  it('rejects nonsense settings', () => {
    expect(() => new CircuitBreaker({ failures: 0, coolDownMs: 1 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ failures: 1, coolDownMs: -1 })).toThrow(RangeError);
  });
});
