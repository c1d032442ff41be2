import type { RuleConfig, TimeIntervalConfig } from '../../../config/schema.js';
import { AlertTemplate } from '../../../templates/prometheus.js';
import { ArithmeticError, compileArithmetic } from './arithmetic.js';

type Problem = { path: (string | number)[]; message: string };

/** Rule problems the schema cannot see: references to other rules and intervals, expressions, cycles. */
export function ruleProblems(rules: readonly RuleConfig[], intervals: readonly TimeIntervalConfig[]): Problem[] {
  const problems: Problem[] = [];
  const byName = new Map(rules.map((r) => [r.name, r]));
  const intervalNames = new Set(intervals.map((i) => i.name));
  rules.forEach((rule, i) => {
    for (const field of ['active_time_intervals', 'mute_time_intervals'] as const) {
      const names = field in rule ? (rule as Record<typeof field, string[] | undefined>)[field] : undefined;
      names?.forEach((name, j) => {
        if (!intervalNames.has(name)) problems.push({ path: ['rules', i, field, j], message: `no time interval named "${name}" in notifier.time_intervals` });
      });
    }
    for (const [key, text] of Object.entries(rule.annotations ?? {})) {
      try {
        new AlertTemplate(text);
      } catch (err) {
        problems.push({ path: ['rules', i, 'annotations', key], message: `template: ${(err as Error).message}` });
      }
    }
    if (rule.kind === 'composite') {
      if (rule.op === 'not' && rule.conditions.length !== 1) problems.push({ path: ['rules', i, 'conditions'], message: '`not` takes exactly one condition' });
      rule.conditions.forEach((name, j) => {
        if (!byName.has(name)) problems.push({ path: ['rules', i, 'conditions', j], message: `no rule named "${name}"` });
        else if (dependsOn(name, rule.name, byName, new Set())) problems.push({ path: ['rules', i, 'conditions', j], message: `"${name}" depends on "${rule.name}": conditions cannot form a cycle` });
      });
    }
    if (rule.kind === 'expression') {
      try {
        compileArithmetic(rule.expr, Object.keys(rule.metrics));
      } catch (err) {
        if (!(err instanceof ArithmeticError)) throw err;
        problems.push({ path: ['rules', i, 'expr'], message: err.message });
      }
    }
    if (rule.kind === 'absence' && (rule.metric === undefined) === (rule.event === undefined)) {
      problems.push({ path: ['rules', i], message: 'an absence rule watches either a metric or an event' });
    }
  });
  return problems;
}

function dependsOn(name: string, target: string, byName: Map<string, RuleConfig>, visiting: Set<string>): boolean {
  if (name === target) return true;
  if (visiting.has(name)) return false;
  visiting.add(name);
  const rule = byName.get(name);
  return rule?.kind === 'composite' && rule.conditions.some((c) => dependsOn(c, target, byName, visiting));
}
