import type { SystemEvent } from '../../../bus/messages.js';
import type { EventCountRule } from '../../../config/schema.js';
import { parseDuration } from '../../../series/duration.js';
import { groupOf, matches, type Labels, type Observe, type RuleEvaluator } from './rule.js';
import { ruleTiming } from './timing.js';

interface Window {
  labels: Labels;
  /** Event times, oldest first; only those inside the window are kept. */
  times: number[];
}

/** More than N system events of one kind for the same group within a sliding window. */
export function eventCountRule(rule: EventCountRule): RuleEvaluator {
  const windowMs = parseDuration(rule.window);
  const windows = new Map<string, Window>();
  const judge = (key: string, w: Window, now: number, observe: Observe) => {
    let drop = 0;
    while (drop < w.times.length && (w.times[drop] as number) <= now - windowMs) drop++;
    if (drop) w.times.splice(0, drop);
    observe(key, w.times.length > rule.more_than, w.times.length, w.labels, now);
    if (w.times.length === 0) windows.delete(key);
  };
  return {
    name: rule.name,
    config: rule,
    timing: ruleTiming(rule),
    metrics: [],
    onSystemEvent(event: SystemEvent, observe: Observe) {
      if (event.kind !== rule.event || !matches(rule.match, event.labels)) return;
      const { key, labels } = groupOf(rule.group_by, event.labels);
      let w = windows.get(key);
      if (!w) windows.set(key, (w = { labels, times: [] }));
      w.times.push(event.at);
      judge(key, w, event.at, observe);
    },
    onTick(now: number, observe: Observe) {
      for (const [key, w] of windows) judge(key, w, now, observe);
    },
  };
}
