import { partitionOf } from '../series/series.js';
import { ROUTES, type Envelope, type InboxName, type MessageType } from './messages.js';
import type { SendOptions, Transport } from './transport.js';

/** What an actor is given to talk to others: publish a message; the routing table decides who hears it. */
export interface Bus {
  publish(messages: readonly Envelope[], options?: SendOptions): Promise<void>;
}

/**
 * A batch of samples spans many series, but each series must land in the one partition that owns it
 * (its state lives in exactly one process). Split the batch per partition of the receiving inbox; the
 * key of each part is one of its series, which hashes to that same partition.
 */
function splitSamples(message: Envelope<'samples'>, partitions: number): Envelope[] {
  const groups = new Map<number, Envelope<'samples'>['payload']['samples']>();
  for (const s of message.payload.samples) {
    const p = partitionOf(s.series, partitions);
    const group = groups.get(p);
    if (group) group.push(s);
    else groups.set(p, [s]);
  }
  return [...groups].map(([p, samples]) => ({ ...message, id: `${message.id}-p${p}`, key: samples[0]!.series, payload: { ...message.payload, samples } }));
}

function forInbox(messages: readonly Envelope[], partitions: number): readonly Envelope[] {
  if (partitions <= 1) return messages;
  return messages.flatMap((m) => (m.type === 'samples' ? splitSamples(m as Envelope<'samples'>, partitions) : [m]));
}

/** Fans each message out to the inboxes that subscribe to its type, one send per inbox. */
export function createBus(transport: Transport): Bus {
  return {
    async publish(messages, options) {
      const byInbox = new Map<InboxName, Envelope[]>();
      for (const m of messages) {
        for (const inbox of ROUTES[m.type as MessageType]) {
          const list = byInbox.get(inbox);
          if (list) list.push(m);
          else byInbox.set(inbox, [m]);
        }
      }
      await Promise.all([...byInbox].map(([inbox, list]) => transport.send(inbox, forInbox(list, transport.partitions(inbox)), options)));
    },
  };
}
