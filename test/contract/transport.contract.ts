import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { envelope, type Envelope, type InboxName } from '../../src/bus/messages.js';
import { PermanentError, type Consumer, type DeliveryContext, type Transport } from '../../src/bus/transport.js';
import { makeSample, partitionOf } from '../../src/series/series.js';
import { waitFor } from '../helpers/servers.js';

/** One backing store per test (a temp journal, a Redis prefix...). */
export interface TransportHarness {
  /** Opens a transport on this store. After close(), opening again reopens the same store. */
  open(partitions: Partial<Record<InboxName, number>>): Transport;
  /** Whether messages outlive a transport instance (skips the persistence cases when false). */
  durable: boolean;
  /** Removes the store. */
  cleanup(): Promise<void>;
}

export type TransportFactory = () => TransportHarness | Promise<TransportHarness>;

const INBOX: InboxName = 'alert-manager';
/** Small retry delays keep the suite fast. */
const FAST = { maxAttempts: 5, backoffMs: 10 } as const;

function message(id: string, key?: string): Envelope {
  // NaN and Infinity are legitimate metric values: they must survive every adapter's encoding.
  const samples = [makeSample('up', { job: 'a' }, 1_000, 1), makeSample('load', { job: 'a' }, 1_000, Number.NaN), makeSample('load', { job: 'b' }, 1_000, Number.POSITIVE_INFINITY)];
  return envelope('samples', id, { source: 'contract', samples }, key, 1_700_000_000_000);
}

function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  return waitFor(what, async () => (await probe()) || undefined, timeoutMs, 5);
}

interface Delivery {
  id: string;
  attempt: number;
  partition: number;
  at: number;
}

/** A handler that records every delivery and can be told how to behave per message. */
function recorder(behave: (m: Envelope, ctx: DeliveryContext) => Promise<void> | void = () => {}) {
  const deliveries: Delivery[] = [];
  const messages: Envelope[] = [];
  return {
    deliveries,
    messages,
    ids: () => deliveries.map((d) => d.id),
    handler: async (m: Envelope, ctx: DeliveryContext) => {
      deliveries.push({ id: m.id, attempt: ctx.attempt, partition: ctx.partition, at: Date.now() });
      messages.push(m);
      await behave(m, ctx);
    },
  };
}

export function transportContract(name: string, factory: TransportFactory): void {
  describe(`Transport contract: ${name}`, () => {
    let harness: TransportHarness;
    let opened: Transport[];

    const open = (partitions: Partial<Record<InboxName, number>> = {}): Transport => {
      const t = harness.open(partitions);
      opened.push(t);
      return t;
    };

    beforeEach(async () => {
      harness = await factory();
      opened = [];
    });

    afterEach(async () => {
      await Promise.allSettled(opened.map((t) => t.close()));
      await harness.cleanup();
    });

    it('retries a failing handler and counts attempts until it succeeds', async () => {
      const t = open();
      const r = recorder((_m, ctx) => {
        if (ctx.attempt < 3) throw new Error(`failure ${ctx.attempt}`);
      });
      await t.consume(INBOX, r.handler, FAST);
      const sent = message('retry-1', 'k');
      await t.send(INBOX, [sent]);
      await until('third attempt', () => r.deliveries.length >= 3);
      await until('queue empty', async () => (await t.depth(INBOX)) === 0);
      expect(r.deliveries.map((d) => d.attempt)).toEqual([1, 2, 3]);
      expect(r.messages[2]).toEqual(sent);
      expect(await t.deadLetters(INBOX)).toEqual([]);
    });

    it('dead-letters a message after maxAttempts', async () => {
      const t = open();
      const r = recorder(() => {
        throw new Error('always fails');
      });
      await t.consume(INBOX, r.handler, { maxAttempts: 3, backoffMs: 10 });
      const sent = message('doomed', 'k');
      await t.send(INBOX, [sent]);
      const dead = await until('dead letter', async () => {
        const letters = await t.deadLetters(INBOX);
        return letters.length > 0 && letters;
      });
      expect(dead).toEqual([sent]);
      await sleep(150); // longer than the next backoff would be: no fourth attempt may follow
      expect(r.deliveries.map((d) => d.attempt)).toEqual([1, 2, 3]);
      expect(await t.depth(INBOX)).toBe(0);
    });

    it('dead-letters a PermanentError at once, without retries', async () => {
      const t = open();
      const r = recorder(() => {
        throw new PermanentError('cannot ever work');
      });
      await t.consume(INBOX, r.handler, FAST);
      await t.send(INBOX, [message('poison', 'k')]);
      await until('dead letter', async () => (await t.deadLetters(INBOX)).length === 1);
      await sleep(100);
      expect(r.deliveries.map((d) => d.attempt)).toEqual([1]);
    });

    it('retries a handler that throws a non-Error value', async () => {
      const t = open();
      const r = recorder((_m, ctx) => {
        if (ctx.attempt === 1) throw 'a bare string';
      });
      await t.consume(INBOX, r.handler, FAST);
      await t.send(INBOX, [message('odd-throw')]);
      await until('second attempt', () => r.deliveries.length === 2);
      await until('queue empty', async () => (await t.depth(INBOX)) === 0);
      expect(await t.deadLetters(INBOX)).toEqual([]);
    });

    it('drops a duplicate id while it is queued and after it completed', async () => {
      const t = open();
      await t.send(INBOX, [message('dup', 'k'), message('dup', 'k')]);
      await t.send(INBOX, [message('dup', 'k'), message('other', 'k')]);
      expect(await t.depth(INBOX)).toBe(2);
      const r = recorder();
      await t.consume(INBOX, r.handler, FAST);
      await until('both delivered', () => r.deliveries.length === 2);
      await until('queue empty', async () => (await t.depth(INBOX)) === 0);
      await t.send(INBOX, [message('dup', 'k')]);
      await sleep(100);
      expect(r.ids()).toEqual(['dup', 'other']);
      expect(await t.depth(INBOX)).toBe(0);
    });

    it('keeps per-key order across partitions while partitions run concurrently', async () => {
      const partitions = 4;
      const t = open({ [INBOX]: partitions });
      expect(t.partitions(INBOX)).toBe(partitions);
      const keys = Array.from({ length: 8 }, (_, i) => `series-${i}`);
      expect(new Set(keys.map((k) => partitionOf(k, partitions))).size).toBeGreaterThan(1);
      const perKey = 20;

      const active = new Map<number, number>();
      let maxActiveInPartition = 0;
      let maxActiveOverall = 0;
      const started = new Set<number>();
      let first = true;
      const seen = new Map<string, number[]>();
      const wrongPartition: string[] = [];
      const handler = async (m: Envelope, ctx: DeliveryContext) => {
        const [key, n] = [m.key as string, Number(m.id.split('/')[1])];
        if (ctx.partition !== partitionOf(key, partitions)) wrongPartition.push(m.id);
        active.set(ctx.partition, (active.get(ctx.partition) ?? 0) + 1);
        maxActiveInPartition = Math.max(maxActiveInPartition, active.get(ctx.partition) ?? 0);
        maxActiveOverall = Math.max(maxActiveOverall, [...active.values()].reduce((a, b) => a + b, 0));
        started.add(ctx.partition);
        try {
          // The first handler holds its partition until another partition has started: proof they run concurrently.
          if (first) {
            first = false;
            await until('a second partition to start', () => started.size > 1, 5_000);
          }
          seen.set(key, [...(seen.get(key) ?? []), n]);
          await sleep(1);
        } finally {
          active.set(ctx.partition, (active.get(ctx.partition) ?? 1) - 1);
        }
      };
      await t.consume(INBOX, handler, FAST);
      for (let batch = 0; batch < 4; batch++) {
        const messages: Envelope[] = [];
        for (let n = batch * (perKey / 4); n < (batch + 1) * (perKey / 4); n++) for (const key of keys) messages.push(message(`${key}/${n}`, key));
        await t.send(INBOX, messages);
      }
      await until('all delivered', () => [...seen.values()].reduce((a, l) => a + l.length, 0) === keys.length * perKey);
      for (const key of keys) expect(seen.get(key), key).toEqual(Array.from({ length: perKey }, (_, n) => n));
      expect(wrongPartition).toEqual([]);
      expect(maxActiveInPartition).toBe(1);
      expect(maxActiveOverall).toBeGreaterThan(1);
    });

    it('holds a delayed message until its delay has passed', async () => {
      const t = open();
      const r = recorder();
      await t.consume(INBOX, r.handler, FAST);
      const delayMs = 300;
      const sentAt = Date.now();
      await t.send(INBOX, [message('later', 'k')], { delayMs });
      expect(await t.depth(INBOX)).toBe(1);
      await sleep(delayMs - 100);
      expect(r.deliveries).toEqual([]);
      await until('delayed delivery', () => r.deliveries.length === 1);
      expect((r.deliveries[0] as Delivery).at - sentAt).toBeGreaterThanOrEqual(delayMs);
    });

    it('counts waiting and delayed messages in depth', async () => {
      const t = open({ [INBOX]: 2 });
      await t.send(INBOX, [message('w1', 'a'), message('w2', 'b')]);
      await t.send(INBOX, [message('d1', 'a')], { delayMs: 60_000 });
      expect(await t.depth(INBOX)).toBe(3);
      expect(await t.depth('notifier')).toBe(0);
      const r = recorder();
      await t.consume(INBOX, r.handler, FAST);
      await until('waiting ones delivered', () => r.deliveries.length === 2);
      await until('only the delayed one left', async () => (await t.depth(INBOX)) === 1);
    });

    it.each(['consumer', 'transport'] as const)('%s close() lets the in-flight handler finish and starts nothing new', async (closing) => {
      const t = open();
      let slowFinished = false;
      const r = recorder(async (m) => {
        if (m.id !== 'slow') return;
        await sleep(200);
        slowFinished = true;
      });
      const consumer: Consumer = await t.consume(INBOX, r.handler, FAST);
      await t.send(INBOX, [message('slow', 'k'), message('next', 'k')]);
      await until('slow handler started', () => r.deliveries.length === 1);
      await (closing === 'consumer' ? consumer.close() : t.close());
      expect(slowFinished).toBe(true);
      await sleep(100);
      expect(r.ids()).toEqual(['slow']);
      if (closing === 'consumer') {
        expect(await t.depth(INBOX)).toBe(1);
      } else {
        await expect(t.send(INBOX, [message('too-late')])).rejects.toThrow(/closed/);
        if (harness.durable) {
          const reopened = open();
          const after = recorder();
          await reopened.consume(INBOX, after.handler, FAST);
          await until('remaining message delivered', () => after.deliveries.length === 1);
          await sleep(100);
          expect(after.ids()).toEqual(['next']);
        }
      }
    });

    it('rejects bad input with a clear error and queues nothing', async () => {
      const t = open({ [INBOX]: 2 });
      await expect(t.send('nope' as InboxName, [message('x')])).rejects.toThrow(/unknown inbox "nope"/);
      await expect(t.send(INBOX, [message('ok'), { type: 'samples', ts: 1, payload: {} } as unknown as Envelope])).rejects.toThrow(/message 1 has no id/);
      await expect(t.send(INBOX, [message('ok')], { delayMs: -5 })).rejects.toThrow(/delayMs/);
      await expect(t.consume(INBOX, async () => {}, { partitions: [2] })).rejects.toThrow(/partition 2 does not exist/);
      await expect(t.consume(INBOX, async () => {}, { maxAttempts: 0 })).rejects.toThrow(/maxAttempts/);
      expect(await t.depth(INBOX)).toBe(0);
      await t.ping();
    });

    it('delivers messages, delayed messages and pending retries sent before a restart', async (ctx) => {
      if (!harness.durable) ctx.skip('this adapter keeps nothing across instances');
      const first = open();
      const failer = recorder(() => {
        throw new Error('fail, retry later');
      });
      await first.consume(INBOX, failer.handler, { maxAttempts: 5, backoffMs: 300 });
      await first.send(INBOX, [message('retry-me', 'r')]);
      await until('first attempt failed', () => failer.deliveries.length === 1);
      await first.close();
      const sentAt = Date.now();
      const second = open();
      await second.send(INBOX, [message('a', 'k'), message('b', 'k')]);
      await second.send(INBOX, [message('c', 'k')], { delayMs: 400 });
      await second.close();

      const third = open();
      expect(await third.depth(INBOX)).toBe(4);
      const r = recorder();
      await third.consume(INBOX, r.handler, FAST);
      await until('all four delivered', () => r.deliveries.length === 4);
      await sleep(100);
      expect(r.ids().sort()).toEqual(['a', 'b', 'c', 'retry-me']);
      expect(r.deliveries.find((d) => d.id === 'retry-me')?.attempt).toBe(2);
      expect((r.deliveries.find((d) => d.id === 'c') as Delivery).at - sentAt).toBeGreaterThanOrEqual(400);
      await until('queue empty', async () => (await third.depth(INBOX)) === 0);
      await third.close();

      // Completed ids keep blocking duplicates after a restart too.
      const fourth = open();
      await fourth.send(INBOX, [message('a', 'k')]);
      expect(await fourth.depth(INBOX)).toBe(0);
    });
  });
}
