import type { RiskEvent } from '../../bus/messages.js';
import type { RiskRule } from '../../config/schema.js';
import { parseDuration } from '../../series/duration.js';
import type { Sample } from '../../series/series.js';
import { selects } from './predict.js';

/** A condition's last value older than this (sample time) no longer counts as holding. */
export const STALE_AFTER = 10 * 60_000;

const COMPARE: Record<RiskRule['conditions'][number]['op'], (a: number, b: number) => boolean> = {
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

interface Resource {
  labels: Record<string, string>;
  /** Per condition: the last sample that met its selector. */
  latest: (Sample | undefined)[];
  since?: number;
  raised: boolean;
}

/**
 * Precursor risk: per resource (the rule's group_by labels), whether every condition holds at once, for
 * how long, and when that crosses the rule's minimum score. In memory: after a restart the pattern has
 * to hold again for its period.
 */
export class RiskTracker {
  private resources = new Map<string, Map<string, Resource>>();
  private rules: { rule: RiskRule; period: number }[] = [];

  configure(rules: readonly RiskRule[]): void {
    this.rules = rules.map((rule) => ({ rule, period: parseDuration(rule.for) }));
    const names = new Set(rules.map((r) => r.name));
    for (const name of [...this.resources.keys()]) if (!names.has(name)) this.resources.delete(name);
  }

  /** Feeds one sample; returns the risks it raised or cleared. */
  observe(sample: Sample): RiskEvent[] {
    const events: RiskEvent[] = [];
    for (const { rule, period } of this.rules) {
      const matched = rule.conditions.flatMap((c, i) => (selects(c, sample) ? [i] : []));
      if (matched.length === 0) continue;
      const labels = Object.fromEntries(rule.group_by.map((l) => [l, sample.labels[l] ?? '']));
      const key = JSON.stringify(rule.group_by.map((l) => labels[l]));
      let byKey = this.resources.get(rule.name);
      if (!byKey) this.resources.set(rule.name, (byKey = new Map()));
      let resource = byKey.get(key);
      if (!resource) byKey.set(key, (resource = { labels, latest: rule.conditions.map(() => undefined), raised: false }));
      for (const i of matched) resource.latest[i] = sample;
      const event = this.evaluate(rule, period, resource, sample.t);
      if (event) events.push(event);
    }
    return events;
  }

  private evaluate(rule: RiskRule, period: number, r: Resource, t: number): RiskEvent | undefined {
    const holds = rule.conditions.every((c, i) => {
      const s = r.latest[i];
      return s !== undefined && t - s.t <= STALE_AFTER && COMPARE[c.op](s.v, c.value);
    });
    const reasons = () =>
      rule.conditions.map((c, i) => `${r.latest[i]?.series ?? c.metric} ${c.op} ${c.value} (now ${Number(r.latest[i]?.v.toPrecision(4))})`);
    if (!holds) {
      const since = r.since;
      r.since = undefined;
      if (!r.raised || since === undefined) return undefined;
      r.raised = false;
      return { state: 'cleared', rule: rule.name, labels: { ...r.labels, ...rule.labels }, score: 0, reasons: reasons(), since, t, severity: rule.severity };
    }
    r.since ??= t;
    const score = period > 0 ? Math.min(1, (t - r.since) / period) : 1;
    if (r.raised || score < rule.min_score) return undefined;
    r.raised = true;
    return { state: 'raised', rule: rule.name, labels: { ...r.labels, ...rule.labels }, score, reasons: reasons(), since: r.since, t, severity: rule.severity };
  }
}
