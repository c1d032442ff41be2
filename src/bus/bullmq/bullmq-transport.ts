import { Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../../observability/logger.js';
import type { Envelope, InboxName } from '../messages.js';
import type { ConsumeOptions, Consumer, Handler, SendOptions, Transport } from '../transport.js';
import {
  DEFAULT_DEAD_LETTER_LIMIT,
  DEFAULT_DEDUP_WINDOW_MS,
  assertEnvelopes,
  assertInbox,
  errorMessage,
  isPermanent,
  partitionCounts,
  partitionFor,
  resolveConsumeOptions,
  retryDelayMs,
  sendDelayMs,
  type RetryDefaults,
} from '../transport-support.js';

export interface BullmqTransportOptions extends RetryDefaults {
  redisUrl: string;
  /** Key prefix, so several deployments can share one Redis. */
  prefix: string;
  /** Partitions per inbox (default 1). */
  partitions: Partial<Record<InboxName, number>>;
  /** How long a completed job id blocks duplicates. @defaultValue 5 minutes */
  dedupWindowMs?: number;
  /** Failed jobs (dead letters) kept per partition queue. @defaultValue 1000 */
  deadLetterLimit?: number;
  /** Completed job ids kept per partition queue for deduplication, whatever their age. @defaultValue 100000 */
  completedLimit?: number;
  logger?: Logger;
}

/** BullMQ's own attempt limit is set out of reach: the consumer's backoff strategy decides when to stop. */
const ATTEMPT_CEILING = 1_000_000;
const BACKOFF_TYPE = 'vigil';
/** What a backoff strategy returns to make BullMQ fail the job instead of retrying it. */
const STOP_RETRYING = -1;

/**
 * BullMQ job ids may not contain ':' and may not look like integers: escape '%' and ':' (so the mapping
 * stays one-to-one) and prefix a letter.
 */
export function jobIdOf(messageId: string): string {
  return `m-${messageId.replace(/%/g, '%25').replace(/:/g, '%3A')}`;
}

const NON_FINITE_TAG = '__vigil_non_finite__';

/** JSON loses NaN and ±Infinity (metric values can be either), so they travel tagged. */
export function encodeEnvelope(envelope: Envelope): string {
  return JSON.stringify(envelope, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? { [NON_FINITE_TAG]: String(value) } : value));
}

export function decodeEnvelope(data: unknown): Envelope {
  if (typeof data !== 'string') throw new TypeError('job data is not an encoded message');
  // A reviver runs for every value and triples the parse time; most messages carry no tag and skip it.
  const envelope = (
    data.includes(NON_FINITE_TAG)
      ? JSON.parse(data, (_key, value: unknown) =>
          value !== null && typeof value === 'object' && NON_FINITE_TAG in value ? Number((value as Record<string, string>)[NON_FINITE_TAG]) : value,
        )
      : JSON.parse(data)
  ) as Envelope;
  if (typeof envelope?.id !== 'string' || typeof envelope.type !== 'string') throw new TypeError('job data is not a message envelope');
  return envelope;
}

function queueName(inbox: InboxName, partition: number): string {
  return `${inbox}.${partition}`;
}

/**
 * Redis-backed transport: one BullMQ queue per inbox partition and one worker with concurrency 1 per
 * consumed partition, which is what keeps messages of one key in order across processes.
 */
export class BullmqTransport implements Transport {
  readonly kind = 'bullmq' as const;
  private readonly partitionCount: (inbox: InboxName) => number;
  /** Commands from send/depth/ping: fail fast when Redis is away instead of queueing forever. */
  private readonly producer: Redis;
  /** Shared by workers, opened on first consume; BullMQ requires maxRetriesPerRequest null and opens a blocking duplicate per worker. */
  private workerConnection: Redis | undefined;
  private readonly queues = new Map<string, Queue>();
  private readonly consumers = new Set<Consumer>();
  private readonly jobOptions: JobsOptions;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: BullmqTransportOptions) {
    this.partitionCount = partitionCounts(options.partitions);
    if (typeof options.prefix !== 'string' || options.prefix.length === 0) throw new TypeError('bullmq transport: prefix must be a non-empty string');
    const dedupWindowMs = options.dedupWindowMs ?? DEFAULT_DEDUP_WINDOW_MS;
    this.jobOptions = {
      attempts: ATTEMPT_CEILING,
      backoff: { type: BACKOFF_TYPE },
      // Completed jobs stay for the dedup window, so a recent duplicate id is still ignored by BullMQ.
      removeOnComplete: { age: Math.max(1, Math.ceil(dedupWindowMs / 1000)), count: options.completedLimit ?? 100_000 },
      removeOnFail: { count: options.deadLetterLimit ?? DEFAULT_DEAD_LETTER_LIMIT },
    };
    this.producer = this.connect('producer', { maxRetriesPerRequest: 1 });
  }

  partitions(inbox: InboxName): number {
    return this.partitionCount(inbox);
  }

  async send(inbox: InboxName, messages: readonly Envelope[], options?: SendOptions): Promise<void> {
    this.assertOpen('send');
    const partitions = this.partitionCount(inbox);
    assertEnvelopes(inbox, messages);
    const delay = sendDelayMs(options);
    await this.reachable();
    const byPartition = new Map<number, { name: string; data: string; opts: JobsOptions }[]>();
    for (const m of messages) {
      const partition = partitionFor(m, partitions);
      const jobs = byPartition.get(partition) ?? [];
      jobs.push({ name: m.type, data: encodeEnvelope(m), opts: { ...this.jobOptions, jobId: jobIdOf(m.id), ...(delay > 0 ? { delay } : {}) } });
      byPartition.set(partition, jobs);
    }
    await Promise.all([...byPartition].map(([partition, jobs]) => this.queue(inbox, partition).addBulk(jobs)));
  }

  async consume(inbox: InboxName, handler: Handler, options: ConsumeOptions = {}): Promise<Consumer> {
    this.assertOpen('consume');
    if (typeof handler !== 'function') throw new TypeError(`consume "${inbox}": handler must be a function`);
    const resolved = resolveConsumeOptions(inbox, this.partitionCount(inbox), options, this.options);
    await this.reachable();
    this.workerConnection ??= this.connect('worker', { maxRetriesPerRequest: null });
    const connection = this.workerConnection;
    const log = this.options.logger?.child({ inbox });
    const workers = resolved.partitions.map((partition) => {
      const worker = new Worker(
        queueName(inbox, partition),
        async (job: Job) => {
          let envelope: Envelope;
          try {
            envelope = decodeEnvelope(job.data);
          } catch (err) {
            throw new UnrecoverableError(`unreadable message in job ${job.id ?? '?'}: ${errorMessage(err)}`);
          }
          try {
            await handler(envelope, { attempt: job.attemptsMade + 1, partition });
          } catch (err) {
            if (isPermanent(err)) throw new UnrecoverableError(errorMessage(err));
            throw err instanceof Error ? err : new Error(errorMessage(err));
          }
        },
        {
          connection,
          prefix: this.options.prefix,
          concurrency: 1,
          settings: {
            backoffStrategy: (failedAttempts: number) =>
              failedAttempts >= resolved.maxAttempts ? STOP_RETRYING : retryDelayMs(failedAttempts, resolved.backoffMs),
          },
        },
      );
      worker.on('error', (err) => log?.error({ err, partition }, 'bullmq worker error'));
      worker.on('failed', (job, err) => {
        if (job && job.finishedOn) log?.warn({ err, partition, msgId: job.id, attempts: job.attemptsMade }, 'message dead-lettered');
      });
      return worker;
    });
    try {
      await Promise.all(workers.map((w) => w.waitUntilReady()));
    } catch (err) {
      await settleAll(workers.map((w) => () => w.close()));
      throw err;
    }
    let closed: Promise<void> | undefined;
    const consumer: Consumer = {
      close: () => {
        closed ??= settleAll(workers.map((w) => () => w.close())).finally(() => this.consumers.delete(consumer));
        return closed;
      },
    };
    this.consumers.add(consumer);
    return consumer;
  }

  async depth(inbox: InboxName): Promise<number> {
    await this.reachable();
    const counts = await Promise.all(this.partitionQueues(inbox).map((q) => q.getJobCounts('waiting', 'delayed', 'active', 'prioritized')));
    return counts.reduce((sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0), 0);
  }

  async deadLetters(inbox: InboxName): Promise<Envelope[]> {
    await this.reachable();
    const failed = (await Promise.all(this.partitionQueues(inbox).map((q) => q.getFailed(0, -1)))).flat();
    failed.sort((a, b) => (a.finishedOn ?? 0) - (b.finishedOn ?? 0));
    const letters: Envelope[] = [];
    for (const job of failed) {
      try {
        letters.push(decodeEnvelope(job.data));
      } catch (err) {
        this.options.logger?.warn({ err, inbox, jobId: job.id }, 'unreadable dead letter skipped');
      }
    }
    return letters;
  }

  async ping(): Promise<void> {
    this.assertOpen('ping');
    let reply: string;
    try {
      reply = await this.producer.ping();
    } catch (err) {
      throw new Error(`bullmq transport: Redis at ${redisAddress(this.options.redisUrl)} is unreachable: ${errorMessage(err)}`, { cause: err });
    }
    if (reply !== 'PONG') throw new Error(`bullmq transport: Redis answered PING with ${reply}`);
  }

  /** Closes workers (letting active jobs finish), then queues, then connections; every step runs even if one fails. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const consumerErrors = await settle([...this.consumers].map((c) => () => c.close()));
      const otherErrors = await settle([
        ...[...this.queues.values()].map((q) => () => q.close()),
        () => disconnect(this.workerConnection),
        () => disconnect(this.producer),
      ]);
      raise([...consumerErrors, ...otherErrors]);
    })();
    return this.closing;
  }

  private assertOpen(operation: string): void {
    if (this.closing) throw new Error(`bullmq transport is closed: cannot ${operation}`);
  }

  /**
   * BullMQ waits forever for a connection that is not ready yet; a PING through the fail-fast producer
   * turns an unreachable Redis into an error instead.
   */
  private async reachable(): Promise<void> {
    if (this.producer.status !== 'ready') await this.ping();
  }

  private connect(role: string, options: { maxRetriesPerRequest: number | null }): Redis {
    // Reconnect quickly (capped at 1 s) so a command waiting on a reconnect fails or succeeds soon.
    const client = new Redis(this.options.redisUrl, { ...options, retryStrategy: (times) => Math.min(times * 100, 1000) });
    // Without a listener an unreachable Redis would crash the process; ioredis reconnects by itself.
    client.on('error', (err) => this.options.logger?.warn({ err, role }, 'redis connection error'));
    return client;
  }

  private queue(inbox: InboxName, partition: number): Queue {
    const name = queueName(inbox, partition);
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.producer, prefix: this.options.prefix });
      queue.on('error', (err) => this.options.logger?.warn({ err, queue: name }, 'bullmq queue error'));
      this.queues.set(name, queue);
    }
    return queue;
  }

  private partitionQueues(inbox: InboxName): Queue[] {
    assertInbox(inbox);
    return Array.from({ length: this.partitionCount(inbox) }, (_, p) => this.queue(inbox, p));
  }
}

/** host:port only: the URL may carry a password. */
function redisAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return '(unparsable redis_url)';
  }
}

/** QUIT lets pending replies arrive; a client that is not connected is just dropped (QUIT would wait for it). */
async function disconnect(client: Redis | undefined): Promise<void> {
  if (client?.status === 'ready') await client.quit();
  else client?.disconnect();
}

/** Runs every step even when some fail; returns the failures. */
async function settle(steps: (() => Promise<unknown>)[]): Promise<unknown[]> {
  const results = await Promise.allSettled(steps.map((step) => step()));
  return results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
}

function raise(errors: unknown[]): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} cleanup steps failed`);
}

async function settleAll(steps: (() => Promise<unknown>)[]): Promise<void> {
  raise(await settle(steps));
}
