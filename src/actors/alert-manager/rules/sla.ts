import type { SlaRule } from '../../../config/schema.js';
import { parseDuration } from '../../../series/duration.js';
import type { Sample } from '../../../series/series.js';
import { matches, type Observe, type RuleEvaluator } from './rule.js';
import { ruleTiming } from './timing.js';

/** Buckets per window: the window slides in steps of 1/64 of its length. */
const BUCKETS = 64;

interface Uptime {
  lastAt: number;
  lastUp: boolean;
  /** Per bucket: its index (time / bucket length), time observed and time up, in ms. */
  index: Float64Array;
  total: Float64Array;
  up: Float64Array;
}

/** Ms of [from, to) that SLA figures leave out for a series with these labels (maintenance windows). */
export type ExcludedTime = (labels: Readonly<Record<string, string>>, from: number, to: number) => number;

/**
 * Uptime, the share of time a series was non-zero (each sample's state holds until the next sample),
 * over a sliding window kept in 64 buckets per series; fires below the objective.
 */
export function slaRule(rule: SlaRule, excluded?: ExcludedTime): RuleEvaluator {
  const windowMs = parseDuration(rule.window);
  const bucketMs = windowMs / BUCKETS;
  const series = new Map<string, Uptime>();
  return {
    name: rule.name,
    config: rule,
    timing: ruleTiming(rule),
    metrics: [rule.metric],
    onSample(sample: Sample, observe: Observe) {
      if (!matches(rule.match, sample.labels)) return;
      const u = series.get(sample.series);
      if (!u) {
        series.set(sample.series, { lastAt: sample.t, lastUp: sample.v !== 0, index: new Float64Array(BUCKETS).fill(-1), total: new Float64Array(BUCKETS), up: new Float64Array(BUCKETS) });
        return;
      }
      const elapsed = sample.t - u.lastAt;
      if (elapsed <= 0) return;
      const bucket = Math.floor(sample.t / bucketMs);
      const slot = bucket % BUCKETS;
      if (u.index[slot] !== bucket) {
        u.index[slot] = bucket;
        u.total[slot] = 0;
        u.up[slot] = 0;
      }
      // Time inside a maintenance window is neither up nor down: it is not counted at all.
      const counted = elapsed - (excluded?.(sample.labels, u.lastAt, sample.t) ?? 0);
      (u.total[slot] as number) += counted;
      if (u.lastUp) (u.up[slot] as number) += counted;
      u.lastAt = sample.t;
      u.lastUp = sample.v !== 0;
      let total = 0;
      let up = 0;
      for (let i = 0; i < BUCKETS; i++) {
        if ((u.index[i] as number) <= bucket - BUCKETS) continue;
        total += u.total[i] as number;
        up += u.up[i] as number;
      }
      if (total <= 0) return;
      const percent = (100 * up) / total;
      observe(sample.series, percent < rule.objective, percent, sample.labels, sample.t);
    },
  };
}
