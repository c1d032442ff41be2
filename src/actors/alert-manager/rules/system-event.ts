import type { SystemEvent } from '../../../bus/messages.js';
import type { SystemEventRule } from '../../../config/schema.js';
import { parseDuration } from '../../../series/duration.js';
import { seriesId } from '../../../series/series.js';
import { matches, severityAtLeast, type Labels, type Observe, type RuleEvaluator } from './rule.js';
import { ruleTiming } from './timing.js';

/**
 * Vigil's own events raise alerts: one per event kind and label set. An event is a moment, not a
 * state, so the alert resolves once no further event came for `resolve_after` (judged on the tick).
 */
export function systemEventRule(rule: SystemEventRule): RuleEvaluator {
  const resolveAfterMs = parseDuration(rule.resolve_after);
  const prefix = rule.event.endsWith('*') ? rule.event.slice(0, -1) : undefined;
  const open = new Map<string, { labels: Labels; lastAt: number; message: string }>();
  return {
    name: rule.name,
    config: rule,
    timing: ruleTiming(rule),
    metrics: [],
    onSystemEvent(event: SystemEvent, observe: Observe) {
      if (prefix === undefined ? event.kind !== rule.event : !event.kind.startsWith(prefix)) return;
      if (rule.source !== undefined && event.source !== rule.source) return;
      if (!matches(rule.match, event.labels) || !severityAtLeast(event.severity, rule.min_severity)) return;
      const labels = { ...event.labels, event: event.kind, source: event.source };
      const key = seriesId(event.kind, labels);
      const entry = open.get(key);
      if (entry) {
        entry.lastAt = Math.max(entry.lastAt, event.at);
        entry.message = event.message;
      } else open.set(key, { labels, lastAt: event.at, message: event.message });
      observe(key, true, 1, labels, event.at);
    },
    onTick(now: number, observe: Observe) {
      for (const [key, entry] of open) {
        if (now - entry.lastAt < resolveAfterMs) continue;
        open.delete(key);
        observe(key, false, 0, entry.labels, now);
      }
    },
    details: (key) => {
      const entry = open.get(key);
      return entry && { message: entry.message };
    },
  };
}
