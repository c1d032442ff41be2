import type { Envelope } from '../../bus/messages.js';
import type { VigilConfig } from '../../config/load.js';
import { Incidents, type AlertChange } from '../../incidents/incidents.js';
import { NoiseControl } from '../../noise/suppressor.js';
import type { AlertRecord, Store } from '../../store/store.js';
import type { Actor, ActorContext } from '../actor.js';
import { createAlertManager } from './alert-manager.js';
import type { AlertContext } from './alert.machine.js';

/** States in which an alert may inhibit others and counts as a neighbour. */
const ACTIVE = new Set(['pending', 'firing', 'acknowledged', 'suppressed']);

/** The last few samples of every series, for the incident's related data. */
class RecentSamples {
  private readonly bySeries = new Map<string, [number, number][]>();
  constructor(private readonly limit: () => number) {}
  add(series: string, t: number, v: number): void {
    const limit = this.limit();
    if (limit === 0) return;
    let ring = this.bySeries.get(series);
    if (!ring) this.bySeries.set(series, (ring = []));
    ring.push([t, v]);
    if (ring.length > limit) ring.splice(0, ring.length - limit);
  }
  get(series: string): [number, number][] {
    return [...(this.bySeries.get(series) ?? [])];
  }
}

/** An alert record as the correlator sees it; what suppresses it is in the machine's context. */
export function alertChange(record: AlertRecord): AlertChange {
  const context = (record.snapshot as { context?: Partial<AlertContext> } | undefined)?.context;
  return {
    fingerprint: record.id,
    labels: record.labels,
    annotations: record.annotations,
    state: record.state,
    activeAt: record.activeAt,
    firedAt: record.firedAt,
    series: record.series,
    suppressedBy: record.state === 'suppressed' ? context?.suppressedBy : undefined,
  };
}

/** The store the alert manager writes through: every stored alert record is also handed to `onAlert`, after the write. */
function observingAlerts(store: Store, onAlert: (record: AlertRecord) => void): Store {
  const alerts = store.alerts;
  const observed: Store['alerts'] = {
    get: (id) => alerts.get(id),
    insert: (doc) => alerts.insert(doc),
    find: (query) => alerts.find(query),
    count: (query) => alerts.count(query),
    delete: (id) => alerts.delete(id),
    deleteMany: (query) => alerts.deleteMany(query),
    async put(record) {
      await alerts.put(record);
      onAlert(record);
    },
    async replaceAtRevision(record, revision) {
      const replaced = await alerts.replaceAtRevision(record, revision);
      if (replaced) onAlert(record);
      return replaced;
    },
  };
  return new Proxy(store, { get: (target, key) => (key === 'alerts' ? observed : Reflect.get(target, key, target)) });
}

/**
 * The alert manager with noise control and incidents wired in (the composition only; each part has
 * its own folder): silences, maintenance windows and inhibition as its Suppressor, and its alert writes
 * as the change feed that tells the inhibitor which alerts are active and the correlator what to group.
 * Incidents for a message are written before the message is acknowledged.
 */
export function createAlertManagerWithNoiseControl(ctx: ActorContext): Actor {
  const log = ctx.logger.child({ actor: 'alert-manager', component: 'noise-control' });
  const noise = new NoiseControl(ctx.config());
  const samples = new RecentSamples(() => (ctx.config().incidents.enabled ? ctx.config().incidents.related_samples : 0));
  const active = new Map<string, AlertChange>();
  const incidents = new Incidents({
    store: ctx.store,
    topology: () => noise.topology,
    config: () => ctx.config().incidents,
    recentSamples: (series) => samples.get(series),
    activeAlerts: () => active.values(),
  }, { cacheOpen: true });
  let correlating: Promise<void> = Promise.resolve();

  const track = (change: AlertChange) => {
    const isActive = ACTIVE.has(change.state);
    noise.track({ fingerprint: change.fingerprint, labels: change.labels, suppressed: change.state === 'suppressed' }, isActive);
    if (isActive) active.set(change.fingerprint, change);
    else active.delete(change.fingerprint);
  };

  const onAlert = (record: AlertRecord) => {
    const change = alertChange(record);
    track(change);
    if (!ctx.config().incidents.enabled) return;
    // One change at a time, in write order: the incidents in the store are read, changed and written back.
    correlating = correlating.then(async () => {
      try {
        const outcome = await incidents.observe(change, ctx.clock.now());
        if (outcome) ctx.metrics.incidentsChanged.inc({ outcome: outcome.change });
      } catch (err) {
        ctx.metrics.incidentsChanged.inc({ outcome: 'failed' });
        log.warn({ err, fingerprint: change.fingerprint }, 'incident correlation failed');
      }
    });
  };

  const refreshSilences = async () => {
    noise.setSilences(await ctx.store.silences.find({ range: { field: 'endsAt', from: ctx.clock.now() } }));
  };

  /**
   * Active alerts as stored: on start (restored alerts are read, not written) and at every tick, so
   * alerts owned by other processes (other partitions) inhibit too, one tick late at most.
   */
  const syncActiveAlerts = async () => {
    const records = (await Promise.all([...ACTIVE].map((state) => ctx.store.alerts.find({ where: { state } })))).flat();
    const stored = new Set(records.map((r) => r.id));
    for (const [fingerprint, change] of active) if (!stored.has(fingerprint)) track({ ...change, state: 'inactive' });
    for (const record of records) track(alertChange(record));
  };

  const manager = createAlertManager({ ...ctx, store: observingAlerts(ctx.store, onAlert) }, {
    suppressor: noise,
    slaExcluded: (labels, from, to) => noise.maintenanceCoverage(labels, from, to),
  });

  return {
    name: 'alert-manager',
    async start() {
      await refreshSilences();
      await syncActiveAlerts();
      await manager.start?.();
      await correlating;
    },
    async handle(message) {
      if (message.type === 'samples') for (const s of (message as Envelope<'samples'>).payload.samples) samples.add(s.series, s.t, s.v);
      // Silences made through the API are announced; the tick also lifts expired ones.
      if (message.type === 'silences.changed') await refreshSilences();
      if (message.type === 'rules.tick') {
        await Promise.all([refreshSilences(), syncActiveAlerts()]);
        // Incidents changed through the API (ack, merge, split) reach the correlator here.
        correlating = correlating.then(() => incidents.refresh());
      }
      await manager.handle(message);
      await correlating;
    },
    async reload(config: VigilConfig) {
      noise.configure(config);
      await manager.reload?.(config);
      await correlating;
    },
    async stop() {
      await manager.stop?.();
      await correlating;
    },
  };
}
