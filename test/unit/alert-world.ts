import type { Actor, ActorContext } from '../../src/actors/actor.js';
import { createAlertManager, type AlertManagerOptions } from '../../src/actors/alert-manager/alert-manager.js';
import type { Bus } from '../../src/bus/bus.js';
import { envelope, type AnomalyEvent, type Envelope, type PredictionEvent, type SystemEvent } from '../../src/bus/messages.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { makeSample } from '../../src/series/series.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';

export const T0 = Date.UTC(2026, 0, 5, 12, 0, 0); // a Monday
export const MINUTE = 60_000;

/**
 * One simulated alert-manager deployment: a real embedded store, a clock the test moves and a bus that
 * keeps what is published; `advance` hands the actor every delayed message (timers, ticks) as it
 * falls due, in time order, like the transport. A restart (`boot` again) keeps store, clock and bus.
 */
export function alertWorld(configText: string) {
  const store = SqliteStore.open(':memory:');
  const clock = { t: T0, now: () => clock.t };
  const published: { message: Envelope; dueAt: number }[] = [];
  /** Delayed messages not yet delivered. */
  const pending: { message: Envelope; dueAt: number }[] = [];
  const seen = new Set<string>();
  const bus: Bus = {
    async publish(messages, options) {
      for (const message of messages) {
        // Like the transports: a pending message's id is not queued twice.
        if (seen.has(message.id)) continue;
        seen.add(message.id);
        const entry = { message, dueAt: clock.t + (options?.delayMs ?? 0) };
        published.push(entry);
        if (message.type === 'alert.timer' || message.type === 'rules.tick') pending.push(entry);
      }
    },
  };
  const config = parseConfig(configText, '/etc/vigil/vigil.yaml', {});
  let actor: Actor;
  let seq = 0;
  const world = {
    store,
    clock,
    published,
    async boot(options: AlertManagerOptions = {}): Promise<Actor> {
      const ctx: ActorContext = { bus, store, clock, metrics: createMetrics(), logger: createLogger('silent', { pretty: false }), config: () => config };
      actor = createAlertManager(ctx, options);
      await actor.start?.();
      return actor;
    },
    /** Moves the clock to `t`, delivering due delayed messages on the way. */
    async advanceTo(t: number) {
      for (;;) {
        let i = -1;
        for (let j = 0; j < pending.length; j++) if ((pending[j] as { dueAt: number }).dueAt <= t && (i < 0 || (pending[j] as { dueAt: number }).dueAt < (pending[i] as { dueAt: number }).dueAt)) i = j;
        if (i < 0) break;
        const [due] = pending.splice(i, 1) as [{ message: Envelope; dueAt: number }];
        clock.t = Math.max(clock.t, due.dueAt);
        seen.delete(due.message.id);
        await actor.handle(due.message);
      }
      clock.t = t;
    },
    async sample(name: string, labels: Record<string, string>, value: number, t = clock.t) {
      await world.advanceTo(t);
      const s = makeSample(name, labels, t, value);
      await actor.handle(envelope('samples', `s-${++seq}`, { source: 'test', samples: [s] }, s.series, t));
    },
    /** A sample at `t` with the clock moved there, delivering only machine timers (no evaluation ticks): for long stretches of samples. */
    async sampleWithoutTicks(name: string, labels: Record<string, string>, value: number, t: number) {
      for (let i = pending.length - 1; i >= 0; i--) if ((pending[i] as { message: Envelope }).message.type === 'rules.tick') pending.splice(i, 1);
      await world.sample(name, labels, value, t);
    },
    async anomaly(event: Partial<AnomalyEvent> & Pick<AnomalyEvent, 'state' | 'score' | 'severity'>) {
      const labels = event.labels ?? { host: 'a' };
      const full: AnomalyEvent = { series: `cpu{host="${labels.host}"}`, name: 'cpu', labels, t: clock.t, value: 1, expected: { value: 0, lower: 0, upper: 1 }, detectors: {}, ...event };
      await actor.handle(envelope('anomaly', `a-${++seq}`, { events: [full] }, full.series, clock.t));
    },
    async prediction(p: Omit<PredictionEvent, 'series' | 'name' | 't'> & { name?: string }) {
      const full: PredictionEvent = { series: `disk{host="${p.labels.host}"}`, name: 'disk', t: clock.t, ...p };
      await actor.handle(envelope('prediction', `p-${++seq}`, { predictions: [full] }, full.series, clock.t));
    },
    async systemEvent(e: Partial<SystemEvent> & Pick<SystemEvent, 'kind'>) {
      const full: SystemEvent = { source: 'automation', severity: 'warning', labels: {}, message: e.kind, at: clock.t, ...e };
      await actor.handle(envelope('system.event', `e-${++seq}`, full, undefined, clock.t));
    },
    async request(type: 'alert.ack' | 'alert.workflow', payload: Envelope<'alert.ack'>['payload'] | Envelope<'alert.workflow'>['payload']) {
      await actor.handle(envelope(type, `r-${++seq}`, payload as never, undefined, clock.t));
    },
    notifies: () => published.filter((p) => p.message.type === 'alert.notify').map((p) => p.message as Envelope<'alert.notify'>),
    /** `status alertname@minutes-since-T0` for each notification, in order. */
    pages: () =>
      world.notifies().map((n) => `${n.payload.alert.status} ${n.payload.alert.labels.alertname}@${(Date.parse(n.payload.alert.status === 'firing' ? n.payload.alert.startsAt : n.payload.alert.endsAt) - T0) / MINUTE}`),
    async states() {
      return Object.fromEntries((await store.alerts.find()).map((a) => [a.labels.alertname + (a.series ? `|${a.series}` : ''), a.state]));
    },
    async history(fp: string) {
      return (await store.alertEvents.find({ where: { alertId: fp }, orderBy: { field: 'at' } })).map((h) => `${h.from}->${h.to} by ${h.by}: ${h.reason}`);
    },
  };
  return world;
}
