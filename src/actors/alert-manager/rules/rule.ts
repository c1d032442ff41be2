import type { AnomalyEvent, PredictionEvent, RiskEvent, SystemEvent } from '../../../bus/messages.js';
import type { RuleConfig } from '../../../config/schema.js';
import type { Sample } from '../../../series/series.js';
import type { AlertTiming } from '../alert.machine.js';

export type Labels = Record<string, string>;

/** A Prometheus alerting rule loaded from a rule file, as the alert manager knows it. */
export interface PrometheusRuleSpec {
  kind: 'prometheus';
  /** Unique among rules: file, group and position, since one alert name may appear in several rules. */
  name: string;
  alert: string;
  file: string;
  group: string;
  expr: string;
}

/** What a rule is: a kind from the config, or an alerting rule from a Prometheus rule file. */
export type RuleSpec = RuleConfig | PrometheusRuleSpec;

/**
 * A rule reports what it sees as observations: for one series or group (`key`), whether its condition
 * holds, the value it judged, the labels the alert gets (before the rule's own) and when. The core turns
 * observations into alert machines, the same way for every kind.
 *
 * Positional arguments rather than an object: evaluating a sample must not allocate.
 */
export type Observe = (key: string, active: boolean, value: number, labels: Labels, at: number) => void;

/** Context a rule gets when compiled. */
export interface RuleEnvironment {
  /** How often `onTick` runs, for rules that look back over time. */
  evaluationIntervalMs: number;
}

/** One compiled rule. Each kind implements the inputs it reads; the core indexes rules by them. */
export interface RuleEvaluator {
  readonly name: string;
  readonly config: RuleSpec;
  readonly timing: AlertTiming;
  /** Metrics whose samples `onSample` reads. */
  readonly metrics: readonly string[];
  /** Other rules whose observations `onCondition` reads (composite rules). */
  readonly conditions?: readonly string[];
  onSample?(sample: Sample, observe: Observe): void;
  onAnomaly?(event: AnomalyEvent, observe: Observe): void;
  onPrediction?(prediction: PredictionEvent, at: number, observe: Observe): void;
  onSystemEvent?(event: SystemEvent, observe: Observe): void;
  onRisk?(event: RiskEvent, observe: Observe): void;
  onCondition?(rule: string, key: string, active: boolean, value: number, labels: Labels, at: number, observe: Observe): void;
  /** Rules that must notice time passing without input (absence, windows) run on the evaluation tick. */
  onTick?(now: number, observe: Observe): void;
  /** Annotations the kind adds for one key, next to the rule's templates (a forecast's when, range and rate). */
  details?(key: string): Labels | undefined;
}

const SEVERITY_RANK = { info: 0, warning: 1, critical: 2 } as const;
export const severityAtLeast = (severity: keyof typeof SEVERITY_RANK, min: keyof typeof SEVERITY_RANK) => SEVERITY_RANK[severity] >= SEVERITY_RANK[min];

/** True when every `match` label has the same value in `labels`. */
export function matches(match: Labels | undefined, labels: Labels): boolean {
  if (match) for (const name in match) if (labels[name] !== match[name]) return false;
  return true;
}

/** The key and labels of a group: the values of `by` (missing labels count as empty). */
export function groupOf(by: readonly string[], labels: Labels): { key: string; labels: Labels } {
  const groupLabels: Labels = {};
  let key = '';
  for (const name of by) {
    const value = labels[name] ?? '';
    groupLabels[name] = value;
    key += `${name}\u0000${value}\u0001`;
  }
  return { key, labels: groupLabels };
}

export const COMPARISONS = {
  '>': (v: number, t: number) => v > t,
  '>=': (v: number, t: number) => v >= t,
  '<': (v: number, t: number) => v < t,
  '<=': (v: number, t: number) => v <= t,
  '==': (v: number, t: number) => v === t,
  '!=': (v: number, t: number) => v !== t,
} as const;
export type Comparison = keyof typeof COMPARISONS;
