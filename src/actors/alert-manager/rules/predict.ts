import type { PredictionEvent } from '../../../bus/messages.js';
import type { PredictRule } from '../../../config/schema.js';
import { parseDuration } from '../../../series/duration.js';
import { matches, type Labels, type Observe, type RuleEvaluator } from './rule.js';

const iso = (t: number) => new Date(t).toISOString();

/** What a prediction alert says: when, the range and the rate. */
function predictionDetails(p: PredictionEvent): Labels {
  const details: Labels = { rate_per_hour: String(p.ratePerHour), confidence: String(p.confidence) };
  if (p.breach) {
    details.predicted_at = iso(p.breach.at);
    details.predicted_range = `${iso(p.breach.earliest)} .. ${iso(p.breach.latest)}`;
  }
  if (p.notifyBy !== undefined) details.notify_by = iso(p.notifyBy);
  return details;
}

/**
 * A forecast activates when the crossing is expected within `within` with enough confidence, or once
 * its notify-by time (the start of an unattended window holding the breach) has come. The value is the
 * series' latest value; when, the range and the rate go into the annotations.
 */
export function predictRule(rule: PredictRule): RuleEvaluator {
  const withinMs = parseDuration(rule.within);
  const latest = new Map<string, Labels>();
  return {
    name: rule.name,
    config: rule,
    timing: { forMs: 0, keepFiringForMs: 0 },
    metrics: [],
    onPrediction(p: PredictionEvent, at: number, observe: Observe) {
      if (p.rule !== rule.name || p.name !== rule.metric || !matches(rule.match, p.labels)) return;
      const soon = p.breach !== undefined && p.breach.at - p.t <= withinMs && p.confidence >= rule.min_confidence;
      const due = p.notifyBy !== undefined && at >= p.notifyBy;
      if (soon || due) latest.set(p.series, predictionDetails(p));
      else latest.delete(p.series);
      observe(p.series, soon || due, p.value, p.labels, p.t);
    },
    details: (key) => latest.get(key),
  };
}
