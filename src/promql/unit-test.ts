import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Engine } from './engine.js';
import { compareLabels, formatLabels, labelsKey, type Labels } from './labels.js';
import { parseDuration, parseMetric, parseNumber } from './parser.js';
import { checkRuleFile, type PromRuleGroup } from './rule-files.js';
import { RuleGroupRunner } from './rules.js';
import { SeriesStorage, type Sample } from './storage.js';

/**
 * promtool's `test rules` (cmd/promtool/unittest.go, Prometheus 2.42): loads the input series, evaluates the
 * rule groups every evaluation_interval from 0 to the last eval_time, compares firing alerts and PromQL results.
 */

export interface UnitTestResult {
  file: string;
  /** Empty when every test passed. Each entry is a readable failure with expected and actual values. */
  failures: string[];
  warnings: string[];
}

interface TestFile {
  rule_files?: string[];
  evaluation_interval?: string | number;
  group_eval_order?: string[];
  tests?: TestGroup[];
}

interface TestGroup {
  interval?: string | number;
  input_series?: Array<{ series?: string; values?: string | number }>;
  alert_rule_test?: Array<{ eval_time?: string | number; alertname?: string; exp_alerts?: Array<{ exp_labels?: Record<string, unknown>; exp_annotations?: Record<string, unknown> }> | null }>;
  promql_expr_test?: Array<{ expr?: string; eval_time?: string | number; exp_samples?: Array<{ labels?: string; value?: number | string }> | null }>;
  external_labels?: Record<string, string>;
  external_url?: string;
  name?: string;
}

const FILE_FIELDS = ['rule_files', 'evaluation_interval', 'group_eval_order', 'tests'];
const GROUP_FIELDS = ['interval', 'input_series', 'alert_rule_test', 'promql_expr_test', 'external_labels', 'external_url', 'name'];

/** A malformed unit-test file: reported as that file's failure, as promtool does. */
class UnitTestError extends Error {
  override name = 'UnitTestError';
}

/** A YAML list, or [] for an empty value (which the failsafe schema reads as ""). */
function list<T>(x: T[] | null | undefined | string): T[] {
  return Array.isArray(x) ? x : [];
}

function record<T>(x: Record<string, T> | null | undefined | string): Record<string, T> {
  return x !== null && typeof x === 'object' ? x : {};
}

function strictFields(obj: unknown, allowed: string[], type: string): void {
  if (obj === null || obj === undefined) return;
  if (typeof obj !== 'object' || Array.isArray(obj)) throw new UnitTestError(`cannot unmarshal ${JSON.stringify(obj)} into ${type}`);
  for (const key of Object.keys(obj)) if (!allowed.includes(key)) throw new UnitTestError(`yaml: unmarshal errors:\n  field ${key} not found in type ${type}`);
}

function duration(value: string | number | undefined, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  return parseDuration(String(value));
}

/** Prometheus' model.Duration.String(): 1d, 5m, 2m59s999ms, 0s. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  const units: Array<[string, number, boolean]> = [['y', 31_536_000_000, true], ['w', 604_800_000, true], ['d', 86_400_000, false], ['h', 3_600_000, false], ['m', 60_000, false], ['s', 1000, false], ['ms', 1, false]];
  for (const [unit, mult, exact] of units) {
    if (exact && rest % mult !== 0) continue;
    const n = Math.floor(rest / mult);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * mult;
    }
  }
  return out;
}

// No hexadecimal: in series notation `0x2` means "0 three times" (Prometheus' lexer rules hex out there).
const SERIES_NUMBER = String.raw`(?:\d*\.?\d+(?:[eE][+-]?\d+)?|\d+\.|Inf|inf)`;
const EXPANDING_RE = new RegExp(String.raw`^([+-]?(?:${SERIES_NUMBER}|NaN|nan))(?:([+-]${SERIES_NUMBER})?x(\d+))?$`);

/** One value token of promtool's series notation: `1`, `1+2x3`, `-2-1x5`, `3x2`, `_`, `_x3`, `stale`. */
export function expandSeriesValues(text: string): Array<number | 'stale' | undefined> {
  const out: Array<number | 'stale' | undefined> = [];
  for (const token of text.trim().split(/\s+/).filter(Boolean)) {
    if (token === '_') {
      out.push(undefined);
      continue;
    }
    const blank = /^_x(\d+)$/.exec(token);
    if (blank) {
      for (let i = 0; i < Number(blank[1]); i++) out.push(undefined);
      continue;
    }
    if (token === 'stale') {
      out.push('stale');
      continue;
    }
    const m = EXPANDING_RE.exec(token);
    if (!m) throw new UnitTestError(`bad series value ${JSON.stringify(token)} in ${JSON.stringify(text)}`);
    let value = parseNumber(m[1]!);
    if (m[3] === undefined) {
      out.push(value);
      continue;
    }
    const increment = m[2] ? parseNumber(m[2]) : 0;
    for (let i = 0; i <= Number(m[3]); i++) {
      out.push(value);
      value += increment;
    }
  }
  return out;
}

/** Splits `metric{labels} values` and parses the label part; throws on an unterminated selector. */
export function parseSeriesLine(series: string): Labels {
  const trimmed = series.trim();
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
  }
  if (depth !== 0 || quote) throw new UnitTestError(`parse error in series ${JSON.stringify(series)}: unterminated label set`);
  return parseMetric(trimmed);
}

function resolveRuleFiles(testFile: string, patterns: string[], warnings: string[]): string[] {
  const out: string[] = [];
  for (const p of patterns) {
    const full = p !== '' && !isAbsolute(p) ? join(dirname(testFile), p) : p;
    let matched: string[];
    if (/[*?[]/.test(basename(full))) {
      const re = new RegExp(`^${basename(full).replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
      matched = existsSync(dirname(full)) ? readdirSync(dirname(full)).filter((f) => re.test(f)).sort().map((f) => join(dirname(full), f)) : [];
    } else matched = existsSync(full) ? [full] : [];
    if (matched.length === 0) warnings.push(`no file match pattern ${full}`);
    out.push(...matched);
  }
  return out;
}

interface AlertLA {
  labels: Labels;
  annotations: Labels;
}

function compareAlerts(a: AlertLA, b: AlertLA): number {
  return compareLabels(a.labels, b.labels) || compareLabels(a.annotations, b.annotations);
}

function formatAlerts(alerts: AlertLA[]): string {
  if (alerts.length === 0) return '[]';
  return `[\n${alerts.map((a, i) => `            ${i}:\n              Labels:${formatLabels(a.labels)}\n              Annotations:${formatLabels(a.annotations)}`).join(',\n')}\n            ]`;
}

function stringRecord(obj: Record<string, unknown> | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj ?? {})) out[k] = v === null || v === undefined ? '' : String(v);
  return out;
}

function formatSamples(samples: Array<{ labels: Labels; value: number }>): string {
  if (samples.length === 0) return 'nil';
  return samples.map((s) => `${formatLabels(s.labels)} ${formatNumber(s.value)}`).join(', ');
}

function formatNumber(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
}

/** Runs one promtool unit-test file. */
export function runUnitTestFile(file: string): UnitTestResult {
  const warnings: string[] = [];
  try {
    // promtool decodes into Go strings, which keep a scalar's text: `values: 0x10` is "0x10", not 16.
    const doc = parseYaml(readFileSync(file, 'utf8'), { uniqueKeys: true, schema: 'failsafe' }) as TestFile | null;
    strictFields(doc, FILE_FIELDS, 'main.unitTestFile');
    const input = doc ?? {};
    const ruleFiles = resolveRuleFiles(file, list(input.rule_files), warnings);
    const evalInterval = duration(input.evaluation_interval, 60_000) || 60_000;
    const order = new Map<string, number>();
    for (const [i, name] of list(input.group_eval_order).entries()) {
      if (order.has(name)) return { file, failures: [`group name repeated in evaluation order: ${name}`], warnings };
      order.set(name, i);
    }
    const failures: string[] = [];
    // Rule files are parsed once per test file; each test group gets fresh rule state over them.
    const rules = loadGroups(ruleFiles);
    for (const tg of list(input.tests)) failures.push(...runTestGroup(record(tg as unknown as Record<string, unknown>) as TestGroup, evalInterval, order, rules));
    return { file, failures, warnings };
  } catch (err) {
    return { file, failures: [(err as Error).message], warnings };
  }
}

function loadGroups(ruleFiles: string[]): { groups: PromRuleGroup[]; errors: string[] } {
  const groups: PromRuleGroup[] = [];
  const errors: string[] = [];
  for (const f of ruleFiles) {
    const check = checkRuleFile(f);
    errors.push(...check.errors.map((e) => e.message));
    groups.push(...check.groups);
  }
  return { groups, errors };
}

function runTestGroup(tg: TestGroup, evalInterval: number, order: Map<string, number>, rules: { groups: PromRuleGroup[]; errors: string[] }): string[] {
  strictFields(tg, GROUP_FIELDS, 'main.testGroup');
  const interval = duration(tg.interval, 60_000) || 60_000;
  // Input samples in time order; they reach the storage as evaluation time passes them, like promtool's lazy loader.
  const bySeries = new Map<string, { labels: Labels; samples: Sample[] }>();
  for (const s of list(tg.input_series)) {
    const labels = parseSeriesLine(s.series ?? '');
    const samples: Sample[] = [];
    expandSeriesValues(String(s.values ?? '')).forEach((v, i) => {
      if (v === 'stale') samples.push({ t: i * interval, v: NaN, stale: true });
      else if (v !== undefined) samples.push({ t: i * interval, v });
    });
    // A later definition of the same series replaces an earlier one.
    bySeries.set(labelsKey(labels), { labels, samples });
  }
  const pending = [...bySeries.values()].flatMap((s) => s.samples.map((sample) => ({ labels: s.labels, sample }))).sort((a, b) => a.sample.t - b.sample.t);
  let loaded = 0;
  const storage = new SeriesStorage();
  const loadTill = (t: number): void => {
    while (loaded < pending.length && pending[loaded]!.sample.t <= t) {
      storage.append(pending[loaded]!.labels, pending[loaded]!.sample);
      loaded++;
    }
  };

  const engine = new Engine(storage, { defaultSubqueryStep: evalInterval });
  const { groups: loadedGroups, errors: loadErrors } = rules;
  if (loadErrors.length > 0) return loadErrors;
  const options = { externalLabels: record(tg.external_labels), ...(tg.external_url ? { externalURL: tg.external_url } : {}) };
  const runners = loadedGroups
    .map((g, i) => ({ g, i }))
    .sort((a, b) => (order.get(a.g.name) ?? 0) - (order.get(b.g.name) ?? 0) || a.i - b.i)
    .map(({ g }) => new RuleGroupRunner(g, engine, storage, options));

  const testName = tg.name ? `    name: ${tg.name},\n` : '';
  const alertTests = list(tg.alert_rule_test).map((a) => {
    if (!a.alertname) throw new UnitTestError(`an item under alert_rule_test misses required attribute alertname at eval_time ${formatDuration(duration(a.eval_time, 0))}${tg.name ? ` (in TestGroup ${tg.name})` : ''}`);
    return { ...a, evalTime: duration(a.eval_time, 0), alertname: a.alertname };
  });
  const exprTests = list(tg.promql_expr_test).map((p) => ({ ...p, evalTime: duration(p.eval_time, 0) }));
  const maxT = Math.max(0, ...alertTests.map((a) => a.evalTime), ...exprTests.map((p) => p.evalTime));
  const alertTimes = [...new Set(alertTests.map((a) => a.evalTime))].sort((a, b) => a - b);
  let next = 0;
  const failures: string[] = [];

  for (let ts = 0; ts <= maxT; ts += evalInterval) {
    loadTill(ts);
    const evalErrors: string[] = [];
    for (const runner of runners) {
      for (const { rule, error } of runner.eval(ts)) evalErrors.push(`    rule: ${rule.name}, time: ${formatGoDuration(ts)}, err: ${error.message}`);
    }
    failures.push(...evalErrors);
    if (evalErrors.length > 0) return failures;
    // Alerts expected at eval_time are compared with the evaluation at the last ts <= eval_time.
    while (next < alertTimes.length && ts <= alertTimes[next]! && alertTimes[next]! < ts + evalInterval) {
      const t = alertTimes[next]!;
      for (const test of alertTests.filter((a) => a.evalTime === t)) {
        const got: AlertLA[] = runners.flatMap((r) => r.alerting.filter((a) => a?.rule.name === test.alertname).flatMap((a) => a!.activeAlerts()))
          .filter((a) => a.state === 'firing')
          .map((a) => ({ labels: a.labels, annotations: a.annotations }));
        const exp: AlertLA[] = list(test.exp_alerts).map((e) => ({
          labels: { ...stringRecord(record(e?.exp_labels)), alertname: test.alertname },
          annotations: stringRecord(record(e?.exp_annotations)),
        }));
        got.sort(compareAlerts);
        exp.sort(compareAlerts);
        const same = got.length === exp.length && got.every((g, i) => compareAlerts(g, exp[i]!) === 0);
        if (!same) failures.push(`${testName}    alertname: ${test.alertname}, time: ${formatDuration(t)}, \n        exp:${formatAlerts(exp)}, \n        got:${formatAlerts(got)}`);
      }
      next++;
    }
  }

  for (const test of exprTests) {
    const expr = test.expr ?? '';
    const where = `    expr: ${JSON.stringify(expr)}, time: ${formatDuration(test.evalTime)}`;
    let got: Array<{ labels: Labels; value: number }>;
    try {
      const value = engine.instantQuery(expr, test.evalTime);
      if (value.type === 'vector') got = value.samples.map((s) => ({ labels: s.labels, value: s.v }));
      else if (value.type === 'scalar') got = [{ labels: {}, value: value.v }];
      else throw new Error('rule result is not a vector or scalar');
    } catch (err) {
      failures.push(`${where}, err: ${(err as Error).message}`);
      continue;
    }
    let exp: Array<{ labels: Labels; value: number }>;
    try {
      exp = list(test.exp_samples).map((s) => {
        try {
          return { labels: parseMetric(s?.labels ?? ''), value: parseYamlFloat(String(s?.value ?? '0')) };
        } catch (err) {
          throw new Error(`labels ${JSON.stringify(s?.labels ?? '')}: ${(err as Error).message}`, { cause: err });
        }
      });
    } catch (err) {
      failures.push(`${where}, err: ${(err as Error).message}`);
      continue;
    }
    exp.sort((a, b) => compareLabels(a.labels, b.labels));
    got.sort((a, b) => compareLabels(a.labels, b.labels));
    // reflect.DeepEqual: exact float equality, so NaN never matches.
    const same = got.length === exp.length && got.every((g, i) => compareLabels(g.labels, exp[i]!.labels) === 0 && g.value === exp[i]!.value);
    if (!same) failures.push(`${where},\n        exp: ${formatSamples(exp)}\n        got: ${formatSamples(got)}`);
  }
  return failures;
}

/** A YAML 1.1 float as yaml.v2 reads it into float64: 1, 3.96e+4, .inf, -.Inf, .nan. */
function parseYamlFloat(text: string): number {
  const special: Record<string, number> = { '.inf': Infinity, '+.inf': Infinity, '-.inf': -Infinity, '.nan': NaN };
  const v = special[text.toLowerCase()] ?? parseNumber(text.replace(/_/g, ''));
  return v;
}

/** Go's time.Duration.String() for whole milliseconds: 0s, 1m0s, 2h3m4.5s. */
function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${s}s`;
}
