import type { TransportConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { BullmqTransport } from './bullmq/bullmq-transport.js';
import { LocalTransport } from './local/local-transport.js';
import type { Transport } from './transport.js';

export interface CreateTransportOptions {
  /** Journal for the local transport; memory only when omitted. Ignored by bullmq. */
  journalPath?: string;
  logger?: Logger;
}

/** Builds the transport the configuration names. Partition counts are validated by the adapter. */
export function createTransport(config: TransportConfig, opts: CreateTransportOptions = {}): Transport {
  switch (config.kind) {
    case 'local':
      return new LocalTransport({ partitions: config.partitions, journalPath: opts.journalPath, logger: opts.logger });
    case 'bullmq':
      if (!config.redis_url) throw new Error('transport.redis_url is required when transport.kind is bullmq');
      return new BullmqTransport({ redisUrl: config.redis_url, prefix: config.prefix, partitions: config.partitions, logger: opts.logger });
    default:
      throw new Error(`unknown transport kind "${String((config as { kind: unknown }).kind)}": expected local or bullmq`);
  }
}
