import { readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { Expr } from '../promql/ast.js';
import { parsePromDuration, parsePromQL } from '../promql/parser.js';
import { labelsKey } from '../promql/storage.js';
import { AlertTemplate } from '../templates/prometheus.js';

/**
 * Prometheus rule files (`groups:` / `rules:` with `alert` or `record`, `expr`, `for`, `keep_firing_for`,
 * `labels`, `annotations`), loaded and checked as `promtool check rules` does: syntax, PromQL, templates,
 * and the duplicate-rule lint.
 */

export interface PromRule {
  /** Set for alerting rules. */
  alert?: string;
  /** Set for recording rules. */
  record?: string;
  exprText: string;
  expr: Expr;
  forMs: number;
  keepFiringForMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface PromRuleGroup {
  name: string;
  /** Evaluation interval; undefined means the global one. */
  intervalMs?: number;
  /** Limit on alerts or series per evaluation; 0 is none. */
  limit: number;
  rules: PromRule[];
}

export interface PromRuleFile {
  file: string;
  groups: PromRuleGroup[];
}

/** A rule file that cannot be used: every problem, with file and line. */
export class RuleFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(problems.map((p) => `${file}: ${p}`).join('\n'));
  }
}

const DURATION = /^((\d+)(ms|s|m|h|d|w|y))+$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const GROUP_KEYS = new Set(['name', 'interval', 'rules', 'limit', 'query_offset']);
const RULE_KEYS = new Set(['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);

export function parseRuleFile(text: string, file: string): PromRuleFile {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: false });
  const problems: string[] = [];
  const lineOf = (node: YamlNode | null | undefined) => (node?.range ? `${counter.linePos(node.range[0]).line}` : '?');
  if (doc.errors.length) throw new RuleFileError(file, doc.errors.map((e) => `${counter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`));
  const groupsNode = isMap(doc.contents) ? doc.contents.get('groups', true) : undefined;
  if (isMap(doc.contents)) {
    for (const item of doc.contents.items) {
      const key = String((item.key as { value?: unknown })?.value ?? item.key);
      if (key !== 'groups') problems.push(`${lineOf(item.key as YamlNode)}: field ${key} not found in type rulefmt.RuleGroups`);
    }
  }
  const groups: PromRuleGroup[] = [];
  const groupNames = new Set<string>();
  const groupItems = isSeq(groupsNode) ? groupsNode.items : [];
  for (const groupNode of groupItems) {
    if (!isMap(groupNode)) {
      problems.push(`${lineOf(groupNode as YamlNode)}: a group must be a mapping`);
      continue;
    }
    const g = groupNode.toJSON() as Record<string, unknown>;
    const where = `${lineOf(groupNode)}: group ${JSON.stringify(g.name ?? '')}`;
    for (const k of Object.keys(g)) if (!GROUP_KEYS.has(k)) problems.push(`${where}: field ${k} not found in type rulefmt.RuleGroup`);
    const name = typeof g.name === 'string' ? g.name : '';
    if (!name) problems.push(`${where}: group name should not be empty`);
    if (groupNames.has(name)) problems.push(`${where}: groupname: "${name}" is repeated in the same file`);
    groupNames.add(name);
    if (g.interval !== undefined && !DURATION.test(String(g.interval))) problems.push(`${where}: invalid interval ${JSON.stringify(g.interval)}`);
    const group: PromRuleGroup = {
      name,
      ...(g.interval === undefined || !DURATION.test(String(g.interval)) ? {} : { intervalMs: parsePromDuration(String(g.interval)) }),
      limit: typeof g.limit === 'number' ? g.limit : 0,
      rules: [],
    };
    const rulesNode = groupNode.get('rules', true);
    for (const ruleNode of isSeq(rulesNode) ? rulesNode.items : []) {
      const r = (isMap(ruleNode) ? ruleNode.toJSON() : {}) as Record<string, unknown>;
      const at = `${lineOf(ruleNode as YamlNode)}: group ${JSON.stringify(name)}, rule ${JSON.stringify(r.alert ?? r.record ?? '')}`;
      const rule = checkRule(r, (p) => problems.push(`${at}: ${p}`));
      if (rule) group.rules.push(rule);
    }
    groups.push(group);
  }
  if (problems.length) throw new RuleFileError(file, problems);
  return { file, groups };
}

function stringMap(value: unknown, what: string, report: (p: string) => void): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    report(`${what} must be a mapping`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) out[k] = typeof v === 'string' ? v : String(v);
  return out;
}

function checkRule(r: Record<string, unknown>, report: (p: string) => void): PromRule | undefined {
  for (const k of Object.keys(r)) if (!RULE_KEYS.has(k)) report(`field ${k} not found in type rulefmt.Rule`);
  const alert = r.alert === undefined ? undefined : String(r.alert);
  const record = r.record === undefined ? undefined : String(r.record);
  if (alert !== undefined && record !== undefined) report('only one of "record" and "alert" must be set');
  if (alert === undefined && record === undefined) report('one of "record" or "alert" must be set');
  if (alert === '') report('alert name must not be empty');
  if (record !== undefined && !METRIC_NAME.test(record)) report(`invalid recording rule name: ${record}`);
  if (record !== undefined && (r.for !== undefined || r.keep_firing_for !== undefined || r.annotations !== undefined)) report('invalid field for a recording rule: for, keep_firing_for and annotations apply to alerting rules');
  const exprText = r.expr === undefined || r.expr === null ? '' : String(r.expr);
  let expr: Expr | undefined;
  if (!exprText.trim()) report('field "expr" must be set in rule');
  else {
    try {
      expr = parsePromQL(exprText);
    } catch (err) {
      report(`could not parse expression: ${(err as Error).message}`);
    }
  }
  const duration = (field: 'for' | 'keep_firing_for') => {
    const v = r[field];
    if (v === undefined) return 0;
    if (!DURATION.test(String(v))) {
      report(`invalid ${field} duration ${JSON.stringify(v)}`);
      return 0;
    }
    return parsePromDuration(String(v));
  };
  const labels = stringMap(r.labels, 'labels', report);
  const annotations = stringMap(r.annotations, 'annotations', report);
  for (const name of Object.keys(labels)) {
    if (!LABEL_NAME.test(name)) report(`invalid label name: ${name}`);
    if (name === '__name__' && record === undefined) report('invalid label name: __name__');
  }
  for (const name of Object.keys(annotations)) if (!LABEL_NAME.test(name)) report(`invalid annotation name: ${name}`);
  if (alert !== undefined) {
    for (const [kind, map] of [['label', labels], ['annotation', annotations]] as const) {
      for (const [name, text] of Object.entries(map)) {
        try {
          new AlertTemplate(text);
        } catch (err) {
          report(`${kind} ${name}: template: ${(err as Error).message}`);
        }
      }
    }
  }
  if (!expr) return undefined;
  return {
    ...(alert === undefined ? {} : { alert }),
    ...(record === undefined ? {} : { record }),
    exprText,
    expr,
    forMs: duration('for'),
    keepFiringForMs: duration('keep_firing_for'),
    labels,
    annotations,
  };
}

export function loadRuleFile(file: string): PromRuleFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RuleFileError(file, [`cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  return parseRuleFile(text, file);
}

/** promtool's duplicate-rules lint: two rules with the same name and labels. */
export function duplicateRules(file: PromRuleFile): string[] {
  const seen = new Map<string, number>();
  for (const g of file.groups) {
    for (const r of g.rules) {
      const key = `${r.alert ?? r.record}\u0002${labelsKey(r.labels)}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  return [...seen].filter(([, n]) => n > 1).map(([key]) => `rule "${key.split('\u0002')[0]}" appears more than once with the same labels`);
}
