import type { GroupRule } from '../../../config/schema.js';
import { parseDuration } from '../../../series/duration.js';
import type { Sample } from '../../../series/series.js';
import { COMPARISONS, groupOf, matches, type Labels, type Observe, type RuleEvaluator } from './rule.js';
import { ruleTiming } from './timing.js';

const HOUR = 3_600_000;

/** Hourly means of the aggregate, in a ring just long enough to reach back `compare_to`. */
class HourlyHistory {
  private readonly hours: Float64Array;
  private readonly sums: Float64Array;
  private readonly counts: Float64Array;
  constructor(size: number) {
    this.hours = new Float64Array(size).fill(-1);
    this.sums = new Float64Array(size);
    this.counts = new Float64Array(size);
  }
  add(hour: number, value: number): void {
    const i = hour % this.hours.length;
    if (this.hours[i] !== hour) {
      this.hours[i] = hour;
      this.sums[i] = 0;
      this.counts[i] = 0;
    }
    (this.sums[i] as number) += value;
    (this.counts[i] as number) += 1;
  }
  mean(hour: number): number | undefined {
    const i = hour % this.hours.length;
    return this.hours[i] === hour && (this.counts[i] as number) > 0 ? (this.sums[i] as number) / (this.counts[i] as number) : undefined;
  }
}

interface Group {
  labels: Labels;
  members: Map<string, number>;
  sum: number;
  up: number;
  history?: HourlyHistory;
}

/**
 * An aggregate over a group's members (their latest values), kept incrementally: "fewer than 80% of the
 * pool up" is `aggregate: ratio_up, op: '<', value: 0.8`. With `compare_to: 7d` the value judged is the
 * relative change against the same hour then (-0.2 = 20% lower), from hourly means kept in a ring.
 */
export function groupRule(rule: GroupRule): RuleEvaluator {
  const compare = COMPARISONS[rule.op];
  const offsetHours = rule.compare_to === undefined ? 0 : Math.max(1, Math.round(parseDuration(rule.compare_to) / HOUR));
  const groups = new Map<string, Group>();

  function aggregate(g: Group): number {
    const n = g.members.size;
    switch (rule.aggregate) {
      case 'sum':
        return g.sum;
      case 'avg':
        return g.sum / n;
      case 'count':
        return n;
      case 'ratio_up':
        return g.up / n;
      case 'min':
        return Math.min(...g.members.values());
      case 'max':
        return Math.max(...g.members.values());
    }
  }

  return {
    name: rule.name,
    config: rule,
    timing: ruleTiming(rule),
    metrics: [rule.metric],
    onSample(sample: Sample, observe: Observe) {
      if (!matches(rule.match, sample.labels)) return;
      const { key, labels } = groupOf(rule.group_by, sample.labels);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { labels, members: new Map(), sum: 0, up: 0, ...(offsetHours ? { history: new HourlyHistory(offsetHours + 1) } : {}) }));
      const previous = g.members.get(sample.series);
      if (previous !== undefined) {
        g.sum -= previous;
        if (previous !== 0) g.up--;
      }
      g.members.set(sample.series, sample.v);
      g.sum += sample.v;
      if (sample.v !== 0) g.up++;
      let value = aggregate(g);
      if (g.history) {
        const hour = Math.floor(sample.t / HOUR);
        g.history.add(hour, value);
        const then = g.history.mean(hour - offsetHours);
        if (then === undefined || then === 0) return; // nothing to compare with yet
        value = (value - then) / then;
      }
      observe(key, compare(value, rule.value), value, g.labels, sample.t);
    },
  };
}
