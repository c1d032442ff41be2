/**
 * Prometheus compatibility: PromQL over in-memory series, Prometheus rule files and promtool's rule unit tests,
 * with Prometheus 2.42 semantics.
 */
export type { Expr } from './ast.js';
export { Engine, type EngineOptions } from './engine.js';
export { parseExpr, parseDuration, PromQLParseError } from './parser.js';
export { SeriesStorage, type Sample } from './storage.js';
export type { Labels } from './labels.js';
export { PromQLEvalError, type Value, type VectorSample } from './values.js';
export { checkRuleFile, checkRuleText, RuleFileError, type PromRule, type PromRuleGroup, type RuleFileCheck } from './rule-files.js';
export { AlertingRule, RuleGroupRunner, type ActiveAlert, type AlertState, type InstantQueryable, type RuleEvalError, type RuleEvalOptions, type SampleAppender } from './rules.js';
export { expandAlertTemplate, type TemplateData } from './template.js';
export { runUnitTestFile, type UnitTestResult } from './unit-test.js';
