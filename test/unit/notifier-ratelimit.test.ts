import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/actors/notifier/rate-limit.js';

const T0 = 1_700_000_000_000;

describe('RateLimiter', () => {
  it('lets the first send go and gives the excess evenly spaced slots', () => {
    const limiter = new RateLimiter({ perSecond: 10 });
    const slots = ['a', 'b', 'c', 'd'].map((key) => limiter.acquire(key, T0));
    expect(slots).toEqual([undefined, T0 + 100, T0 + 200, T0 + 300]);
    expect(limiter.reserved).toBe(3);
  });

  it('lets a deferred send through when it comes back at its slot, without queueing it again', () => {
    const limiter = new RateLimiter({ perSecond: 10 });
    limiter.acquire('a', T0);
    expect(limiter.acquire('b', T0)).toBe(T0 + 100);
    // Coming back early (a redelivered message) keeps the same slot.
    expect(limiter.acquire('b', T0 + 50)).toBe(T0 + 100);
    expect(limiter.acquire('b', T0 + 100)).toBeUndefined();
    expect(limiter.reserved).toBe(0);
    // The next newcomer queues behind b's slot.
    expect(limiter.acquire('c', T0 + 100)).toBe(T0 + 200);
  });

  it('never lets more than perSecond sends go in any second', () => {
    const limiter = new RateLimiter({ perSecond: 5 });
    const sentAt: number[] = [];
    const waiting = new Map<string, number>();
    for (let t = T0, n = 0; t < T0 + 3_000; t += 10) {
      // 100 sends per second offered; deferred ones come back exactly at their slot.
      for (const [key, slot] of waiting) {
        if (slot > t) continue;
        waiting.delete(key);
        const again = limiter.acquire(key, t);
        if (again === undefined) sentAt.push(t);
        else waiting.set(key, again);
      }
      const key = `k${n++}`;
      const slot = limiter.acquire(key, t);
      if (slot === undefined) sentAt.push(t);
      else waiting.set(key, slot);
    }
    for (const at of sentAt) expect(sentAt.filter((s) => s >= at && s < at + 1_000).length).toBeLessThanOrEqual(5);
    expect(sentAt.length).toBeGreaterThanOrEqual(15);
  });

  it('allows a burst after an idle spell when configured', () => {
    const limiter = new RateLimiter({ perSecond: 2, burst: 3 });
    expect(['a', 'b', 'c', 'd'].map((key) => limiter.acquire(key, T0))).toEqual([undefined, undefined, undefined, T0 + 500]);
    expect(limiter.acquire('e', T0 + 10_000)).toBeUndefined();
  });

  it('queues again a send that released its slot or came back far too late', () => {
    const limiter = new RateLimiter({ perSecond: 10 });
    limiter.acquire('a', T0);
    expect(limiter.acquire('b', T0)).toBe(T0 + 100);
    limiter.release('b');
    expect(limiter.acquire('b', T0 + 150)).toBe(T0 + 200);
    expect(limiter.acquire('b', T0 + 5_000)).toBeUndefined();
    expect(limiter.acquire('c', T0 + 5_000)).toBe(T0 + 5_100);
  });

  it('forgets slots nobody came back for', () => {
    const limiter = new RateLimiter({ perSecond: 1 });
    limiter.acquire('a', T0);
    limiter.acquire('b', T0);
    expect(limiter.reserved).toBe(1);
    limiter.acquire('c', T0 + 120_000);
    expect(limiter.reserved).toBe(0);
  });

  it('rejects nonsense settings', () => {
    expect(() => new RateLimiter({ perSecond: 0 })).toThrow(RangeError);
    expect(() => new RateLimiter({ perSecond: 1, burst: 0.5 })).toThrow(RangeError);
  });
});
