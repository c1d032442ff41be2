/**
 * The anomaly detector: one streaming detector per watched series, fed by `samples`, publishing
 * `anomaly` verdicts. The bus splits sample batches by series over this inbox's partitions, so each
 * series (and its model) lives in exactly one process; models are loaded from the store the first time
 * a process sees a series, saved on the `anomaly.tick` of its partition and at stop, relearned when a
 * sustained level change (drift) is seen or on request (`model.retrain`), and batch-trained families
 * retrain on the tick once due.
 */
import { envelope, type AnomalyEvent, type Envelope } from '../../bus/messages.js';
import type { VigilConfig } from '../../config/load.js';
import type { AnomalyConfig } from '../../config/schema.js';
import { createDetector, DEFAULT_THRESHOLD, restoreDetector, type DetectorName, type PointScore, type StreamingDetector } from '../../models/anomaly/detector.js';
import { parseDuration } from '../../series/duration.js';
import { partitionOf, seriesId, type Sample } from '../../series/series.js';
import type { Actor, ActorContext } from '../actor.js';
import { decodeModel, encodeModel, type ModelIdentity } from './model-codec.js';
import { detectorPartitions, partitionKey } from './partition-key.js';
import { MULTIVARIATE_KIND, ResourceWatch, type GroupConfig } from './resource-watch.js';
import { compileSelection, globRegExp, type Selection } from './select.js';
import { SeriesWatch, type SavedWatch, type WatchRules } from './series-watch.js';

/** Fewer recent points than this cannot warm a new detector up. */
export const MIN_RELEARN_POINTS = 64;

type RetrainReason = 'schedule' | 'drift' | 'request';

interface CompiledGroup {
  config: GroupConfig;
  patterns: RegExp[];
}

interface Settings {
  config: AnomalyConfig;
  selection: Selection;
  groups: CompiledGroup[];
  rules: WatchRules;
  retrainIntervalMs: number;
  persistIntervalMs: number;
}

function settingsOf(config: AnomalyConfig): Settings {
  return {
    config,
    selection: compileSelection(config),
    groups: config.multivariate.map((g) => ({ config: g, patterns: g.metrics.map(globRegExp) })),
    rules: {
      threshold: config.threshold ?? DEFAULT_THRESHOLD,
      settlePoints: config.settle.points,
      settleAfterMs: parseDuration(config.settle.after),
      driftPoints: config.retrain.drift_points,
    },
    retrainIntervalMs: parseDuration(config.retrain.interval),
    persistIntervalMs: parseDuration(config.persist_interval),
  };
}

const isSample = (s: unknown): s is Omit<Sample, 't' | 'v'> & { t: unknown; v: unknown } => {
  const x = s as Partial<Sample> | null;
  return typeof x === 'object' && x !== null && typeof x.series === 'string' && typeof x.name === 'string' && typeof x.labels === 'object' && x.labels !== null;
};

/** Tick and message ids must not depend on which process computes them: aligned to the interval. */
const nextDue = (now: number, interval: number) => (Math.floor(now / interval) + 1) * interval;
export const tickMessageId = (partition: number, due: number) => `anomaly-tick-p${partition}-${due}`;

export function createAnomalyDetector(ctx: ActorContext): Actor {
  const log = ctx.logger.child({ actor: 'anomaly-detector' });
  const { store, bus, clock, metrics } = ctx;
  let settings = settingsOf(ctx.config().anomaly);
  const series = new Map<string, SeriesWatch>();
  const resources = new Map<string, ResourceWatch>();
  const modelBytes = new Map<string, number>();
  /** Verdicts computed for a message whose publish failed: its redelivery publishes them instead of re-scoring. */
  const unpublished = new Map<string, Envelope>();
  const loggedProblems = new Set<string>();

  const partitions = () => detectorPartitions(ctx.config().transport.partitions);
  const newDetector = (): StreamingDetector => createDetector(settings.config.detector as DetectorName, { threshold: settings.rules.threshold });
  const watchedGauge = () => metrics.anomalySeries.set(series.size + resources.size);

  function logOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (loggedProblems.has(key)) return;
    loggedProblems.add(key);
    log.warn(fields, `${message} (logged once; counted in vigil_anomaly_points_skipped_total)`);
  }

  async function loadSaved(id: string, kind: string): Promise<(ModelIdentity & { saved: SavedWatch }) | undefined> {
    const stored = await store.models.load(id);
    if (!stored) return undefined;
    try {
      const decoded = decodeModel(stored);
      if (decoded.saved.detector.kind === kind) return decoded;
      log.info({ series: id, stored: decoded.saved.detector.kind, configured: kind }, 'stored model is of another detector; starting this series afresh');
    } catch (err) {
      log.warn({ series: id, err: { message: (err as Error).message } }, 'stored model unreadable; starting this series afresh');
    }
    return undefined;
  }

  function restoreWatch(id: string, name: string, labels: Record<string, string>, saved: SavedWatch): SeriesWatch | undefined {
    try {
      return new SeriesWatch(id, name, labels, restoreDetector(saved.detector), settings.config.retrain.window, saved.watch);
    } catch (err) {
      log.warn({ series: id, err: { message: (err as Error).message } }, 'stored model could not be restored; starting this series afresh');
      return undefined;
    }
  }

  function admit(watch: SeriesWatch): SeriesWatch {
    series.set(watch.id, watch);
    watchedGauge();
    return watch;
  }

  /** The series' watch: in memory, else restored from the store, else new; undefined when max_series is reached. */
  async function seriesWatch(sample: Sample): Promise<SeriesWatch | undefined> {
    const known = series.get(sample.series);
    if (known) return known;
    if (series.size + resources.size >= settings.config.max_series) return undefined;
    const saved = await loadSaved(sample.series, settings.config.detector);
    const restored = saved && restoreWatch(sample.series, sample.name, sample.labels, saved.saved);
    return admit(restored ?? new SeriesWatch(sample.series, sample.name, sample.labels, newDetector(), settings.config.retrain.window));
  }

  async function resourceWatch(group: GroupConfig, resource: string): Promise<ResourceWatch> {
    const id = seriesId(group.name, { [group.by]: resource });
    let watch = resources.get(id);
    if (!watch) {
      const saved = await loadSaved(id, MULTIVARIATE_KIND);
      // A group whose definition changed starts afresh: the stored vector has other members.
      const fits = saved !== undefined && JSON.stringify(saved.saved.detector.params) === JSON.stringify(group);
      watch = new ResourceWatch(group, id, resource, fits ? saved.saved : undefined);
      resources.set(id, watch);
      watchedGauge();
    }
    return watch;
  }

  async function persist(watch: SeriesWatch | ResourceWatch): Promise<void> {
    const who: ModelIdentity = watch instanceof SeriesWatch ? watch : { id: watch.id, name: watch.group.name, labels: { [watch.group.by]: watch.resource } };
    const { meta, weights } = encodeModel(who, watch.save(), clock.now());
    await store.models.save(meta, weights);
    watch.dirty = false;
    modelBytes.set(watch.id, weights.byteLength);
    let total = 0;
    for (const bytes of modelBytes.values()) total += bytes;
    metrics.anomalyModelBytes.set(total);
  }

  /** Series silent for forget_after are saved and leave memory; one that comes back is restored from the store. */
  async function forgetIdle(watches: SeriesWatch[], now: number): Promise<void> {
    const forgetAfter = parseDuration(settings.config.forget_after);
    for (const watch of watches) {
      if (now - watch.state.lastT < forgetAfter) continue;
      if (watch.dirty) await persist(watch);
      series.delete(watch.id);
      modelBytes.delete(watch.id);
    }
    watchedGauge();
  }

  /** A verdict as an event: `who` names the series (or resource) and `metric` picks the recommendation hint. */
  function verdictEvent(
    who: Pick<AnomalyEvent, 'series' | 'name' | 'labels'>,
    metric: string,
    t: number,
    value: number,
    score: PointScore,
    state: AnomalyEvent['state'],
  ): AnomalyEvent {
    const recommendation = settings.selection.recommendation(metric);
    return {
      state,
      ...who,
      t,
      value,
      score: score.score,
      severity: settings.selection.severity(score.score),
      expected: score.expected,
      detectors: score.detectors,
      ...(recommendation !== undefined && { recommendation }),
    };
  }

  function seriesEvent(watch: SeriesWatch, t: number, value: number, score: PointScore, state: AnomalyEvent['state']): AnomalyEvent {
    return verdictEvent({ series: watch.id, name: watch.name, labels: watch.labels }, watch.name, t, value, score, state);
  }

  function resourceEvent(watch: ResourceWatch, t: number, value: number, score: PointScore, state: AnomalyEvent['state'], mainMetric: string): AnomalyEvent {
    const who = { series: watch.id, name: watch.group.name, labels: { [watch.group.by]: watch.resource } };
    return { ...verdictEvent(who, mainMetric, t, value, score, state), resource: watch.resource, members: watch.members };
  }

  /** A quiet series settles by time: its `normal` verdict carries its last value and no score. */
  function silenceEvent(watch: SeriesWatch | ResourceWatch, now: number): AnomalyEvent {
    const last = watch instanceof SeriesWatch ? watch.state.lastValue : NaN;
    const value = Number.isFinite(last) ? last : 0;
    const score: PointScore = { score: 0, expected: { value, lower: value, upper: value }, detectors: {} };
    return watch instanceof SeriesWatch ? seriesEvent(watch, now, value, score, 'normal') : resourceEvent(watch, now, value, score, 'normal', '');
  }

  /** One `anomaly` message per handled message, its id derived from that message's: a redelivery is deduplicated. */
  async function publishVerdicts(cause: string, events: AnomalyEvent[]): Promise<void> {
    if (events.length === 0) return;
    const message = envelope('anomaly', `${cause}-anomaly`, { events }, events[0]!.series, clock.now());
    try {
      await bus.publish([message]);
    } catch (err) {
      unpublished.set(cause, message);
      throw err;
    }
    for (const e of events) metrics.anomalyEvents.inc({ state: e.state, severity: e.severity });
  }

  /** The groups a sample belongs to: each with the resource id and the dimension the sample fills. */
  function groupsOf(sample: Sample): { group: GroupConfig; resource: string; id: string; dim: number }[] {
    const out: { group: GroupConfig; resource: string; id: string; dim: number }[] = [];
    for (const { config: group, patterns } of settings.groups) {
      const resource = sample.labels[group.by];
      const dim = patterns.findIndex((p) => p.test(sample.name));
      if (resource !== undefined && dim >= 0) out.push({ group, resource, id: seriesId(group.name, { [group.by]: resource }), dim });
    }
    return out;
  }

  const isScorable = (s: unknown): s is Sample => isSample(s) && typeof s.v === 'number' && typeof s.t === 'number' && Number.isFinite(s.v) && Number.isFinite(s.t);

  async function onSamples(message: Envelope<'samples'>): Promise<void> {
    const raw: unknown = message.payload.samples;
    const items = Array.isArray(raw) ? (raw as unknown[]) : [];
    if (!Array.isArray(raw)) metrics.anomalyBadPoints.inc({ reason: 'malformed' });
    const samples: Sample[] = [];
    for (const item of items) {
      if (isScorable(item)) samples.push(item);
      else metrics.anomalyBadPoints.inc({ reason: isSample(item) ? 'not_finite' : 'malformed' });
    }
    // Models are loaded before the first point is scored: a store failure fails the message before it
    // changed anything, so its redelivery scores every point exactly once.
    for (const sample of samples) {
      for (const g of groupsOf(sample)) await resourceWatch(g.group, g.resource);
      if (settings.selection.watched(sample.name, sample.labels)) await seriesWatch(sample);
    }

    const events: AnomalyEvent[] = [];
    let scored = 0;
    for (const sample of samples) {
      for (const { id, dim } of groupsOf(sample)) {
        const resource = resources.get(id)!;
        const round = resource.offer(dim, sample.series, sample.t, sample.v, settings.rules, clock.now());
        if (round?.verdict) events.push(resourceEvent(resource, sample.t, round.main.value, round.score, round.verdict, round.main.series.split('{')[0] ?? ''));
      }
      if (!settings.selection.watched(sample.name, sample.labels)) continue;
      const watch = series.get(sample.series);
      if (!watch) {
        metrics.anomalyBadPoints.inc({ reason: 'series_limit' });
        logOnce('series_limit', { maxSeries: settings.config.max_series }, 'anomaly.max_series reached: points of series not yet watched are skipped');
        continue;
      }
      const seen = watch.observe(sample.t, sample.v, settings.rules);
      if ('skipped' in seen) {
        metrics.anomalyBadPoints.inc({ reason: seen.skipped });
        if (seen.skipped === 'detector_error') logOnce(`error:${watch.id}`, { series: watch.id, err: seen.error }, 'the detector failed on a point; the point is skipped');
        continue;
      }
      scored++;
      if (seen.verdict) events.push(seriesEvent(watch, sample.t, sample.v, seen.score, seen.verdict));
      // Right away, not at a tick: the point at which a model changes then depends only on the data.
      if (watch.state.driftDetected) await relearn(watch, 'drift', sample.t);
    }
    metrics.anomalyPoints.inc(scored);
    await publishVerdicts(message.id, events);
  }

  async function trainingFailed(watch: SeriesWatch, reason: RetrainReason, err: unknown): Promise<void> {
    const at = clock.now();
    const message = (err as Error).message;
    metrics.anomalyRetrains.inc({ reason, outcome: 'failed' });
    log.warn({ series: watch.id, reason, err: { message } }, 'model training failed; the current model keeps scoring');
    // Best effort: relearning runs in the middle of a batch, which must not fail half scored.
    await bus.publish([
      envelope(
        'system.event',
        `model-training-failed-${watch.id}-${at}`,
        { source: 'anomaly-detector', kind: 'model.training_failed', severity: 'warning', labels: { series: watch.id, reason }, message: `retraining the model of ${watch.id} failed: ${message}`, at },
        watch.id,
        at,
      ),
    ]).catch((publishErr: unknown) => log.warn({ series: watch.id, err: publishErr }, 'could not publish model.training_failed'));
  }

  /**
   * Relearning: a new detector warmed up on the series' recent points replaces the current one (after a
   * level change the old calibration no longer fits). Its false-alarm rate on that window is recorded.
   */
  async function relearn(watch: SeriesWatch, reason: RetrainReason, at: number): Promise<void> {
    const { t, v } = watch.recentPoints();
    try {
      if (t.length < MIN_RELEARN_POINTS) throw new Error(`only ${t.length} recent points; relearning needs at least ${MIN_RELEARN_POINTS}`);
      const fresh = newDetector();
      let alarms = 0;
      for (let i = 0; i < t.length; i++) {
        const { score } = fresh.update(t[i]!, v[i]!);
        if (!Number.isFinite(score)) throw new Error(`the new model scored ${score} at t=${t[i]}`);
        if (score >= settings.rules.threshold) alarms++;
        if (fresh.retrainDue) await fresh.retrain?.();
      }
      watch.trained(fresh, at, { from: t[0]!, to: t[t.length - 1]!, points: t.length }, { alarmRate: alarms / t.length, alarms });
      metrics.anomalyRetrains.inc({ reason, outcome: 'ok' });
      log.info({ series: watch.id, reason, points: t.length, alarms }, 'model relearned');
    } catch (err) {
      await trainingFailed(watch, reason, err);
    }
  }

  /** Batch-trained families (retrainDue) train at most once per retrain.interval; online ones need nothing. */
  async function retrainOnSchedule(watch: SeriesWatch, now: number): Promise<void> {
    if (!watch.detector.retrainDue || now - watch.state.trainedAt < settings.retrainIntervalMs) return;
    try {
      await watch.detector.retrain?.();
      watch.retrainedInPlace(now);
      metrics.anomalyRetrains.inc({ reason: 'schedule', outcome: 'ok' });
    } catch (err) {
      await trainingFailed(watch, 'schedule', err);
    }
  }

  async function scheduleTick(partition: number, due: number): Promise<void> {
    const now = clock.now();
    await bus.publish([envelope('anomaly.tick', tickMessageId(partition, due), { partition, due }, partitionKey(partition, partitions()), now)], { delayMs: Math.max(0, due - now) });
  }

  async function onTick({ partition, due }: { partition: number; due: number }): Promise<void> {
    const now = clock.now();
    // Scheduled first: a failure below is retried by redelivery, and the chain of ticks goes on regardless.
    await scheduleTick(partition, nextDue(Math.max(now, due), settings.persistIntervalMs));
    const count = partitions();
    const mine = <W extends { id: string }>(watches: Iterable<W>) => [...watches].filter((w) => partitionOf(w.id, count) === partition);
    const owned = mine(series.values());
    // Multivariate groups need a single partition (see check.ts), so partition 0 owns them.
    const ownedResources = partition === 0 ? [...resources.values()] : [];
    const events: AnomalyEvent[] = [];
    for (const watch of [...owned, ...ownedResources]) if (watch.settleIfSilent(now, settings.rules)) events.push(silenceEvent(watch, now));
    await publishVerdicts(tickMessageId(partition, due), events);
    for (const watch of owned) await retrainOnSchedule(watch, now);
    for (const watch of [...owned, ...ownedResources]) if (watch.dirty) await persist(watch);
    await forgetIdle(owned, now);
  }

  async function onRetrain({ series: id, partition }: { series?: string; partition?: number }): Promise<void> {
    const count = partitions();
    const targets = id !== undefined ? [series.get(id) ?? (await restoreById(id))] : [...series.values()].filter((w) => partition === undefined || partitionOf(w.id, count) === partition);
    for (const watch of targets) {
      if (!watch) {
        log.info({ series: id }, 'retrain requested for a series without a model');
        continue;
      }
      await relearn(watch, 'request', clock.now());
      await persist(watch);
    }
  }

  /** A series not seen since start, for a retrain request: restored from its stored model, if any. */
  async function restoreById(id: string): Promise<SeriesWatch | undefined> {
    const saved = await loadSaved(id, settings.config.detector);
    const watch = saved && restoreWatch(id, saved.name, saved.labels, saved.saved);
    return watch && admit(watch);
  }

  async function persistAll(): Promise<void> {
    for (const watch of [...series.values(), ...resources.values()]) if (watch.dirty) await persist(watch);
  }

  return {
    name: 'anomaly-detector',

    async start() {
      const now = clock.now();
      for (let p = 0; p < partitions(); p++) await scheduleTick(p, nextDue(now, settings.persistIntervalMs));
    },

    async handle(message) {
      const pending = unpublished.get(message.id);
      if (pending) {
        await bus.publish([pending]);
        unpublished.delete(message.id);
        return;
      }
      if (message.type === 'samples') {
        if (settings.config.enabled) await onSamples(message as Envelope<'samples'>);
      } else if (message.type === 'anomaly.tick') {
        await onTick((message as Envelope<'anomaly.tick'>).payload);
      } else if (message.type === 'model.retrain') {
        await onRetrain((message as Envelope<'model.retrain'>).payload);
      } else {
        log.warn({ msgId: message.id, type: message.type }, 'unexpected message type ignored');
      }
    },

    async reload(config: VigilConfig) {
      const next = settingsOf(config.anomaly);
      // Another detector: models are saved and dropped, and each series starts afresh with the new one.
      if (next.config.detector !== settings.config.detector) {
        await persistAll();
        series.clear();
        resources.clear();
        modelBytes.clear();
        watchedGauge();
      }
      settings = next;
    },

    async stop() {
      await persistAll();
    },
  };
}
