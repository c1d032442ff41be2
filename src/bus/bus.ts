import { ROUTES, type Envelope, type MessageType } from './messages.js';
import type { SendOptions, Transport } from './transport.js';

/** What an actor is given to talk to others: publish a message; the routing table decides who hears it. */
export interface Bus {
  publish(messages: readonly Envelope[], options?: SendOptions): Promise<void>;
}

/** Fans each message out to the inboxes that subscribe to its type, one send per inbox. */
export function createBus(transport: Transport): Bus {
  return {
    async publish(messages, options) {
      const byType = new Map<MessageType, Envelope[]>();
      for (const m of messages) {
        const list = byType.get(m.type);
        if (list) list.push(m);
        else byType.set(m.type, [m]);
      }
      const sends: Promise<void>[] = [];
      for (const [type, list] of byType) {
        for (const inbox of ROUTES[type]) sends.push(transport.send(inbox, list, options));
      }
      await Promise.all(sends);
    },
  };
}
