import { partitionOf } from '../series/series.js';
import { riskKey, ROUTES, type Envelope, type InboxName, type MessageType } from './messages.js';
import type { SendOptions, Transport } from './transport.js';

/** What an actor is given to talk to others: publish a message; the routing table decides who hears it. */
export interface Bus {
  publish(messages: readonly Envelope[], options?: SendOptions): Promise<void>;
}

const bySeries = (item: { series: string }) => item.series;
/** Message types that batch items about many series (or resources): the payload field holding them, and each item's partition key. */
const SERIES_BATCHES = {
  samples: { field: 'samples', key: bySeries },
  anomaly: { field: 'events', key: bySeries },
  prediction: { field: 'predictions', key: bySeries },
  risk: { field: 'events', key: riskKey },
} as const;
type SeriesBatchType = keyof typeof SERIES_BATCHES;

const isSeriesBatch = (m: Envelope): m is Envelope<SeriesBatchType> => m.type in SERIES_BATCHES;

/**
 * A batch spans many series, but each series must land in the one partition that owns it (its state,
 * a model or an alert, lives in exactly one process). Split the batch per partition of the receiving
 * inbox; the key of each part is one of its series, which hashes to that same partition.
 */
function splitBySeries(message: Envelope<SeriesBatchType>, partitions: number): Envelope[] {
  const { field } = SERIES_BATCHES[message.type];
  // Each type's items go with its own key function; the table above keeps the two together.
  const key = SERIES_BATCHES[message.type].key as (item: unknown) => string;
  const items = (message.payload as unknown as Record<string, readonly unknown[]>)[field] ?? [];
  const groups = new Map<number, { key: string; items: unknown[] }>();
  for (const item of items) {
    const k = key(item);
    const p = partitionOf(k, partitions);
    const group = groups.get(p);
    if (group) group.items.push(item);
    else groups.set(p, { key: k, items: [item] });
  }
  return [...groups].map(([p, part]) => ({ ...message, id: `${message.id}-p${p}`, key: part.key, payload: { ...message.payload, [field]: part.items } }));
}

function forInbox(messages: readonly Envelope[], partitions: number): readonly Envelope[] {
  if (partitions <= 1) return messages;
  return messages.flatMap((m) => (isSeriesBatch(m) ? splitBySeries(m, partitions) : [m]));
}

export interface BusOptions {
  /** Leaves an inbox out of a message type's route, e.g. an actor the config gives nothing to do; consulted per publish. */
  skip?: (inbox: InboxName, type: MessageType) => boolean;
}

/** Fans each message out to the inboxes that subscribe to its type, one send per inbox. */
export function createBus(transport: Transport, options: BusOptions = {}): Bus {
  const skip = options.skip ?? (() => false);
  return {
    async publish(messages, sendOptions) {
      const byInbox = new Map<InboxName, Envelope[]>();
      for (const m of messages) {
        for (const inbox of ROUTES[m.type as MessageType]) {
          if (skip(inbox, m.type)) continue;
          const list = byInbox.get(inbox);
          if (list) list.push(m);
          else byInbox.set(inbox, [m]);
        }
      }
      await Promise.all([...byInbox].map(([inbox, list]) => transport.send(inbox, forInbox(list, transport.partitions(inbox)), sendOptions)));
    },
  };
}
