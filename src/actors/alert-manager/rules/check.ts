import type { RiskRule, RuleConfig, TimeIntervalConfig } from '../../../config/schema.js';
import { checkAlertTemplate } from '../../../promql/template.js';
import { ArithmeticError, compileArithmetic } from './arithmetic.js';
import { defaultRiskRules } from './risk.js';

type Problem = { path: (string | number)[]; message: string };

/** Rule problems the schema cannot see: references to other rules, intervals and risks, expressions, cycles. */
export function ruleProblems(rules: readonly RuleConfig[], intervals: readonly TimeIntervalConfig[], risks: readonly RiskRule[]): Problem[] {
  const problems: Problem[] = [];
  const riskNames = new Set(risks.map((r) => r.name));
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
        checkAlertTemplate(key, text);
      } catch (err) {
        problems.push({ path: ['rules', i, 'annotations', key], message: (err as Error).message });
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
    if (rule.kind === 'risk' && !riskNames.has(rule.risk)) problems.push({ path: ['rules', i, 'risk'], message: `no risk named "${rule.risk}" in forecast.risks` });
    if (rule.kind === 'absence' && (rule.metric === undefined) === (rule.event === undefined)) {
      problems.push({ path: ['rules', i], message: 'an absence rule watches either a metric or an event' });
    }
  });
  // A risk no rule names alerts under its own name, which must not be a rule's already.
  for (const rule of defaultRiskRules(rules, risks)) {
    if (byName.has(rule.name)) {
      problems.push({ path: ['forecast', 'risks', risks.findIndex((r) => r.name === rule.risk), 'name'], message: `risk "${rule.risk}" alerts as a rule of that name, but a rule "${rule.name}" exists: add a rule of kind risk naming it` });
    }
  }
  return problems;
}

function dependsOn(name: string, target: string, byName: Map<string, RuleConfig>, visiting: Set<string>): boolean {
  if (name === target) return true;
  if (visiting.has(name)) return false;
  visiting.add(name);
  const rule = byName.get(name);
  return rule?.kind === 'composite' && rule.conditions.some((c) => dependsOn(c, target, byName, visiting));
}
