import type { Envelope, InboxName } from './messages.js';

/** Thrown by a handler for a message that can never succeed: it is dead-lettered without retries. */
export class PermanentError extends Error {
  override name = 'PermanentError';
}

export interface DeliveryContext {
  /** 1 on the first delivery, 2 on the first retry, ... */
  attempt: number;
  partition: number;
}

export type Handler = (message: Envelope, ctx: DeliveryContext) => Promise<void>;

export interface SendOptions {
  /** Deliver no earlier than this many milliseconds from now. Survives restarts. */
  delayMs?: number;
}

export interface ConsumeOptions {
  /** Partitions of the inbox this process owns; all partitions when omitted. */
  partitions?: readonly number[];
  /** Attempts before a message is dead-lettered. @defaultValue 5 */
  maxAttempts?: number;
  /** First retry delay; doubles each attempt. @defaultValue 200 */
  backoffMs?: number;
}

export interface Consumer {
  /** Stops taking messages and waits for the ones in flight to finish. Idempotent. */
  close(): Promise<void>;
}

/**
 * Moves messages between actors' inboxes. Guarantees, checked by test/contract/transport.contract.ts:
 * - at least once: a message is redelivered until its handler returns, up to maxAttempts, then dead-lettered;
 * - deduplication: a message whose id is already queued or recently completed in that inbox is dropped;
 * - order per key: messages with the same key are handled one at a time in send order (a retried message may be overtaken);
 * - delayed messages wait at least delayMs and survive a restart;
 * - close() drains: in-flight handlers finish, nothing new starts.
 */
export interface Transport {
  readonly kind: 'local' | 'bullmq';
  /** Number of partitions of an inbox; a key always maps to the same partition. */
  partitions(inbox: InboxName): number;
  send(inbox: InboxName, messages: readonly Envelope[], options?: SendOptions): Promise<void>;
  consume(inbox: InboxName, handler: Handler, options?: ConsumeOptions): Promise<Consumer>;
  /** Messages waiting (including delayed) in an inbox. */
  depth(inbox: InboxName): Promise<number>;
  /** Messages that exhausted their attempts. */
  deadLetters(inbox: InboxName): Promise<Envelope[]>;
  /** Throws when the backend is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
