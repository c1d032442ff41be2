import { partitionOf } from '../series/series.js';
import { INBOXES, type Envelope, type InboxName } from './messages.js';
import { PermanentError, type ConsumeOptions, type SendOptions } from './transport.js';

/**
 * Rules both transport adapters share, so they partition, validate and retry identically.
 */

export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_BACKOFF_MS = 200;
/** How long a completed message id keeps blocking duplicates. */
export const DEFAULT_DEDUP_WINDOW_MS = 5 * 60_000;
/** Dead letters kept per inbox (oldest dropped first), so a poison stream cannot exhaust memory or disk. */
export const DEFAULT_DEAD_LETTER_LIMIT = 1000;
export const MAX_PARTITIONS = 1024;
/** Fraction of the backoff added at random, so retries of a burst do not land together. */
const BACKOFF_JITTER = 0.1;

/** Defaults applied to every consume() call that does not set them. */
export interface RetryDefaults {
  maxAttempts?: number;
  backoffMs?: number;
}

export function isInbox(name: string): name is InboxName {
  return (INBOXES as readonly string[]).includes(name);
}

export function assertInbox(inbox: string): asserts inbox is InboxName {
  if (!isInbox(inbox)) throw new TypeError(`unknown inbox "${inbox}": expected one of ${INBOXES.join(', ')}`);
}

/** Validates the partitions-per-inbox map (as written in the config) and returns the count lookup. */
export function partitionCounts(partitions: Partial<Record<string, number>>): (inbox: InboxName) => number {
  const counts = new Map<InboxName, number>();
  for (const [inbox, count] of Object.entries(partitions)) {
    assertInbox(inbox);
    if (count === undefined) continue;
    if (!Number.isInteger(count) || count < 1 || count > MAX_PARTITIONS) {
      throw new RangeError(`transport partitions for "${inbox}" must be an integer from 1 to ${MAX_PARTITIONS}, got ${String(count)}`);
    }
    counts.set(inbox, count);
  }
  return (inbox) => {
    assertInbox(inbox);
    return counts.get(inbox) ?? 1;
  };
}

/** Keyed messages follow their key; keyless ones spread by id. */
export function partitionFor(message: Envelope, partitions: number): number {
  return partitionOf(message.key ?? message.id, partitions);
}

/** Rejects a malformed batch before any of it is queued, naming the offending message. */
export function assertEnvelopes(inbox: InboxName, messages: readonly Envelope[]): void {
  if (!Array.isArray(messages)) throw new TypeError(`send to "${inbox}": messages must be an array`);
  messages.forEach((m, i) => {
    const where = `send to "${inbox}": message ${i}`;
    if (typeof m !== 'object' || m === null) throw new TypeError(`${where} is not an object`);
    if (typeof m.id !== 'string' || m.id.length === 0) throw new TypeError(`${where} has no id (a non-empty string)`);
    if (typeof m.type !== 'string' || m.type.length === 0) throw new TypeError(`${where} (${m.id}) has no type`);
    if (m.key !== undefined && typeof m.key !== 'string') throw new TypeError(`${where} (${m.id}) has a key that is not a string`);
    if (typeof m.ts !== 'number' || !Number.isFinite(m.ts)) throw new TypeError(`${where} (${m.id}) has no numeric ts`);
    if (m.payload === undefined) throw new TypeError(`${where} (${m.id}) has no payload`);
  });
}

export function sendDelayMs(options: SendOptions | undefined): number {
  const delay = options?.delayMs ?? 0;
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
    throw new RangeError(`delayMs must be a finite number >= 0, got ${String(delay)}`);
  }
  return Math.ceil(delay);
}

export interface ResolvedConsumeOptions {
  partitions: number[];
  maxAttempts: number;
  backoffMs: number;
}

export function resolveConsumeOptions(inbox: InboxName, partitionCount: number, options: ConsumeOptions, defaults: RetryDefaults): ResolvedConsumeOptions {
  const maxAttempts = options.maxAttempts ?? defaults.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const backoffMs = options.backoffMs ?? defaults.backoffMs ?? DEFAULT_BACKOFF_MS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new RangeError(`consume "${inbox}": maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  if (!Number.isFinite(backoffMs) || backoffMs < 0) throw new RangeError(`consume "${inbox}": backoffMs must be a number >= 0, got ${backoffMs}`);
  const partitions = options.partitions ? [...new Set(options.partitions)] : Array.from({ length: partitionCount }, (_, i) => i);
  for (const p of partitions) {
    if (!Number.isInteger(p) || p < 0 || p >= partitionCount) {
      throw new RangeError(`consume "${inbox}": partition ${p} does not exist (the inbox has ${partitionCount}: 0..${partitionCount - 1})`);
    }
  }
  return { partitions, maxAttempts, backoffMs };
}

/** Delay before the next attempt after `failedAttempts` failures: doubles each time, plus a little jitter. */
export function retryDelayMs(failedAttempts: number, backoffMs: number, random: () => number = Math.random): number {
  const base = backoffMs * 2 ** Math.max(0, failedAttempts - 1);
  return Math.round(base * (1 + BACKOFF_JITTER * random()));
}

/** Matches by name too, so a PermanentError from another copy of this module still counts. */
export function isPermanent(err: unknown): boolean {
  return err instanceof PermanentError || (err instanceof Error && err.name === 'PermanentError');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
