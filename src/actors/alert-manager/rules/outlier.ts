import type { OutlierRule } from '../../../config/schema.js';
import type { Sample } from '../../../series/series.js';
import { groupOf, matches, type Labels, type Observe, type RuleEvaluator } from './rule.js';
import { ruleTiming } from './timing.js';

interface Member {
  labels: Labels;
  value: number;
  at: number;
}

/** MAD scaled to estimate a normal standard deviation. */
const MAD_SCALE = 1.4826;

function median(sorted: Float64Array): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * One member of a group unlike the others: its robust z-score, |x - median| / (1.4826 · MAD) over the
 * members' latest values, beyond `max_z`. Judged on the evaluation tick, not per sample, since it
 * sorts the group.
 */
export function outlierRule(rule: OutlierRule): RuleEvaluator {
  const groups = new Map<string, Map<string, Member>>();
  return {
    name: rule.name,
    config: rule,
    timing: ruleTiming(rule),
    metrics: [rule.metric],
    onSample(sample: Sample) {
      if (!matches(rule.match, sample.labels)) return;
      const { key } = groupOf(rule.group_by, sample.labels);
      let members = groups.get(key);
      if (!members) groups.set(key, (members = new Map()));
      const m = members.get(sample.series);
      if (m) {
        m.value = sample.v;
        m.at = sample.t;
      } else members.set(sample.series, { labels: sample.labels, value: sample.v, at: sample.t });
    },
    onTick(now: number, observe: Observe) {
      for (const members of groups.values()) {
        if (members.size < rule.min_members) continue;
        const values = Float64Array.from(members.values(), (m) => m.value).sort();
        const center = median(values);
        const deviations = values.map((v) => Math.abs(v - center)).sort();
        const spread = MAD_SCALE * median(deviations);
        for (const [series, m] of members) {
          const distance = Math.abs(m.value - center);
          // A group that agrees exactly (MAD 0) makes any difference an outlier.
          const z = spread === 0 ? (distance === 0 ? 0 : Number.POSITIVE_INFINITY) : distance / spread;
          observe(series, z > rule.max_z, z, m.labels, now);
        }
      }
    },
  };
}
