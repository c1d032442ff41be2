import { createHash } from 'node:crypto';
import type { ActorContext } from '../actor.js';
import { envelope } from '../../bus/messages.js';

/** One delivery per alert message and receiver, whatever the number of times the message arrives. */
export function deliveryId(messageId: string, receiver: string): string {
  return `dlv-${createHash('sha256').update(`${messageId}\n${receiver}`).digest('hex').slice(0, 32)}`;
}

/**
 * Named after the time the retry is due rather than an attempt number: `resend` starts the count
 * again, and the transport drops ids it has recently seen.
 */
export function retryMessageId(deliveryId: string, dueAt: number): string {
  return `${deliveryId}-retry-${dueAt}`;
}

export interface Backoff {
  baseMs: number;
  capMs: number;
}

/** 2s, 4s, 8s... up to 5 minutes: with 10 attempts a receiver gets about 15 minutes to come back. */
export const DEFAULT_BACKOFF: Backoff = { baseMs: 2_000, capMs: 300_000 };

/**
 * Delay after the n-th failed attempt: doubles up to the cap, then half of it is random ("equal jitter")
 * so retries to a receiver that was down spread out, yet none is immediate.
 */
export function retryDelayMs(failedAttempts: number, backoff: Backoff, random: () => number): number {
  const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** (failedAttempts - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Publishes the delayed message that retries a delivery at `dueAt`; publishing it twice sends one message. */
export async function scheduleRetry(deps: Pick<ActorContext, 'bus' | 'clock'>, deliveryId: string, dueAt: number): Promise<void> {
  const now = deps.clock.now();
  const message = envelope('delivery.retry', retryMessageId(deliveryId, dueAt), { deliveryId }, deliveryId, now);
  await deps.bus.publish([message], { delayMs: Math.max(0, dueAt - now) });
}

export type ResendResult = 'requeued' | 'not_found' | 'not_dead';

/**
 * Gives a dead delivery a new set of attempts, starting now (for the API and CLI). Only the store and bus
 * are needed, so any process can call it; the notifier picks the retry up.
 */
export async function resend(deps: Pick<ActorContext, 'store' | 'bus' | 'clock'>, id: string): Promise<ResendResult> {
  const record = await deps.store.deliveries.get(id);
  if (!record) return 'not_found';
  if (record.status !== 'dead') return 'not_dead';
  const now = deps.clock.now();
  await deps.store.deliveries.put({ ...record, status: 'pending', attempts: 0, nextAttemptAt: now, updatedAt: now });
  await scheduleRetry(deps, id, now);
  return 'requeued';
}
