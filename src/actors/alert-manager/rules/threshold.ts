import type { ThresholdRule } from '../../../config/schema.js';
import type { Sample } from '../../../series/series.js';
import { COMPARISONS, matches, type Observe, type RuleEvaluator } from './rule.js';
import { ruleTiming } from './timing.js';

/**
 * A series compared against a value. With `occurrences: N` the condition counts only from the N-th
 * breaching sample in a row (counted per series), on top of any `for`.
 */
export function thresholdRule(rule: ThresholdRule): RuleEvaluator & { breached(value: number): boolean } {
  const compare = COMPARISONS[rule.op];
  const threshold = rule.value;
  const needed = rule.occurrences ?? 1;
  const streaks = new Map<string, number>();
  const breached = (value: number) => compare(value, threshold);
  return {
    name: rule.name,
    config: rule,
    timing: ruleTiming(rule),
    metrics: [rule.metric],
    breached,
    onSample(sample: Sample, observe: Observe) {
      if (!matches(rule.match, sample.labels)) return;
      let active = breached(sample.v);
      if (needed > 1) {
        const streak = active ? (streaks.get(sample.series) ?? 0) + 1 : 0;
        if (active || streaks.has(sample.series)) streaks.set(sample.series, streak);
        active = streak >= needed;
      }
      observe(sample.series, active, sample.v, sample.labels, sample.t);
    },
  };
}
