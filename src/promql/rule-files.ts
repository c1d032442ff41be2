import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type Scalar, type YAMLMap } from 'yaml';
import type { Expr } from './ast.js';
import { compareLabels, LABEL_NAME_RE, METRIC_NAME_RE } from './labels.js';
import { parseDuration, parseExpr } from './parser.js';
import { checkAlertTemplate } from './template.js';

/** One rule of a Prometheus rule file, validated and with its expression parsed. */
export interface PromRule {
  kind: 'alert' | 'record';
  /** The alert name or the recorded metric name. */
  name: string;
  expr: string;
  ast: Expr;
  /** ms */
  for: number;
  /** ms */
  keepFiringFor: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  line: number;
}

export interface PromRuleGroup {
  file: string;
  name: string;
  /** ms; undefined means the global evaluation interval. */
  interval?: number;
  limit: number;
  rules: PromRule[];
}

/** A problem in a rule file, naming where it is: `file:line: group "g", rule 2, "Name": problem`. */
export class RuleFileError extends Error {
  constructor(readonly file: string, readonly line: number, readonly where: string, readonly problem: string) {
    super(`${file}${line > 0 ? `:${line}` : ''}: ${where ? `${where}: ` : ''}${problem}`);
    this.name = 'RuleFileError';
  }
}

export interface RuleFileCheck {
  groups: PromRuleGroup[];
  errors: RuleFileError[];
  /** promtool's duplicate-rules lint: rules sharing a name and labels (not fatal). */
  duplicates: Array<{ name: string; labels: Record<string, string> }>;
}

const GROUP_FIELDS = new Set(['name', 'interval', 'limit', 'rules']);
const RULE_FIELDS = new Set(['record', 'alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);

/** Loads and validates a Prometheus rule file with promtool 2.42's `check rules` semantics. */
export function checkRuleFile(file: string): RuleFileCheck {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { groups: [], errors: [new RuleFileError(file, 0, '', (err as Error).message)], duplicates: [] };
  }
  return checkRuleText(file, text);
}

export function checkRuleText(file: string, text: string): RuleFileCheck {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const lineOf = (n: YamlNode | null | undefined): number => (n?.range ? lines.linePos(n.range[0]).line : 0);
  const errors: RuleFileError[] = [];
  const fail = (n: YamlNode | null | undefined, where: string, problem: string): void => {
    errors.push(new RuleFileError(file, lineOf(n), where, problem));
  };
  if (doc.errors.length > 0) {
    for (const e of doc.errors) errors.push(new RuleFileError(file, e.linePos?.[0]?.line ?? 0, '', e.message.split('\n')[0]!));
    return { groups: [], errors, duplicates: [] };
  }
  const root = doc.contents;
  const groups: PromRuleGroup[] = [];
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return { groups, errors, duplicates: [] };
  if (!isMap(root)) {
    fail(root, '', 'rule file must be a mapping with a "groups" list');
    return { groups, errors, duplicates: [] };
  }
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (key !== 'groups') fail(pair.key as YamlNode, '', `field ${key} not found in type rulefmt.RuleGroups`);
  }
  const groupsNode = root.get('groups', true) as YamlNode | undefined;
  if (groupsNode !== undefined && !isSeq(groupsNode) && !(isScalar(groupsNode) && groupsNode.value === null)) fail(groupsNode, '', '"groups" must be a list');
  const seen = new Set<string>();
  for (const g of isSeq(groupsNode) ? groupsNode.items : []) {
    if (!isMap(g)) {
      fail(g as YamlNode, '', 'a group must be a mapping');
      continue;
    }
    const name = scalarString(g, 'name');
    const where = `group ${JSON.stringify(name ?? '')}`;
    for (const pair of g.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!GROUP_FIELDS.has(key)) fail(pair.key as YamlNode, where, `field ${key} not found in type rulefmt.RuleGroup`);
    }
    if (!name) fail(g, where, 'Groupname must not be empty');
    else if (seen.has(name)) fail(g, where, `groupname: "${name}" is repeated in the same file`);
    if (name) seen.add(name);
    const group: PromRuleGroup = { file, name: name ?? '', limit: 0, rules: [] };
    const interval = scalarString(g, 'interval');
    if (interval !== undefined) {
      try {
        group.interval = parseDuration(interval);
      } catch (err) {
        fail(g.get('interval', true) as YamlNode, where, (err as Error).message);
      }
    }
    const limit = scalarString(g, 'limit');
    if (limit !== undefined) group.limit = Number(limit);
    const rulesNode = g.get('rules', true) as YamlNode | undefined;
    (isSeq(rulesNode) ? rulesNode.items : []).forEach((r, index) => {
      const rule = checkRule(r as YamlNode, `${where}, rule ${index + 1}`, (n, w, p) => fail(n, w, p), lineOf);
      if (rule) group.rules.push(rule);
    });
    groups.push(group);
  }
  return { groups, errors, duplicates: errors.length === 0 ? findDuplicates(groups) : [] };
}

/** A scalar as Go's YAML decoder puts it into a string: the text as written (`1.0` stays "1.0", `0x10` stays "0x10"). */
function scalarText(node: Scalar): string | undefined {
  if (node.value === null) return undefined;
  if (typeof node.value === 'string') return node.value;
  return node.source ?? String(node.value);
}

function scalarString(map: YAMLMap, key: string): string | undefined {
  const node = map.get(key, true) as YamlNode | undefined;
  if (node === undefined || !isScalar(node)) return undefined;
  return scalarText(node);
}

function stringMap(node: YamlNode | undefined, fail: (problem: string) => void): Record<string, string> {
  const out: Record<string, string> = {};
  if (node === undefined || (isScalar(node) && node.value === null)) return out;
  if (!isMap(node)) {
    fail('must be a mapping of strings');
    return out;
  }
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const value = pair.value;
    if (!isScalar(value) || (value.value !== null && typeof value.value === 'object')) fail(`value of ${key} must be a string`);
    else out[key] = scalarText(value) ?? '';
  }
  return out;
}

type Fail = (n: YamlNode | null | undefined, where: string, problem: string) => void;

function checkRule(node: YamlNode, where: string, fail: Fail, lineOf: (n: YamlNode) => number): PromRule | undefined {
  if (!isMap(node)) {
    fail(node, where, 'a rule must be a mapping');
    return undefined;
  }
  const alert = scalarString(node, 'alert');
  const record = scalarString(node, 'record');
  const name = alert ?? record ?? '';
  const at = `${where}, ${JSON.stringify(name)}`;
  let ok = true;
  const problem = (p: string, n: YamlNode = node): void => {
    ok = false;
    fail(n, at, p);
  };
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!RULE_FIELDS.has(key)) problem(`field ${key} not found in type rulefmt.RuleNode`, pair.key as YamlNode);
  }
  if (alert !== undefined && record !== undefined) problem("only one of 'record' and 'alert' must be set");
  if (alert === undefined && record === undefined) problem("one of 'record' or 'alert' must be set");
  const expr = scalarString(node, 'expr') ?? '';
  let ast: Expr | undefined;
  if (expr === '') problem("field 'expr' must be set in rule");
  else {
    try {
      ast = parseExpr(expr);
    } catch (err) {
      problem(`could not parse expression: ${(err as Error).message}`, node.get('expr', true) as YamlNode);
    }
  }
  const durationField = (key: string): number => {
    const text = scalarString(node, key);
    if (text === undefined) return 0;
    try {
      return parseDuration(text);
    } catch (err) {
      problem(`${key}: ${(err as Error).message}`, node.get(key, true) as YamlNode);
      return 0;
    }
  };
  const forMs = durationField('for');
  const keepFiringFor = durationField('keep_firing_for');
  const labels = stringMap(node.get('labels', true) as YamlNode | undefined, (p) => problem(`labels: ${p}`));
  const annotations = stringMap(node.get('annotations', true) as YamlNode | undefined, (p) => problem(`annotations: ${p}`));
  if (record !== undefined) {
    if (Object.keys(annotations).length > 0) problem("invalid field 'annotations' in recording rule");
    if (forMs !== 0) problem("invalid field 'for' in recording rule");
    if (keepFiringFor !== 0) problem("invalid field 'keep_firing_for' in recording rule");
    if (!METRIC_NAME_RE.test(record)) problem(`invalid recording rule name: ${record}`);
  }
  for (const n of Object.keys(labels)) if (!LABEL_NAME_RE.test(n) || n === '__name__') problem(`invalid label name: ${n}`);
  for (const n of Object.keys(annotations)) if (!LABEL_NAME_RE.test(n)) problem(`invalid annotation name: ${n}`);
  if (alert !== undefined) {
    for (const [kind, map] of [['label', labels], ['annotation', annotations]] as const) {
      for (const [k, text] of Object.entries(map)) {
        try {
          checkAlertTemplate(`__alert_${alert}`, text);
        } catch (err) {
          problem(`${kind} ${JSON.stringify(k)}: ${(err as Error).message}`);
        }
      }
    }
  }
  if (!ok || !ast) return undefined;
  return { kind: alert !== undefined ? 'alert' : 'record', name, expr, ast, for: forMs, keepFiringFor, labels, annotations, line: lineOf(node) };
}

/** promtool's checkDuplicates: rules across the file's groups with the same name and labels. */
function findDuplicates(groups: PromRuleGroup[]): RuleFileCheck['duplicates'] {
  const rules = groups.flatMap((g) => g.rules.map((r) => ({ name: r.name, labels: r.labels })));
  rules.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : compareLabels(a.labels, b.labels)));
  const same = (a: (typeof rules)[number], b: (typeof rules)[number]): boolean => a.name === b.name && compareLabels(a.labels, b.labels) === 0;
  const duplicates: RuleFileCheck['duplicates'] = [];
  for (let i = 1; i < rules.length; i++) {
    if (same(rules[i - 1]!, rules[i]!) && (duplicates.length === 0 || !same(rules[i]!, duplicates[duplicates.length - 1]!))) duplicates.push(rules[i]!);
  }
  return duplicates;
}
