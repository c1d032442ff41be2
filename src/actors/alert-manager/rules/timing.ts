import type { RuleConfig } from '../../../config/schema.js';
import { parseDuration } from '../../../series/duration.js';
import type { AlertTiming } from '../alert.machine.js';

/** `for` and `keep_firing_for` of a rule, parsed once; kinds without them fire and resolve at once. */
export function ruleTiming(rule: RuleConfig): AlertTiming {
  return {
    forMs: 'for' in rule && rule.for ? parseDuration(rule.for) : 0,
    keepFiringForMs: 'keep_firing_for' in rule && rule.keep_firing_for ? parseDuration(rule.keep_firing_for) : 0,
  };
}
