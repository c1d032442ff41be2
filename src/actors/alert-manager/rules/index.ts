import type { RuleConfig } from '../../../config/schema.js';
import { absenceRule } from './absence.js';
import { anomalyRule } from './anomaly.js';
import { compositeRule } from './composite.js';
import { eventCountRule } from './event-count.js';
import { expressionRule } from './expression.js';
import { groupRule } from './group.js';
import { outlierRule } from './outlier.js';
import { predictRule } from './predict.js';
import type { RuleEvaluator } from './rule.js';
import { slaRule, type ExcludedTime } from './sla.js';
import { riskRule } from './risk.js';
import { systemEventRule } from './system-event.js';
import { thresholdRule } from './threshold.js';

/** The one place that maps a rule kind to its evaluator: a new kind is one file plus one line. */
export function compileRule(rule: RuleConfig, loadedAt: number, slaExcluded?: ExcludedTime): RuleEvaluator {
  switch (rule.kind) {
    case 'threshold':
      return thresholdRule(rule);
    case 'anomaly':
      return anomalyRule(rule);
    case 'predict':
      return predictRule(rule);
    case 'composite':
      return compositeRule(rule);
    case 'expression':
      return expressionRule(rule);
    case 'group':
      return groupRule(rule);
    case 'outlier':
      return outlierRule(rule);
    case 'absence':
      return absenceRule(rule, loadedAt);
    case 'event_count':
      return eventCountRule(rule);
    case 'sla':
      return slaRule(rule, slaExcluded);
    case 'system_event':
      return systemEventRule(rule);
    case 'risk':
      return riskRule(rule);
  }
}

export { defaultRiskRules } from './risk.js';
export type { Observe, RuleEvaluator } from './rule.js';
export type { ExcludedTime } from './sla.js';
