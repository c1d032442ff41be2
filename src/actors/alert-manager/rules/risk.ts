import { riskKey, type RiskEvent } from '../../../bus/messages.js';
import type { RiskAlertRule, RiskRule, RuleConfig } from '../../../config/schema.js';
import type { Labels, Observe, RuleEvaluator } from './rule.js';
import { ruleTiming } from './timing.js';

const iso = (t: number) => new Date(t).toISOString();

/**
 * A precursor risk of `forecast.risks` raised by the predictive analyzer activates, one alert per
 * resource; its `cleared` event resolves. The value is the score; the score, the reasons and since
 * when the pattern holds go into the annotations. The severity is the risk's unless the rule sets one.
 */
export function riskRule(rule: RiskAlertRule): RuleEvaluator {
  const latest = new Map<string, Labels>();
  return {
    name: rule.name,
    config: rule,
    timing: ruleTiming(rule),
    metrics: [],
    onRisk(event: RiskEvent, observe: Observe) {
      if (event.rule !== rule.risk) return;
      const key = riskKey(event);
      const raised = event.state === 'raised';
      if (raised) latest.set(key, { score: event.score.toFixed(2), reasons: event.reasons.join('\n'), since: iso(event.since) });
      observe(key, raised, event.score, { ...event.labels, severity: event.severity }, event.t);
      // Kept until the clearing is observed, so the resolution still says what the risk was.
      if (!raised) latest.delete(key);
    },
    details: (key) => latest.get(key),
  };
}

/**
 * Risks no `risk` rule names alert by default: a configured precursor pattern is there to warn someone.
 * Each gets a rule named after the risk, with the risk's severity and labels.
 */
export function defaultRiskRules(rules: readonly RuleConfig[], risks: readonly RiskRule[]): RiskAlertRule[] {
  const named = new Set(rules.flatMap((r) => (r.kind === 'risk' ? [r.risk] : [])));
  return risks.filter((risk) => !named.has(risk.name)).map((risk) => ({ name: risk.name, kind: 'risk', risk: risk.name, for: '0s', keep_firing_for: '0s' }));
}
