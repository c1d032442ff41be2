import { describe, expect, it } from 'vitest';
import { RiskTracker, STALE_AFTER } from '../../src/actors/predictive-analyzer/risk.js';
import type { RiskRule } from '../../src/config/schema.js';
import { makeSample } from '../../src/series/series.js';

const MINUTE = 60_000;
const rule: RiskRule = {
  name: 'Saturated',
  conditions: [
    { metric: 'cpu', op: '>', value: 90 },
    { metric: 'mem', op: '>=', value: 90, match: { kind: 'rss' } },
  ],
  group_by: ['instance'],
  for: '30m',
  min_score: 0.5,
  severity: 'critical',
  labels: { team: 'infra' },
};

describe('precursor risk', () => {
  it('raises at the minimum score, per resource, and only while every condition holds together', () => {
    const risks = new RiskTracker();
    risks.configure([rule]);
    const feed = (m: number, instance: string, cpu: number, mem: number) => [
      ...risks.observe(makeSample('cpu', { instance }, m * MINUTE, cpu)),
      ...risks.observe(makeSample('mem', { instance, kind: 'rss' }, m * MINUTE, mem)),
      // Not the memory the rule means: ignored.
      ...risks.observe(makeSample('mem', { instance, kind: 'cache' }, m * MINUTE, 10)),
    ];
    expect(feed(0, 'a', 95, 92)).toEqual([]);
    expect(feed(0, 'b', 95, 50)).toEqual([]);
    expect(feed(10, 'a', 95, 92)).toEqual([]);
    const raised = feed(15, 'a', 95, 92);
    expect(raised).toEqual([
      {
        state: 'raised',
        rule: 'Saturated',
        labels: { instance: 'a', team: 'infra' },
        score: 0.5,
        reasons: ['cpu{instance="a"} > 90 (now 95)', 'mem{instance="a",kind="rss"} >= 90 (now 92)'],
        since: 0,
        t: 15 * MINUTE,
        severity: 'critical',
      },
    ]);
    expect(feed(20, 'a', 95, 92)).toEqual([]); // raised once
    expect(feed(20, 'b', 95, 50)).toEqual([]);
    expect(feed(25, 'a', 80, 92).map((e) => [e.state, e.labels.instance, e.since])).toEqual([['cleared', 'a', 0]]);
  });

  it('does not count a condition whose last sample is stale', () => {
    const risks = new RiskTracker();
    risks.configure([{ ...rule, min_score: 0 }]);
    risks.observe(makeSample('mem', { instance: 'a', kind: 'rss' }, 0, 95));
    expect(risks.observe(makeSample('cpu', { instance: 'a' }, STALE_AFTER + MINUTE, 95))).toEqual([]);
    expect(risks.observe(makeSample('mem', { instance: 'a', kind: 'rss' }, STALE_AFTER + 2 * MINUTE, 95)).map((e) => e.state)).toEqual(['raised']);
  });
});
