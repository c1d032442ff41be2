import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { systemClock, type Clock } from '../../actors/actor.js';
import type { Logger } from '../../observability/logger.js';
import { INBOXES, type Envelope, type InboxName } from '../messages.js';
import type { ConsumeOptions, Consumer, Handler, SendOptions, Transport } from '../transport.js';
import {
  DEFAULT_DEAD_LETTER_LIMIT,
  DEFAULT_DEDUP_WINDOW_MS,
  assertEnvelopes,
  assertInbox,
  errorMessage,
  isInbox,
  isPermanent,
  partitionCounts,
  partitionFor,
  resolveConsumeOptions,
  retryDelayMs,
  sendDelayMs,
  type ResolvedConsumeOptions,
  type RetryDefaults,
} from '../transport-support.js';
import { Journal, type JournalEntry } from './journal.js';
import { DueHeap, Fifo } from './queues.js';

export interface LocalTransportOptions extends RetryDefaults {
  /** Partitions per inbox (default 1). */
  partitions: Partial<Record<InboxName, number>>;
  /** SQLite journal that makes queued messages survive a crash; memory only when omitted. */
  journalPath?: string;
  /** How long a completed id blocks duplicates. @defaultValue 5 minutes */
  dedupWindowMs?: number;
  /** Dead letters kept per inbox, oldest dropped first. @defaultValue 1000 */
  deadLetterLimit?: number;
  clock?: Clock;
  logger?: Logger;
}

type Entry = JournalEntry & { partition: number };

/** How many messages a partition handles back to back before letting timers and I/O run. */
const YIELD_EVERY = 64;
/** Completed ids are pruned at most this often. */
const PRUNE_EVERY_MS = 1000;

interface PartitionConsumer {
  handler: Handler;
  options: ResolvedConsumeOptions;
  closing: boolean;
  inFlight: Set<Promise<void>>;
}

class Partition {
  readonly ready = new Fifo<Entry>();
  readonly delayed = new DueHeap<Entry>();
  owner: PartitionConsumer | undefined;
  pumping = false;
  timer: NodeJS.Timeout | undefined;
  timerDueAt = Infinity;

  constructor(readonly index: number) {}
}

class InboxQueues {
  readonly partitions: Partition[];
  /** Ids waiting, delayed or in flight. */
  readonly queued = new Map<string, Entry>();
  /** Completed ids and when, oldest first. */
  readonly completed = new Map<string, number>();
  /** Oldest first. */
  readonly dead = new Map<string, Entry>();

  constructor(
    readonly name: InboxName,
    partitionCount: number,
  ) {
    this.partitions = Array.from({ length: partitionCount }, (_, i) => new Partition(i));
  }
}

/**
 * The embedded transport: in-process queues per inbox partition, optionally journaled to SQLite.
 * Handlers receive the sent object itself (no copy), so they must not mutate messages.
 */
export class LocalTransport implements Transport {
  readonly kind = 'local' as const;
  private readonly inboxes = new Map<InboxName, InboxQueues>();
  private readonly journal: Journal | undefined;
  private readonly clock: Clock;
  private readonly dedupWindowMs: number;
  private readonly deadLetterLimit: number;
  private readonly consumers = new Set<Consumer>();
  private readonly partitionCount: (inbox: InboxName) => number;
  private nextSeq = 1;
  private nextPruneAt = 0;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: LocalTransportOptions) {
    this.partitionCount = partitionCounts(options.partitions);
    this.clock = options.clock ?? systemClock;
    this.dedupWindowMs = options.dedupWindowMs ?? DEFAULT_DEDUP_WINDOW_MS;
    this.deadLetterLimit = options.deadLetterLimit ?? DEFAULT_DEAD_LETTER_LIMIT;
    if (!(this.dedupWindowMs >= 0)) throw new RangeError(`dedupWindowMs must be >= 0, got ${this.dedupWindowMs}`);
    if (!Number.isInteger(this.deadLetterLimit) || this.deadLetterLimit < 0) throw new RangeError(`deadLetterLimit must be an integer >= 0, got ${this.deadLetterLimit}`);
    for (const name of INBOXES) this.inboxes.set(name, new InboxQueues(name, this.partitionCount(name)));
    if (options.journalPath) {
      const path = options.journalPath;
      this.journal = new Journal(path, (err) => this.options.logger?.error({ err, journal: path }, 'transport journal: failed to mark messages done'));
      try {
        this.recover(this.journal);
      } catch (err) {
        this.journal.close();
        throw err;
      }
    }
  }

  partitions(inbox: InboxName): number {
    return this.partitionCount(inbox);
  }

  async send(inbox: InboxName, messages: readonly Envelope[], options?: SendOptions): Promise<void> {
    this.assertOpen('send');
    const queues = this.queues(inbox);
    assertEnvelopes(inbox, messages);
    const now = this.clock.now();
    const dueAt = now + sendDelayMs(options);
    this.pruneCompleted(now);
    const accepted: Entry[] = [];
    const idsInBatch = new Set<string>();
    for (const envelope of messages) {
      if (idsInBatch.has(envelope.id) || this.isKnown(queues, envelope.id, now)) continue;
      idsInBatch.add(envelope.id);
      const partition = partitionFor(envelope, queues.partitions.length);
      accepted.push({ seq: this.nextSeq++, inbox, envelope, dueAt, failedAttempts: 0, partition });
    }
    // Durable first: if the journal write fails, nothing is queued and the caller sees the error.
    // Meanwhile the ids count as queued, so a copy sent in between is a duplicate.
    for (const entry of accepted) queues.queued.set(entry.envelope.id, entry);
    try {
      await this.journal?.append(accepted);
    } catch (err) {
      for (const entry of accepted) queues.queued.delete(entry.envelope.id);
      throw err;
    }
    const touched = new Set<Partition>();
    for (const entry of accepted) {
      const partition = queues.partitions[entry.partition] as Partition;
      this.enqueue(queues, partition, entry, now);
      touched.add(partition);
    }
    for (const partition of touched) this.kick(queues, partition);
  }

  async consume(inbox: InboxName, handler: Handler, options: ConsumeOptions = {}): Promise<Consumer> {
    this.assertOpen('consume');
    const queues = this.queues(inbox);
    if (typeof handler !== 'function') throw new TypeError(`consume "${inbox}": handler must be a function`);
    const resolved = resolveConsumeOptions(inbox, queues.partitions.length, options, this.options);
    const owned = resolved.partitions.map((p) => queues.partitions[p] as Partition);
    const taken = owned.filter((p) => p.owner);
    if (taken.length > 0) throw new Error(`consume "${inbox}": partition ${taken.map((p) => p.index).join(', ')} already has a consumer`);
    const owner: PartitionConsumer = { handler, options: resolved, closing: false, inFlight: new Set() };
    for (const partition of owned) partition.owner = owner;
    let closed: Promise<void> | undefined;
    const consumer: Consumer = {
      close: () => {
        closed ??= (async () => {
          owner.closing = true;
          for (const partition of owned) {
            if (partition.owner === owner) partition.owner = undefined;
            this.clearTimer(partition);
          }
          await Promise.all(owner.inFlight);
          this.consumers.delete(consumer);
        })();
        return closed;
      },
    };
    this.consumers.add(consumer);
    for (const partition of owned) this.kick(queues, partition);
    return consumer;
  }

  async depth(inbox: InboxName): Promise<number> {
    return this.queues(inbox).queued.size;
  }

  async deadLetters(inbox: InboxName): Promise<Envelope[]> {
    return [...this.queues(inbox).dead.values()].map((e) => e.envelope);
  }

  async ping(): Promise<void> {
    this.assertOpen('ping');
  }

  /** Stops taking messages, lets in-flight handlers finish, then closes the journal. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.consumers].map((c) => c.close()));
      for (const queues of this.inboxes.values()) for (const p of queues.partitions) this.clearTimer(p);
      this.journal?.close();
    })();
    return this.closing;
  }

  private assertOpen(operation: string): void {
    if (this.closing) throw new Error(`local transport is closed: cannot ${operation}`);
  }

  private queues(inbox: InboxName): InboxQueues {
    assertInbox(inbox);
    return this.inboxes.get(inbox) as InboxQueues;
  }

  /** Queued, recently completed or dead-lettered ids are all duplicates. */
  private isKnown(queues: InboxQueues, id: string, now: number): boolean {
    if (queues.queued.has(id) || queues.dead.has(id)) return true;
    const doneAt = queues.completed.get(id);
    return doneAt !== undefined && doneAt >= now - this.dedupWindowMs;
  }

  private enqueue(queues: InboxQueues, partition: Partition, entry: Entry, now: number): void {
    queues.queued.set(entry.envelope.id, entry);
    if (entry.dueAt > now) partition.delayed.push(entry);
    else partition.ready.push(entry);
  }

  private kick(queues: InboxQueues, partition: Partition): void {
    if (partition.pumping || !partition.owner) return;
    void this.pump(queues, partition);
  }

  /** Handles a partition's messages one at a time, in order, until it is empty or its consumer closes. */
  private async pump(queues: InboxQueues, partition: Partition): Promise<void> {
    partition.pumping = true;
    try {
      let handledSinceYield = 0;
      for (;;) {
        const owner = partition.owner;
        if (!owner || owner.closing) return;
        const now = this.clock.now();
        for (let next = partition.delayed.peek(); next && next.dueAt <= now; next = partition.delayed.peek()) {
          partition.ready.push(partition.delayed.pop() as Entry);
        }
        const entry = partition.ready.shift();
        if (!entry) {
          this.armTimer(queues, partition);
          return;
        }
        const delivery = this.deliver(queues, partition, owner, entry);
        owner.inFlight.add(delivery);
        await delivery;
        owner.inFlight.delete(delivery);
        if (++handledSinceYield >= YIELD_EVERY) {
          handledSinceYield = 0;
          await yieldToEventLoop();
        }
      }
    } finally {
      partition.pumping = false;
    }
  }

  private async deliver(queues: InboxQueues, partition: Partition, owner: PartitionConsumer, entry: Entry): Promise<void> {
    const attempt = entry.failedAttempts + 1;
    try {
      await owner.handler(entry.envelope, { attempt, partition: partition.index });
    } catch (err) {
      this.failed(queues, partition, owner, entry, attempt, err);
      return;
    }
    const now = this.clock.now();
    queues.queued.delete(entry.envelope.id);
    queues.completed.delete(entry.envelope.id);
    queues.completed.set(entry.envelope.id, now);
    this.journal?.complete(entry.seq, now);
  }

  private failed(queues: InboxQueues, partition: Partition, owner: PartitionConsumer, entry: Entry, attempt: number, err: unknown): void {
    const now = this.clock.now();
    entry.failedAttempts = attempt;
    if (isPermanent(err) || attempt >= owner.options.maxAttempts) {
      queues.queued.delete(entry.envelope.id);
      queues.dead.set(entry.envelope.id, entry);
      this.options.logger?.warn({ inbox: queues.name, msgId: entry.envelope.id, attempt, err }, 'message dead-lettered');
      this.journalWrite('dead-letter a message', () => this.journal?.deadLetter(entry.seq, attempt, now, errorMessage(err)));
      this.trimDeadLetters(queues);
      return;
    }
    entry.dueAt = now + retryDelayMs(attempt, owner.options.backoffMs);
    this.journalWrite('schedule a retry', () => this.journal?.retry(entry.seq, attempt, entry.dueAt));
    partition.delayed.push(entry);
  }

  private trimDeadLetters(queues: InboxQueues): void {
    for (const [id, entry] of queues.dead) {
      if (queues.dead.size <= this.deadLetterLimit) return;
      queues.dead.delete(id);
      this.journalWrite('drop an old dead letter', () => this.journal?.forget(entry.seq));
    }
  }

  /**
   * A journal write after delivery failed (disk full, I/O error): the delivery already happened, so it is
   * logged, not thrown; the message keeps its earlier journal state and may be redelivered after a restart.
   */
  private journalWrite(what: string, write: () => void): void {
    try {
      write();
    } catch (err) {
      this.options.logger?.error({ err, journal: this.options.journalPath }, `transport journal: failed to ${what}`);
    }
  }

  private armTimer(queues: InboxQueues, partition: Partition): void {
    const next = partition.delayed.peek();
    if (!next || (partition.timer && partition.timerDueAt <= next.dueAt)) return;
    this.clearTimer(partition);
    partition.timerDueAt = next.dueAt;
    partition.timer = setTimeout(() => {
      partition.timer = undefined;
      partition.timerDueAt = Infinity;
      this.kick(queues, partition);
    }, Math.max(0, next.dueAt - this.clock.now()));
  }

  private clearTimer(partition: Partition): void {
    if (partition.timer) clearTimeout(partition.timer);
    partition.timer = undefined;
    partition.timerDueAt = Infinity;
  }

  private pruneCompleted(now: number): void {
    if (now < this.nextPruneAt) return;
    this.nextPruneAt = now + PRUNE_EVERY_MS;
    const cutoff = now - this.dedupWindowMs;
    for (const queues of this.inboxes.values()) {
      for (const [id, doneAt] of queues.completed) {
        if (doneAt >= cutoff) break;
        queues.completed.delete(id);
      }
    }
    this.journalWrite('prune completed messages', () => this.journal?.pruneCompleted(cutoff));
  }

  private recover(journal: Journal): void {
    const now = this.clock.now();
    const log = this.options.logger;
    const state = journal.recover(now - this.dedupWindowMs, (seq, err) => log?.error({ err, seq, journal: journal.path }, 'transport journal: dropped an unreadable message'));
    this.nextSeq = state.nextSeq;
    const place = (entry: JournalEntry): { queues: InboxQueues; entry: Entry } | undefined => {
      if (!isInbox(entry.inbox)) {
        log?.warn({ inbox: entry.inbox, msgId: entry.envelope.id }, 'transport journal: message for an unknown inbox left in the journal');
        return undefined;
      }
      const queues = this.inboxes.get(entry.inbox) as InboxQueues;
      // Partition counts may have changed since the message was sent: place it by today's count.
      return { queues, entry: { ...entry, partition: partitionFor(entry.envelope, queues.partitions.length) } };
    };
    for (const found of state.queued.map(place)) {
      if (found) this.enqueue(found.queues, found.queues.partitions[found.entry.partition] as Partition, found.entry, now);
    }
    for (const found of state.dead.map(place)) found?.queues.dead.set(found.entry.envelope.id, found.entry);
    for (const { inbox, id, doneAt } of state.completed) {
      if (isInbox(inbox)) this.inboxes.get(inbox)?.completed.set(id, doneAt);
    }
  }
}
