import type { Actor, ActorContext } from '../../src/actors/actor.js';
import { createAlertManagerWithNoiseControl } from '../../src/actors/alert-manager/noise-control.js';
import { createNotifier } from '../../src/actors/notifier/notifier.js';
import type { Bus } from '../../src/bus/bus.js';
import { envelope, ROUTES, type Envelope, type InboxName } from '../../src/bus/messages.js';
import { parseConfig, type VigilConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import type { Sample } from '../../src/series/series.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';

interface Queued {
  message: Envelope;
  due: number;
  seq: number;
}

/** A binary min-heap on (due, seq): delayed messages in the order a transport would deliver them. */
class Agenda {
  private readonly heap: Queued[] = [];
  get size() {
    return this.heap.length;
  }
  private less(i: number, j: number) {
    const a = this.heap[i] as Queued;
    const b = this.heap[j] as Queued;
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }
  private swap(i: number, j: number) {
    [this.heap[i], this.heap[j]] = [this.heap[j] as Queued, this.heap[i] as Queued];
  }
  push(q: Queued) {
    this.heap.push(q);
    for (let i = this.heap.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  peek(): Queued | undefined {
    return this.heap[0];
  }
  pop(): Queued | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (this.heap.length > 0 && last) {
      this.heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.heap.length && this.less(l, m)) m = l;
        if (r < this.heap.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/**
 * The real alert manager (with noise control and incidents) and the real notifier on one embedded
 * store, joined by a bus that routes by ROUTES like the local transport, under a simulated clock:
 * every message is delivered at its due time, in order, and a pending id is queued once.
 */
export function simulatedDeployment(configText: string, start: number) {
  const config: VigilConfig = parseConfig(configText, '/etc/vigil/simulated.yaml', {});
  const store = SqliteStore.open(':memory:');
  const clock = { t: start, now: () => clock.t };
  const agenda = new Agenda();
  const pendingIds = new Set<string>();
  let seq = 0;
  /** Every message the actors published, in order. */
  const published: Envelope[] = [];
  const bus: Bus = {
    async publish(messages, options) {
      for (const message of messages) {
        published.push(message);
        if (pendingIds.has(message.id)) continue;
        pendingIds.add(message.id);
        agenda.push({ message, due: clock.t + (options?.delayMs ?? 0), seq: seq++ });
      }
    },
  };
  const metrics: Metrics = createMetrics();
  const ctx: ActorContext = { bus, store, clock, metrics, logger: createLogger('silent', { pretty: false }), config: () => config };
  const actors = new Map<InboxName, Actor>([
    ['alert-manager', createAlertManagerWithNoiseControl(ctx)],
    ['notifier', createNotifier(ctx, { random: () => 0.5 })],
  ]);

  async function deliver(message: Envelope): Promise<void> {
    for (const inbox of ROUTES[message.type]) await actors.get(inbox)?.handle(message);
  }

  /** Delivers every message due by `t`, moving the clock along. */
  async function runUntil(t: number): Promise<void> {
    for (let next = agenda.peek(); next && next.due <= t; next = agenda.peek()) {
      agenda.pop();
      pendingIds.delete(next.message.id);
      clock.t = Math.max(clock.t, next.due);
      await deliver(next.message);
    }
    clock.t = Math.max(clock.t, t);
  }

  return {
    store,
    clock,
    metrics,
    config,
    published,
    /** Hands one message to the actors that subscribe to it, at once (as another actor would publish it). */
    deliver,
    async start() {
      for (const actor of actors.values()) await actor.start?.();
    },
    runUntil,
    /** One scrape's samples, handed to the alert manager at their time (as the collector would). */
    async scrape(samples: Sample[], t: number) {
      await runUntil(t);
      await deliver(envelope('samples', `scrape-${t}`, { source: 'simulator', samples }, 'simulator', t));
    },
    async stop() {
      for (const actor of actors.values()) await actor.stop?.();
      await store.close();
    },
  };
}

export type SimulatedDeployment = ReturnType<typeof simulatedDeployment>;
