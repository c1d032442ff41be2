import type { AnomalyEvent } from '../../../bus/messages.js';
import type { AnomalyRule } from '../../../config/schema.js';
import { matches, severityAtLeast, type Observe, type RuleEvaluator } from './rule.js';
import { ruleTiming } from './timing.js';

/** The detector's anomalous verdicts above a score and severity activate; its `normal` verdict clears. */
export function anomalyRule(rule: AnomalyRule): RuleEvaluator {
  return {
    name: rule.name,
    config: rule,
    timing: ruleTiming(rule),
    metrics: [],
    onAnomaly(event: AnomalyEvent, observe: Observe) {
      if (rule.metric !== undefined && event.name !== rule.metric) return;
      if (!matches(rule.match, event.labels)) return;
      const active = event.state === 'anomalous' && event.score >= rule.min_score && severityAtLeast(event.severity, rule.min_severity);
      observe(event.series, active, event.score, event.labels, event.t);
    },
  };
}
