import type { ExpressionRule } from '../../../config/schema.js';
import type { Sample } from '../../../series/series.js';
import { compileArithmetic } from './arithmetic.js';
import { COMPARISONS, groupOf, matches, type Labels, type Observe, type RuleEvaluator } from './rule.js';
import { ruleTiming } from './timing.js';

interface Joined {
  labels: Labels;
  values: Float64Array;
  /** Bit i set once variable i has a value. */
  seen: number;
}

/**
 * A comparison over several metrics joined on labels ("used / total > 0.8" per host): the latest value of
 * each variable per join key; evaluated whenever one of them changes and all are known.
 */
export function expressionRule(rule: ExpressionRule): RuleEvaluator {
  const variables = Object.keys(rule.metrics);
  const metricVariable = new Map(variables.map((v, i) => [rule.metrics[v] as string, i]));
  const evaluate = compileArithmetic(rule.expr, variables);
  const compare = COMPARISONS[rule.op];
  const all = (1 << variables.length) - 1;
  const joined = new Map<string, Joined>();
  return {
    name: rule.name,
    config: rule,
    timing: ruleTiming(rule),
    metrics: [...metricVariable.keys()],
    onSample(sample: Sample, observe: Observe) {
      if (!matches(rule.match, sample.labels)) return;
      const index = metricVariable.get(sample.name) as number;
      const group = groupOf(rule.on, sample.labels);
      let j = joined.get(group.key);
      if (!j) joined.set(group.key, (j = { labels: group.labels, values: new Float64Array(variables.length), seen: 0 }));
      j.values[index] = sample.v;
      j.seen |= 1 << index;
      if (j.seen !== all) return;
      const value = evaluate(j.values);
      observe(group.key, compare(value, rule.value), value, j.labels, sample.t);
    },
  };
}
