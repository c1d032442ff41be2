import type { Expr } from './ast.js';
import { labelsKey, METRIC_NAME, type Labels } from './labels.js';
import type { PromRule, PromRuleGroup } from './rule-files.js';
import type { Sample } from './storage.js';
import { expandAlertTemplate } from './template.js';
import { PromQLEvalError, type Value, type VectorSample } from './values.js';

/** What rule evaluation needs to run queries: Vigil's Engine, or an adapter over another source of series. */
export interface InstantQueryable {
  instantQuery(query: string | Expr, t: number): Value;
}

/** Where rule results (recorded series, ALERTS, staleness markers) are written: a SeriesStorage or another sink. */
export interface SampleAppender {
  append(labels: Labels, sample: Sample): void;
}

export type AlertState = 'pending' | 'firing' | 'inactive';

export interface ActiveAlert {
  labels: Labels;
  annotations: Record<string, string>;
  state: AlertState;
  value: number;
  /** ms */
  activeAt: number;
  firedAt?: number;
  resolvedAt?: number;
  keepFiringSince?: number;
}

/** How long a resolved alert is kept (and reported) before it is forgotten (rules/alerting.go). */
const RESOLVED_RETENTION = 15 * 60_000;

export interface RuleEvalOptions {
  externalLabels?: Record<string, string>;
  externalURL?: string;
}

/** Runs the rule's query: a scalar becomes a one-element vector without labels, as rules.EngineQueryFunc does. */
function queryVector(engine: InstantQueryable, rule: PromRule | string, t: number): VectorSample[] {
  const value = engine.instantQuery(typeof rule === 'string' ? rule : rule.ast, t);
  if (value.type === 'vector') return value.samples;
  if (value.type === 'scalar') return [{ labels: {}, v: value.v }];
  throw new PromQLEvalError('rule result is not a vector or scalar');
}

/** The state one alerting rule keeps between evaluations: its active alerts by label set. */
export class AlertingRule {
  readonly active = new Map<string, ActiveAlert>();

  constructor(readonly rule: PromRule, private readonly options: RuleEvalOptions = {}) {}

  /** Evaluates at t (ms) like AlertingRule.Eval: returns the ALERTS and ALERTS_FOR_STATE samples to record. */
  eval(engine: InstantQueryable, t: number, limit = 0): VectorSample[] {
    const rule = this.rule;
    const results = queryVector(engine, rule, t);
    const current = new Map<string, ActiveAlert>();
    for (const sample of results) {
      const expand = (text: string): string => expandAlertTemplate(`__alert_${rule.name}`, text, {
        Labels: { ...sample.labels },
        ExternalLabels: this.options.externalLabels ?? {},
        ExternalURL: this.options.externalURL ?? '',
        Value: sample.v,
      }, {
        externalURL: this.options.externalURL ?? '',
        query: (q) => queryVector(engine, q, t).map((s) => ({ Labels: { ...s.labels }, Value: s.v })),
      });
      const labels: Record<string, string> = { ...sample.labels };
      delete labels[METRIC_NAME];
      for (const [name, text] of Object.entries(rule.labels)) {
        const value = expand(text);
        if (value === '') delete labels[name];
        else labels[name] = value;
      }
      labels.alertname = rule.name;
      const annotations: Record<string, string> = {};
      for (const [name, text] of Object.entries(rule.annotations)) annotations[name] = expand(text);
      const key = labelsKey(labels);
      if (current.has(key)) throw new PromQLEvalError('vector contains metrics with the same labelset after applying alert labels');
      current.set(key, { labels, annotations, state: 'pending', value: sample.v, activeAt: t });
    }
    for (const [key, alert] of current) {
      const existing = this.active.get(key);
      if (existing && existing.state !== 'inactive') {
        existing.value = alert.value;
        existing.annotations = alert.annotations;
        continue;
      }
      this.active.set(key, alert);
    }
    const out: VectorSample[] = [];
    let activeCount = 0;
    for (const [key, alert] of this.active) {
      if (!current.has(key)) {
        let keepFiring = false;
        if (alert.state === 'firing' && rule.keepFiringFor > 0) {
          alert.keepFiringSince ??= t;
          keepFiring = t - alert.keepFiringSince < rule.keepFiringFor;
        }
        // A resolved alert stays a while so that it is reported as resolved; a pending one goes at once.
        if (alert.state === 'pending' || (alert.resolvedAt !== undefined && t - alert.resolvedAt > RESOLVED_RETENTION)) this.active.delete(key);
        if (alert.state !== 'inactive' && !keepFiring) {
          alert.state = 'inactive';
          alert.resolvedAt = t;
        }
        if (!keepFiring) continue;
      } else {
        delete alert.keepFiringSince;
      }
      activeCount++;
      if (alert.state === 'pending' && t - alert.activeAt >= rule.for) {
        alert.state = 'firing';
        alert.firedAt = t;
      }
      out.push({ labels: { ...alert.labels, [METRIC_NAME]: 'ALERTS', alertstate: alert.state }, v: 1 });
      out.push({ labels: { ...alert.labels, [METRIC_NAME]: 'ALERTS_FOR_STATE' }, v: Math.floor(alert.activeAt / 1000) });
    }
    if (limit > 0 && activeCount > limit) {
      this.active.clear();
      throw new PromQLEvalError(`exceeded limit of ${limit} with ${activeCount} alerts`);
    }
    return out;
  }

  /** Alerts that are pending or firing. */
  activeAlerts(): ActiveAlert[] {
    return [...this.active.values()].filter((a) => a.state !== 'inactive');
  }
}

function recordingEval(rule: PromRule, engine: InstantQueryable, t: number, limit: number): VectorSample[] {
  const out = queryVector(engine, rule, t).map((s) => {
    const labels: Record<string, string> = { ...s.labels, [METRIC_NAME]: rule.name };
    // An empty rule label removes the label, as Prometheus' label builder does.
    for (const [name, value] of Object.entries(rule.labels)) {
      if (value === '') delete labels[name];
      else labels[name] = value;
    }
    return { labels, v: s.v };
  });
  const seen = new Set<string>();
  for (const s of out) {
    const key = labelsKey(s.labels);
    if (seen.has(key)) throw new PromQLEvalError('vector contains metrics with the same labelset after applying rule labels');
    seen.add(key);
  }
  if (limit > 0 && out.length > limit) throw new PromQLEvalError(`exceeded limit of ${limit} with ${out.length} series`);
  return out;
}

export interface RuleEvalError {
  rule: PromRule;
  error: Error;
}

/**
 * A rule group evaluated in order, each rule seeing what the rules before it recorded (rules/manager.go Group.Eval).
 * Series a rule stops returning get a staleness marker.
 */
export class RuleGroupRunner {
  readonly alerting: Array<AlertingRule | undefined>;
  private readonly previous: Array<Map<string, Labels>>;

  constructor(readonly group: PromRuleGroup, private readonly engine: InstantQueryable, private readonly storage: SampleAppender, options: RuleEvalOptions = {}) {
    this.alerting = group.rules.map((r) => (r.kind === 'alert' ? new AlertingRule(r, options) : undefined));
    this.previous = group.rules.map(() => new Map());
  }

  /** Evaluates every rule at t (ms); returns the rules that failed. */
  eval(t: number): RuleEvalError[] {
    const errors: RuleEvalError[] = [];
    this.group.rules.forEach((rule, i) => {
      let samples: VectorSample[];
      try {
        samples = this.alerting[i] ? this.alerting[i].eval(this.engine, t, this.group.limit) : recordingEval(rule, this.engine, t, this.group.limit);
      } catch (err) {
        errors.push({ rule, error: err as Error });
        return;
      }
      const returned = new Map<string, Labels>();
      for (const s of samples) {
        this.storage.append(s.labels, { t, v: s.v });
        returned.set(labelsKey(s.labels), s.labels);
      }
      for (const [key, labels] of this.previous[i]!) if (!returned.has(key)) this.storage.append(labels, { t, v: NaN, stale: true });
      this.previous[i] = returned;
    });
    return errors;
  }
}
