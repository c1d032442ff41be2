import { relative, resolve } from 'node:path';
import { globSync } from 'tinyglobby';
import type { VigilConfig } from '../../../config/load.js';
import { checkRuleFile, expandAlertTemplate, type PromRule, type PromRuleGroup } from '../../../promql/index.js';
import { labelsKey } from '../../../promql/labels.js';
import { parseDuration } from '../../../series/duration.js';
import type { PrometheusQueryClient } from './prometheus-api.js';
import type { Labels, Observe, PrometheusRuleSpec, RuleEvaluator } from './rule.js';


interface Result {
  labels: Labels;
  value: number;
  annotations: Labels;
}

/**
 * One alerting rule of a Prometheus rule file, evaluated through the Prometheus HTTP API on its
 * group's interval: `prepare` queries (asynchronously), then the tick turns the answer into
 * observations. Labels and annotations are expanded as Prometheus does, per result sample.
 */
export type PrometheusRuleEvaluator = RuleEvaluator & { spec: PrometheusRuleSpec; prepare(now: number): Promise<void> };

export function prometheusRule(spec: PrometheusRuleSpec, rule: PromRule, group: PromRuleGroup, client: () => PrometheusQueryClient, defaultIntervalMs: number): PrometheusRuleEvaluator {
  const intervalMs = group.interval ?? defaultIntervalMs;
  let lastEvaluation = Number.NEGATIVE_INFINITY;
  let answer: { at: number; results: Map<string, Result> } | undefined;
  let previous = new Map<string, Result>();
  return {
    name: spec.name,
    spec,
    config: spec,
    timing: { forMs: rule.for, keepFiringForMs: rule.keepFiringFor },
    metrics: [],
    async prepare(now) {
      if (now - lastEvaluation < intervalMs) return;
      lastEvaluation = now;
      const results = new Map<string, Result>();
      for (const s of await client().query(rule.expr, now)) {
        const { __name__: _name, ...labels } = s.labels;
        const data = { Labels: s.labels, Value: s.value, ExternalLabels: {}, ExternalURL: '' };
        for (const [k, text] of Object.entries(rule.labels)) labels[k] = expandAlertTemplate(k, text, data);
        labels.alertname = rule.name;
        const annotations: Labels = {};
        for (const [k, text] of Object.entries(rule.annotations)) annotations[k] = expandAlertTemplate(k, text, data);
        results.set(labelsKey(labels), { labels, value: s.value, annotations });
      }
      answer = { at: now, results };
    },
    onTick(_now: number, observe: Observe) {
      if (!answer) return;
      const { at, results } = answer;
      answer = undefined;
      const gone = [...previous].filter(([key]) => !results.has(key));
      // Set first: observing renders annotations through `details`.
      previous = results;
      for (const [key, r] of results) observe(key, true, r.value, r.labels, at);
      for (const [key, r] of gone) observe(key, false, r.value, r.labels, at);
    },
    details: (key) => previous.get(key)?.annotations,
  };
}

/** Every alerting rule of the configured rule files (globs relative to the config file), in file order. */
export function loadPrometheusRules(config: VigilConfig, client: () => PrometheusQueryClient): PrometheusRuleEvaluator[] {
  const defaultIntervalMs = parseDuration(config.alerting.evaluation_interval);
  return ruleFilesOf(config).flatMap((file) => {
    const loaded = checkRuleFile(file);
    if (loaded.errors.length) throw loaded.errors[0];
    const shown = relative(config.baseDir, file);
    return loaded.groups.flatMap((group) =>
      group.rules.flatMap((rule, i) => {
        if (rule.kind !== 'alert') return []; // recording rules belong to Prometheus itself
        const spec: PrometheusRuleSpec = { kind: 'prometheus', name: `${shown}#${group.name}#${i}`, alert: rule.name, file: shown, group: group.name, expr: rule.expr };
        return [prometheusRule(spec, rule, group, client, defaultIntervalMs)];
      }),
    );
  });
}

/** The rule files `alerting.rule_files` names, globs expanded. */
export function ruleFilesOf(config: VigilConfig): string[] {
  return config.alerting.rule_files.flatMap((pattern) => {
    const matches = globSync(pattern, { cwd: config.baseDir, absolute: true }).sort();
    return matches.length || /[*?[{]/.test(pattern) ? matches : [resolve(config.baseDir, pattern)];
  });
}

/** Config problems of `alerting`: unreadable or invalid rule files, rule files without a Prometheus to ask. */
export function ruleFileProblems(config: VigilConfig): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  if (config.alerting.rule_files.length && !config.alerting.prometheus) {
    problems.push({ path: ['alerting', 'prometheus'], message: 'required when alerting.rule_files is set: rule expressions are evaluated by Prometheus' });
  }
  for (const file of ruleFilesOf(config)) {
    for (const err of checkRuleFile(file).errors) problems.push({ path: ['alerting', 'rule_files'], message: err.message });
  }
  return problems;
}
