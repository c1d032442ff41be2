import { envelope, type Envelope, type PredictionEvent, type RiskEvent } from '../../bus/messages.js';
import type { VigilConfig } from '../../config/load.js';
import type { HoltWintersForecaster } from '../../models/forecast/index.js';
import { parseDuration } from '../../series/duration.js';
import type { Sample } from '../../series/series.js';
import type { Actor, ActorContext } from '../actor.js';
import { loadForecasters, saveForecaster, savePrediction } from './forecast-store.js';
import { compilePredictRule, newForecaster, predict, selects, type CompiledPredictRule } from './predict.js';
import { RiskTracker } from './risk.js';

interface Watched {
  model: HoltWintersForecaster;
  /** Step time of each rule's last forecast. */
  evaluatedAt: Map<string, number>;
  savedAt: number;
  dirty: boolean;
}

/**
 * Forecasts every series a `predict` rule watches and publishes, at most every `forecast.evaluate_every`
 * of sample time, a `prediction` per rule and series: when the threshold is expected to be crossed, how
 * sure, how fast, and by when to alert when the breach falls in an unattended window. It also tracks the
 * precursor risks of `forecast.risks` and publishes `risk` events. Models are saved to the store and
 * reloaded at start.
 */
export function createPredictiveAnalyzer(ctx: ActorContext): Actor {
  const log = ctx.logger.child({ actor: 'predictive-analyzer' });
  const { store, bus, clock, metrics } = ctx;
  let rules: CompiledPredictRule[] = [];
  let watched = new Map<string, Watched>();
  const risks = new RiskTracker();

  function configure(config: VigilConfig): void {
    rules = config.rules.flatMap((r) => (r.kind === 'predict' ? [compilePredictRule(r)] : []));
    risks.configure(config.forecast.risks);
    // A new grid step makes old models useless; they start over on the next sample.
    const step = parseDuration(config.forecast.step);
    for (const [series, w] of watched) if (w.model.step !== step) watched.delete(series);
  }

  function rulesFor(sample: Sample): CompiledPredictRule[] {
    return rules.filter((r) => selects(r.rule, sample));
  }

  function observe(sample: Sample, matching: CompiledPredictRule[]): Watched | undefined {
    let w = watched.get(sample.series);
    if (!w) {
      w = { model: newForecaster(ctx.config().forecast, matching), evaluatedAt: new Map(), savedAt: 0, dirty: false };
      watched.set(sample.series, w);
    }
    try {
      if (!w.model.observe(sample.t, sample.v)) metrics.samplesRejected.inc({ source: 'predictive-analyzer', reason: 'out_of_order' });
    } catch (err) {
      metrics.samplesRejected.inc({ source: 'predictive-analyzer', reason: 'invalid' });
      log.warn({ series: sample.series, err: (err as Error).message }, 'sample not forecastable, skipped');
      return undefined;
    }
    w.dirty = true;
    return w;
  }

  /** `sample` is the series' latest, for its name and labels. */
  function evaluate(w: Watched, sample: Sample, matching: CompiledPredictRule[]): PredictionEvent[] {
    const at = w.model.lastTime;
    if (at === undefined) return [];
    const { evaluate_every, unattended } = ctx.config().forecast;
    const every = parseDuration(evaluate_every);
    const out: PredictionEvent[] = [];
    for (const compiled of matching) {
      const last = w.evaluatedAt.get(compiled.rule.name);
      if (last !== undefined && at - last < every) continue;
      w.evaluatedAt.set(compiled.rule.name, at);
      metrics.ruleEvaluations.inc({ rule: compiled.rule.name });
      const prediction = predict(compiled, sample, w.model, unattended);
      if (prediction) out.push(prediction);
    }
    return out;
  }

  async function persist(predictions: PredictionEvent[], force: boolean): Promise<void> {
    const now = clock.now();
    const every = parseDuration(ctx.config().forecast.save_every);
    for (const [series, w] of watched) {
      if (!w.dirty || (!force && now - w.savedAt < every)) continue;
      await saveForecaster(store.models, series, w.model, now);
      w.savedAt = now;
      w.dirty = false;
    }
    for (const p of predictions) await savePrediction(store.models, p, now);
  }

  return {
    name: 'predictive-analyzer',

    async start() {
      configure(ctx.config());
      const loaded = await loadForecasters(store.models, (series, err) => log.warn({ series, err: err.message }, 'stored forecaster unreadable; it starts over'));
      const step = parseDuration(ctx.config().forecast.step);
      watched = new Map(
        [...loaded].filter(([, model]) => model.step === step).map(([series, model]) => [series, { model, evaluatedAt: new Map(), savedAt: clock.now(), dirty: false }]),
      );
      log.info({ models: watched.size }, 'forecasters restored');
    },

    async handle(message) {
      if (message.type !== 'samples') {
        log.warn({ msgId: message.id, type: message.type }, 'unexpected message type ignored');
        return;
      }
      const { samples } = (message as Envelope<'samples'>).payload;
      const touched = new Map<Watched, { sample: Sample; matching: CompiledPredictRule[] }>();
      const riskEvents: RiskEvent[] = [];
      for (const sample of samples) {
        riskEvents.push(...risks.observe(sample));
        const matching = rulesFor(sample);
        if (matching.length === 0) continue;
        const w = observe(sample, matching);
        if (w) touched.set(w, { sample, matching });
      }
      const predictions = [...touched].flatMap(([w, { sample, matching }]) => evaluate(w, sample, matching));
      // Ids derive from the samples message, so a redelivered batch publishes the same messages again (deduplicated).
      const out: Envelope[] = [];
      if (predictions.length) out.push(envelope('prediction', `prediction-${message.id}`, { predictions }, message.key, clock.now()));
      if (riskEvents.length) out.push(envelope('risk', `risk-${message.id}`, { events: riskEvents }, message.key, clock.now()));
      if (out.length) await bus.publish(out);
      await persist(predictions, false);
    },

    async reload(config) {
      configure(config);
    },

    async stop() {
      try {
        await persist([], true);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'forecasters not saved at stop');
      }
    },
  };
}
