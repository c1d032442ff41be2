import type { SystemEvent } from '../../../bus/messages.js';
import type { AbsenceRule } from '../../../config/schema.js';
import { parseDuration } from '../../../series/duration.js';
import type { Sample } from '../../../series/series.js';
import { matches, type Observe, type RuleEvaluator } from './rule.js';
import { ruleTiming } from './timing.js';

/**
 * Deadman: nothing matching (a sample of `metric`, or a system event of kind `event`) arrived for
 * `absent_for`. Judged on the evaluation tick, since silence brings no input; the clock starts when the
 * rule is loaded, so a restart waits a full period before it can fire.
 */
export function absenceRule(rule: AbsenceRule, loadedAt: number): RuleEvaluator {
  const absentMs = parseDuration(rule.absent_for);
  const labels = { ...rule.match };
  let lastSeen = loadedAt;
  const seen = (at: number, observe: Observe) => {
    if (at <= lastSeen) return;
    lastSeen = at;
    observe('', false, 0, labels, at);
  };
  return {
    name: rule.name,
    config: rule,
    timing: ruleTiming(rule),
    metrics: rule.metric === undefined ? [] : [rule.metric],
    onSample(sample: Sample, observe: Observe) {
      if (matches(rule.match, sample.labels)) seen(sample.t, observe);
    },
    onSystemEvent(event: SystemEvent, observe: Observe) {
      if (event.kind === rule.event && matches(rule.match, event.labels)) seen(event.at, observe);
    },
    onTick(now: number, observe: Observe) {
      const silentFor = now - lastSeen;
      observe('', silentFor >= absentMs, silentFor / 1000, labels, now);
    },
  };
}
