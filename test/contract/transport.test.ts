import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BullmqTransport } from '../../src/bus/bullmq/bullmq-transport.js';
import { createTransport } from '../../src/bus/create-transport.js';
import { LocalTransport, type LocalTransportOptions } from '../../src/bus/local/local-transport.js';
import { envelope } from '../../src/bus/messages.js';
import { testRedisUrl, uniquePrefix } from '../helpers/env.js';
import { freePort, waitFor } from '../helpers/servers.js';
import { transportContract } from './transport.contract.js';

transportContract('local, in memory', () => ({
  durable: false,
  open: (partitions) => new LocalTransport({ partitions }),
  cleanup: async () => {},
}));

transportContract('local, journaled', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-journal-'));
  return {
    durable: true,
    open: (partitions) => new LocalTransport({ partitions, journalPath: join(dir, 'journal.db') }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

/** Deletes every key under a prefix: the BullMQ queues a test created. */
async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

transportContract('bullmq', () => {
  const prefix = uniquePrefix('bus');
  return {
    durable: true,
    open: (partitions) => new BullmqTransport({ redisUrl: testRedisUrl(), prefix, partitions }),
    cleanup: () => deletePrefix(prefix),
  };
});

describe('local transport journal', () => {
  let dir: string;
  const transports: LocalTransport[] = [];
  const open = (options: Partial<LocalTransportOptions> = {}): LocalTransport => {
    const t = new LocalTransport({ partitions: { 'alert-manager': 3 }, journalPath: join(dir, 'journal.db'), ...options });
    transports.push(t);
    return t;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-journal-'));
  });

  afterEach(async () => {
    await Promise.allSettled(transports.splice(0).map((t) => t.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every message acknowledged before a kill -9 exactly once', async () => {
    const count = 1000;
    const script = fileURLToPath(new URL('./fixtures/transport-journal-writer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, join(dir, 'journal.db'), String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('sent') && resolve());
      void exited.then(() => reject(new Error(`writer exited before sending: ${stderr}`)));
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const t = open();
    expect(await t.depth('alert-manager')).toBe(count);
    const delivered: string[] = [];
    await t.consume('alert-manager', async (m) => void delivered.push(m.id), { maxAttempts: 3, backoffMs: 10 });
    await waitFor('all delivered', async () => delivered.length >= count || undefined, 10_000, 10);
    await sleep(50);
    expect(delivered.length).toBe(count);
    expect(new Set(delivered).size).toBe(count);
    await t.close();

    // Completion is journaled too: a restart redelivers nothing.
    const again = open();
    expect(await again.depth('alert-manager')).toBe(0);
  });

  it('refuses a journal another transport has open', () => {
    open();
    expect(() => open()).toThrow(/in use by another process/);
  });

  it('blocks a completed id only for the dedup window', async () => {
    let now = 1_000_000;
    const t = new LocalTransport({ partitions: {}, dedupWindowMs: 5_000, clock: { now: () => now } });
    transports.push(t);
    const delivered: string[] = [];
    await t.consume('notifier', async (m) => void delivered.push(m.id), { backoffMs: 10 });
    const retry = envelope('delivery.retry', 'retry-1', { deliveryId: 'd1' });
    await t.send('notifier', [retry]);
    await waitFor('first delivery', async () => delivered.length === 1 || undefined);
    now += 4_000;
    await t.send('notifier', [retry]);
    expect(await t.depth('notifier')).toBe(0);
    now += 2_000;
    await t.send('notifier', [retry]);
    await waitFor('second delivery', async () => delivered.length === 2 || undefined);
  });

  it('rejects invalid partition counts with a clear error', () => {
    expect(() => new LocalTransport({ partitions: { 'alert-manager': 0 } })).toThrow(/"alert-manager" must be an integer from 1 to 1024, got 0/);
    expect(() => new LocalTransport({ partitions: { 'no-such-inbox': 2 } as never })).toThrow(/unknown inbox "no-such-inbox"/);
  });
});

describe('bullmq transport without Redis', () => {
  it('fails fast with a clear error and still closes', async () => {
    const t = new BullmqTransport({ redisUrl: `redis://:secret@127.0.0.1:${await freePort()}`, prefix: uniquePrefix('down'), partitions: {} });
    try {
      await expect(t.ping()).rejects.toThrow(/Redis at 127\.0\.0\.1:\d+ is unreachable/);
      const sending = t.send('notifier', [envelope('delivery.retry', 'r1', { deliveryId: 'd1' })]);
      await expect(sending).rejects.toThrow(/Redis at 127\.0\.0\.1:\d+ is unreachable/);
      await expect(sending).rejects.not.toThrow(/secret/);
      await expect(t.consume('notifier', async () => {})).rejects.toThrow(/unreachable/);
    } finally {
      await t.close();
    }
  });
});

describe('createTransport', () => {
  // journal_path is resolved against the config file by the caller and passed as opts.journalPath.
  const base = { prefix: 'vigil', journal_path: 'data/queue.db', partitions: {} };

  it('builds the adapter the config names', async () => {
    const local = createTransport({ ...base, kind: 'local', partitions: { 'alert-manager': 3 } });
    const bullmq = createTransport({ ...base, kind: 'bullmq', redis_url: testRedisUrl(), prefix: uniquePrefix('create'), partitions: { notifier: 2 } });
    try {
      expect([local.kind, local.partitions('alert-manager'), local.partitions('notifier')]).toEqual(['local', 3, 1]);
      expect([bullmq.kind, bullmq.partitions('notifier')]).toEqual(['bullmq', 2]);
      await bullmq.ping();
    } finally {
      await Promise.all([local.close(), bullmq.close()]);
    }
  });

  it('requires redis_url for bullmq', () => {
    expect(() => createTransport({ ...base, kind: 'bullmq' })).toThrow(/transport.redis_url is required/);
  });
});
