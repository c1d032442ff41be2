import type { ThresholdRule } from '../../../config/schema.js';
import { parseDuration } from '../../../series/duration.js';
import type { Sample } from '../../../series/series.js';
import { expandTemplates } from '../../../template/template.js';

const COMPARISONS: Record<ThresholdRule['op'], (value: number, threshold: number) => boolean> = {
  '>': (v, t) => v > t,
  '>=': (v, t) => v >= t,
  '<': (v, t) => v < t,
  '<=': (v, t) => v <= t,
  '==': (v, t) => v === t,
  '!=': (v, t) => v !== t,
};

/** A threshold rule parsed once, so evaluating a sample does no parsing or allocation. */
export interface CompiledThresholdRule {
  readonly rule: ThresholdRule;
  readonly name: string;
  readonly metric: string;
  readonly forMs: number;
  readonly keepFiringForMs: number;
  /** True when the value breaches the threshold. */
  breached(value: number): boolean;
}

export function compileThresholdRule(rule: ThresholdRule): CompiledThresholdRule {
  const compare = COMPARISONS[rule.op];
  const threshold = rule.value;
  return {
    rule,
    name: rule.name,
    metric: rule.metric,
    forMs: parseDuration(rule.for),
    keepFiringForMs: parseDuration(rule.keep_firing_for),
    breached: (value) => compare(value, threshold),
  };
}

/** True when every `match` label of the rule has the same value on the series. */
export function selectsSeries(rule: CompiledThresholdRule, labels: Record<string, string>): boolean {
  const match = rule.rule.match;
  if (match) for (const name in match) if (labels[name] !== match[name]) return false;
  return true;
}

/** The rule's verdict on a sample: undefined when the sample is not one the rule watches. */
export function evaluateThreshold(rule: CompiledThresholdRule, sample: Sample): boolean | undefined {
  if (sample.name !== rule.metric || !selectsSeries(rule, sample.labels)) return undefined;
  return rule.breached(sample.v);
}

/**
 * The alert's identity: series labels, overridden by the rule's severity and labels; `alertname`
 * always names the rule, as in Prometheus.
 */
export function alertLabels(rule: CompiledThresholdRule, seriesLabels: Record<string, string>): Record<string, string> {
  return { ...seriesLabels, severity: rule.rule.severity, ...rule.rule.labels, alertname: rule.name };
}

export function alertAnnotations(rule: CompiledThresholdRule, labels: Record<string, string>, value: number): Record<string, string> {
  return expandTemplates(rule.rule.annotations, { labels, value });
}

/** Rules grouped by the metric they watch, so a sample only meets the rules that can match it. */
export function indexByMetric<T>(rules: readonly T[], metricOf: (rule: T) => string): Map<string, T[]> {
  const index = new Map<string, T[]>();
  for (const rule of rules) {
    const metric = metricOf(rule);
    const list = index.get(metric);
    if (list) list.push(rule);
    else index.set(metric, [rule]);
  }
  return index;
}
