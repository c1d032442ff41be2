import { dirname, isAbsolute, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { globSync } from 'tinyglobby';
import { parse as parseYaml } from 'yaml';
import { PromQLError, type Expr } from '../promql/ast.js';
import { evaluate, withoutName, type Evaluation, type Sample, type Value } from '../promql/engine.js';
import { parsePromDuration, parsePromQL, parseSeriesSelector } from '../promql/parser.js';
import { labelsKey, MemoryStorage, type Labels } from '../promql/storage.js';
import { AlertTemplate, type QuerySample } from '../templates/prometheus.js';
import { loadRuleFile, type PromRule, type PromRuleGroup } from './rule-file.js';
import { expandSeriesValues } from './series-notation.js';

/**
 * `promtool test rules` in-process: input series in the expanding notation, rule groups evaluated on
 * the evaluation interval from time 0 as promtool does (Prometheus 2.x semantics), alerts compared at
 * their eval_time and PromQL expressions at theirs. The verdicts match promtool 2.42's.
 */

interface TestFile {
  rule_files?: string[];
  evaluation_interval?: string | number;
  group_eval_order?: string[];
  tests?: TestGroup[];
}
interface TestGroup {
  name?: string;
  interval?: string | number;
  input_series?: { series: string; values: string | number }[];
  alert_rule_test?: { eval_time: string | number; alertname: string; exp_alerts?: { exp_labels?: Record<string, unknown>; exp_annotations?: Record<string, unknown> }[] }[];
  promql_expr_test?: { expr: string; eval_time: string | number; exp_samples?: { labels?: string; value: number | string }[] }[];
  external_labels?: Record<string, string>;
  external_url?: string;
}

export interface TestResult {
  file: string;
  passed: boolean;
  /** Readable failures, one entry per failed expectation or error. */
  failures: string[];
}

const FILE_KEYS = new Set(['rule_files', 'evaluation_interval', 'group_eval_order', 'tests']);
const GROUP_KEYS = new Set(['name', 'interval', 'input_series', 'alert_rule_test', 'promql_expr_test', 'external_labels', 'external_url']);

function duration(v: string | number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v === 'number' || /^\d+$/.test(v)) {
    if (Number(v) === 0) return 0;
    throw new PromQLError(`not a valid duration string: "${v}"`);
  }
  if (!/^((\d+)(ms|s|m|h|d|w|y))+$/.test(v)) throw new PromQLError(`not a valid duration string: "${v}"`);
  return parsePromDuration(v);
}

function formatLabels(labels: Labels): string {
  const name = labels.__name__ ?? '';
  const rest = Object.keys(labels)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}="${labels[k]}"`);
  return `${name}{${rest.join(', ')}}`;
}

function parseMetric(text: string | undefined): Labels {
  if (text === undefined || text.trim() === '' || text.trim() === '{}') return {};
  const selector = parseSeriesSelector(text);
  const labels: Labels = {};
  for (const m of selector.matchers) {
    if (m.op !== '=') throw new PromQLError(`invalid label matcher in ${JSON.stringify(text)}: only = is allowed`);
    labels[m.name] = m.value;
  }
  return labels;
}

/** The result of a query as rules and promtool see it: a vector, a scalar as a one-sample vector. */
function asVector(value: Value): Sample[] {
  if (value.type === 'vector') return value.samples;
  if (value.type === 'scalar') return [{ labels: {}, value: value.value, t: 0 }];
  throw new PromQLError('rule result is not a vector or scalar');
}

interface ActiveAlert {
  labels: Labels;
  annotations: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
  activeAt: number;
  resolvedAt?: number;
  keepFiringSince?: number;
  value: number;
}

const RESOLVED_RETENTION = 15 * 60_000;

/** One rule group's evaluation state, as Prometheus' rules.Group keeps it. */
class GroupRunner {
  private readonly active = new Map<PromRule, Map<string, ActiveAlert>>();
  private readonly lastSeries = new Map<PromRule, Map<string, Labels>>();
  constructor(
    readonly group: PromRuleGroup,
    private readonly storage: MemoryStorage,
    private readonly externalLabels: Labels,
    private readonly externalURL: string,
    private readonly subqueryStepMs: number,
  ) {}

  private query(expr: Expr, t: number, maxT: number): Sample[] {
    const ev: Evaluation = { storage: this.storage, t, start: t, end: t, lookbackMs: 5 * 60_000, maxT, subqueryStepMs: this.subqueryStepMs };
    return asVector(evaluate(expr, ev));
  }

  eval(t: number): void {
    for (const rule of this.group.rules) {
      const out = rule.alert !== undefined ? this.evalAlert(rule, t) : this.evalRecord(rule, t);
      // Series a rule wrote last time but not now are marked stale, as Prometheus does.
      const previous = this.lastSeries.get(rule) ?? new Map<string, Labels>();
      const current = new Map<string, Labels>();
      for (const s of out) {
        const key = labelsKey(s.labels);
        current.set(key, s.labels);
        this.storage.append(s.labels, t, s.value);
      }
      for (const [key, labels] of previous) if (!current.has(key)) this.storage.append(labels, t, Number.NaN, true);
      this.lastSeries.set(rule, current);
    }
  }

  private evalRecord(rule: PromRule, t: number): Sample[] {
    const seen = new Set<string>();
    return this.query(rule.expr, t, t).map((s) => {
      const labels = { ...s.labels, ...rule.labels, __name__: rule.record as string };
      const key = labelsKey(labels);
      if (seen.has(key)) throw new PromQLError('vector contains metrics with the same labelset after applying rule labels');
      seen.add(key);
      return { labels, value: s.value, t };
    });
  }

  private evalAlert(rule: PromRule, t: number): Sample[] {
    const name = rule.alert as string;
    const queryFn = (expr: string): QuerySample[] => this.query(parsePromQL(expr), t, t).map((s) => ({ Labels: s.labels, Value: s.value }));
    const expand = (text: string, labels: Labels, value: number) => new AlertTemplate(text, queryFn).expand({ labels, value, externalLabels: this.externalLabels, externalURL: this.externalURL });
    const results = new Map<string, ActiveAlert>();
    for (const s of this.query(rule.expr, t, t)) {
      const labels: Labels = withoutName(s.labels);
      for (const [k, text] of Object.entries(rule.labels)) labels[k] = expand(text, s.labels, s.value);
      labels.alertname = name;
      const annotations: Record<string, string> = {};
      for (const [k, text] of Object.entries(rule.annotations)) annotations[k] = expand(text, s.labels, s.value);
      const key = labelsKey(labels);
      if (results.has(key)) throw new PromQLError('vector contains metrics with the same labelset after applying alert labels');
      results.set(key, { labels, annotations, state: 'pending', activeAt: t, value: s.value });
    }
    let active = this.active.get(rule);
    if (!active) this.active.set(rule, (active = new Map()));
    for (const [key, a] of results) {
      const existing = active.get(key);
      if (existing && existing.state !== 'inactive') {
        existing.value = a.value;
        existing.annotations = a.annotations;
      } else active.set(key, a);
    }
    const out: Sample[] = [];
    for (const [key, a] of active) {
      if (!results.has(key)) {
        let keepFiring = false;
        if (a.state === 'firing' && rule.keepFiringForMs > 0) {
          a.keepFiringSince ??= t;
          if (t - a.keepFiringSince < rule.keepFiringForMs) keepFiring = true;
        }
        if (a.state === 'pending' || (a.resolvedAt !== undefined && t - a.resolvedAt > RESOLVED_RETENTION)) active.delete(key);
        if (a.state !== 'inactive' && !keepFiring) {
          a.state = 'inactive';
          a.resolvedAt = t;
        }
        if (!keepFiring) continue;
      } else a.keepFiringSince = undefined;
      if (a.state === 'pending' && t - a.activeAt >= rule.forMs) a.state = 'firing';
      out.push({ labels: { ...a.labels, __name__: 'ALERTS', alertstate: a.state }, value: 1, t });
      out.push({ labels: { ...a.labels, __name__: 'ALERTS_FOR_STATE' }, value: a.activeAt / 1000, t });
    }
    return out;
  }

  firing(alertname: string): { labels: Labels; annotations: Record<string, string> }[] {
    const out: { labels: Labels; annotations: Record<string, string> }[] = [];
    for (const [rule, alerts] of this.active) {
      if (rule.alert !== alertname) continue;
      for (const a of alerts.values()) if (a.state === 'firing') out.push({ labels: a.labels, annotations: a.annotations });
    }
    return out;
  }
}

const sameValue = (a: number, b: number) => a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));

function sortByLabels<T extends { labels: Labels }>(items: T[]): T[] {
  return [...items].sort((a, b) => formatLabels(a.labels).localeCompare(formatLabels(b.labels)));
}

function describeAlerts(alerts: { labels: Labels; annotations: Record<string, string> }[]): string {
  if (alerts.length === 0) return '      (none)';
  return alerts.map((a) => `      labels: ${formatLabels(a.labels)}\n      annotations: ${JSON.stringify(a.annotations)}`).join('\n');
}

function runGroup(tg: TestGroup, rules: PromRuleGroup[], evalInterval: number, order: string[] | undefined): string[] {
  const failures: string[] = [];
  for (const k of Object.keys(tg)) if (!GROUP_KEYS.has(k)) throw new PromQLError(`field ${k} not found in type main.testGroup`);
  const interval = duration(tg.interval, evalInterval) || evalInterval;
  const storage = new MemoryStorage();
  // Input series are fed up to each evaluation time, so rules never see the future.
  const inputs = (tg.input_series ?? []).map((s) => {
    let selector;
    try {
      selector = parseMetric(s.series);
    } catch (err) {
      throw new PromQLError(`bad input series ${JSON.stringify(s.series)}: ${(err as Error).message}`);
    }
    return { labels: selector, values: expandSeriesValues(String(s.values)) };
  });
  for (const input of inputs) {
    input.values.forEach((v, i) => {
      if (v === undefined) return;
      storage.append(input.labels, i * interval, v === 'stale' ? Number.NaN : v, v === 'stale');
    });
  }
  const ordered = order ? order.map((n) => rules.find((g) => g.name === n)).filter((g): g is PromRuleGroup => g !== undefined) : rules;
  const runners = ordered.map((g) => new GroupRunner(g, storage, tg.external_labels ?? {}, tg.external_url ?? '', evalInterval));
  const alertTests = (tg.alert_rule_test ?? []).map((a) => ({ ...a, at: duration(a.eval_time, 0) })).sort((a, b) => a.at - b.at);
  const exprTests = (tg.promql_expr_test ?? []).map((e) => ({ ...e, at: duration(e.eval_time, 0) }));
  const maxT = Math.max(0, ...alertTests.map((a) => a.at), ...exprTests.map((e) => e.at));
  let next = 0;
  for (let t = 0; t <= maxT; t += evalInterval) {
    for (const runner of runners) {
      try {
        runner.eval(t);
      } catch (err) {
        failures.push(`    group ${runner.group.name}, time ${t / 1000}s: ${(err as Error).message}`);
      }
    }
    if (failures.length) return failures;
    for (; next < alertTests.length && alertTests[next]!.at >= t && alertTests[next]!.at < t + evalInterval; next++) {
      const test = alertTests[next]!;
      const got = sortByLabels(runners.flatMap((r) => r.firing(test.alertname)));
      const expected = sortByLabels(
        (test.exp_alerts ?? []).map((e) => ({
          labels: { ...Object.fromEntries(Object.entries(e.exp_labels ?? {}).map(([k, v]) => [k, String(v)])), alertname: test.alertname },
          annotations: Object.fromEntries(Object.entries(e.exp_annotations ?? {}).map(([k, v]) => [k, String(v)])),
        })),
      );
      const same =
        got.length === expected.length &&
        got.every((g, i) => labelsKey(g.labels) === labelsKey(expected[i]!.labels) && labelsKey(g.annotations) === labelsKey(expected[i]!.annotations));
      if (!same) failures.push(`    alertname: ${test.alertname}, time: ${formatTime(test.at)},\n        exp:\n${describeAlerts(expected)}\n        got:\n${describeAlerts(got)}`);
    }
  }
  for (const test of exprTests) {
    let got: Sample[];
    try {
      got = asVector(evaluate(parsePromQL(test.expr), { storage, t: test.at, start: test.at, end: test.at, lookbackMs: 5 * 60_000, maxT: Number.POSITIVE_INFINITY, subqueryStepMs: evalInterval }));
    } catch (err) {
      failures.push(`    expr: ${JSON.stringify(test.expr)}, time: ${formatTime(test.at)}, err: ${(err as Error).message}`);
      continue;
    }
    const expected = sortByLabels((test.exp_samples ?? []).map((s) => ({ labels: parseMetric(s.labels), value: Number(s.value) })));
    const actual = sortByLabels(got.map((s) => ({ labels: s.labels, value: s.value })));
    const same = expected.length === actual.length && expected.every((e, i) => labelsKey(e.labels) === labelsKey(actual[i]!.labels) && sameValue(e.value, actual[i]!.value));
    if (!same) {
      const show = (list: { labels: Labels; value: number }[]) => (list.length ? list.map((s) => `      ${formatLabels(s.labels)} ${s.value}`).join('\n') : '      (none)');
      failures.push(`    expr: ${JSON.stringify(test.expr)}, time: ${formatTime(test.at)},\n        exp:\n${show(expected)}\n        got:\n${show(actual)}`);
    }
  }
  return failures;
}

function formatTime(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000], ['ms', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}

/** Runs one unit-test file; rule_files are relative to its folder. Never throws: errors are failures. */
export function runRuleTests(file: string): TestResult {
  const failures: string[] = [];
  try {
    const doc = parseYaml(readFileSync(file, 'utf8')) as TestFile;
    for (const k of Object.keys(doc ?? {})) if (!FILE_KEYS.has(k)) throw new PromQLError(`field ${k} not found in type main.unitTestFile`);
    const evalInterval = duration(doc.evaluation_interval, 60_000) || 60_000;
    const base = dirname(resolve(file));
    const ruleFiles = (doc.rule_files ?? []).flatMap((pattern) => {
      const matches = globSync(pattern, { cwd: base, absolute: true });
      return matches.length ? matches.sort() : [isAbsolute(pattern) ? pattern : resolve(base, pattern)];
    });
    const groups = ruleFiles.flatMap((f) => loadRuleFile(f).groups);
    (doc.tests ?? []).forEach((tg, i) => {
      let groupFailures: string[];
      try {
        groupFailures = runGroup(tg, groups, evalInterval, doc.group_eval_order);
      } catch (err) {
        groupFailures = [`    ${(err as Error).message}`];
      }
      if (groupFailures.length) failures.push(`  FAILED${tg.name ? ` ${tg.name}` : ` test #${i + 1}`}:\n${groupFailures.join('\n')}`);
    });
  } catch (err) {
    failures.push(`  ${(err as Error).message}`);
  }
  return { file, passed: failures.length === 0, failures };
}
