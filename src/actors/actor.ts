import type { Bus } from '../bus/bus.js';
import type { Envelope, InboxName } from '../bus/messages.js';
import type { ConsumeOptions, Consumer, Transport } from '../bus/transport.js';
import type { VigilConfig } from '../config/load.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/store.js';

/** Time as an input, so tests can drive it. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Everything an actor may use. It never sees another actor: it publishes messages on the bus. */
export interface ActorContext {
  bus: Bus;
  store: Store;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** The current configuration; replaced on reload. */
  config(): VigilConfig;
}

export interface Actor {
  readonly name: InboxName;
  /** Called once before the inbox is consumed (load state, start schedules). */
  start?(): Promise<void>;
  /** Handles one inbox message. Throwing makes the transport retry it. Must be idempotent. */
  handle(message: Envelope): Promise<void>;
  /** A new valid config was loaded. */
  reload?(config: VigilConfig): Promise<void>;
  /** Stop schedules and flush; the inbox is already drained. */
  stop?(): Promise<void>;
}

export type ActorFactory = (ctx: ActorContext) => Actor;

export interface RunningActor {
  actor: Actor;
  close(): Promise<void>;
}

/** Starts an actor and connects its inbox, recording latency, outcomes and errors per message. */
export async function runActor(actor: Actor, transport: Transport, ctx: ActorContext, options: ConsumeOptions = {}): Promise<RunningActor> {
  const log = ctx.logger.child({ actor: actor.name });
  await actor.start?.();
  const consumer: Consumer = await transport.consume(
    actor.name,
    async (message, delivery) => {
      const end = ctx.metrics.handlerSeconds.startTimer({ actor: actor.name, type: message.type });
      try {
        await actor.handle(message);
        ctx.metrics.messagesHandled.inc({ actor: actor.name, type: message.type, outcome: 'ok' });
      } catch (err) {
        ctx.metrics.messagesHandled.inc({ actor: actor.name, type: message.type, outcome: 'error' });
        log.warn({ err, msgId: message.id, type: message.type, attempt: delivery.attempt }, 'message handling failed');
        throw err;
      } finally {
        end();
      }
    },
    options,
  );
  let closing: Promise<void> | undefined;
  return {
    actor,
    close() {
      closing ??= (async () => {
        await consumer.close();
        await actor.stop?.();
      })();
      return closing;
    },
  };
}
