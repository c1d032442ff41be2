import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { BullmqTransport } from '../../src/bus/bullmq/bullmq-transport.js';
import { LocalTransport } from '../../src/bus/local/local-transport.js';
import { testRedisUrl, uniquePrefix } from '../helpers/env.js';
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
