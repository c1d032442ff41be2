import { describe, expect, it } from 'vitest';
import { deliveryId, retryDelayMs } from '../../src/actors/notifier/outbox.js';

describe('deliveryId', () => {
  it('is the same for the same message and receiver, different otherwise, and has no ":"', () => {
    expect(deliveryId('msg-1', 'ops')).toBe(deliveryId('msg-1', 'ops'));
    expect(deliveryId('msg-1', 'ops')).not.toBe(deliveryId('msg-1', 'log'));
    expect(deliveryId('msg-1', 'ops')).not.toBe(deliveryId('msg-2', 'ops'));
    expect(deliveryId('a:b', 'ops')).toMatch(/^dlv-[0-9a-f]{32}$/);
  });
});

describe('retryDelayMs', () => {
  const backoff = { baseMs: 1_000, capMs: 8_000 };
  it.each([
    { failedAttempts: 1, random: 0, expected: 500 },
    { failedAttempts: 1, random: 1, expected: 1_000 },
    { failedAttempts: 2, random: 0.5, expected: 1_500 },
    { failedAttempts: 3, random: 0, expected: 2_000 },
    { failedAttempts: 4, random: 1, expected: 8_000 },
    { failedAttempts: 5, random: 1, expected: 8_000 },
    { failedAttempts: 60, random: 0, expected: 4_000 },
    { failedAttempts: 2_000, random: 0.5, expected: 6_000 },
  ])('after $failedAttempts failures with random $random waits $expected ms', ({ failedAttempts, random, expected }) => {
    expect(retryDelayMs(failedAttempts, backoff, () => random)).toBe(expected);
  });
});
