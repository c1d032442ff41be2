import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';

function problems(rules: string, extra = ''): string[] {
  try {
    parseConfig(`${extra}\nrules:\n${rules}`, '/etc/vigil/vigil.yaml', {});
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => `${p.line ?? '?'} ${p.path}: ${p.message}`);
  }
}

describe('rule config errors name the line, the path and the problem', () => {
  it('accepts every kind', () => {
    expect(
      problems(`
  - { name: A, kind: threshold, metric: m, op: ">", value: 1 }
  - { name: B, kind: anomaly }
  - { name: C, kind: predict, metric: disk, threshold: 95 }
  - { name: D, kind: composite, op: and, conditions: [A, B] }
  - { name: E, kind: expression, metrics: { a: x, b: y }, on: [host], expr: a / b, op: ">", value: 0.8 }
  - { name: F, kind: group, metric: up, aggregate: ratio_up, op: "<", value: 0.8 }
  - { name: G, kind: outlier, metric: latency, group_by: [cluster] }
  - { name: H, kind: absence, metric: heartbeat, absent_for: 5m }
  - { name: I, kind: event_count, event: host.down, window: 24h, more_than: 3 }
  - { name: J, kind: sla, metric: up, objective: 99.9 }
  - { name: K, kind: system_event, event: "runbook.*" }`),
    ).toEqual([]);
  });

  const cases: [string, string, string][] = [
    ['unknown kind', `  - { name: A, kind: magic }`, 'rules[0].kind'],
    ['composite naming no rule', `  - { name: A, kind: composite, op: or, conditions: [Nope] }`, '3 rules[0].conditions[0]: no rule named "Nope"'],
    ['not with two conditions', `  - { name: X, kind: threshold, metric: m, op: ">", value: 1 }\n  - { name: A, kind: composite, op: not, conditions: [X, X] }`, '4 rules[1].conditions: `not` takes exactly one condition'],
    ['a cycle', `  - { name: A, kind: composite, op: or, conditions: [B] }\n  - { name: B, kind: composite, op: or, conditions: [A] }`, 'cannot form a cycle'],
    ['unknown variable', `  - { name: A, kind: expression, metrics: { used: m }, on: [host], expr: used / total, op: ">", value: 1 }`, '3 rules[0].expr: unknown variable "total" (known: used)'],
    ['absence of both', `  - { name: A, kind: absence, metric: m, event: e, absent_for: 1m }`, '3 rules[0]: an absence rule watches either a metric or an event'],
    ['broken template', `  - { name: A, kind: threshold, metric: m, op: ">", value: 1, annotations: { summary: "{{ $value | nope }}" } }`, '3 rules[0].annotations.summary: template: summary:1: function "nope" not defined'],
    ['unknown time interval', `  - { name: A, kind: threshold, metric: m, op: ">", value: 1, active_time_intervals: [weekends] }`, '3 rules[0].active_time_intervals[0]: no time interval named "weekends" in notifier.time_intervals'],
  ];
  it.each(cases)('%s', (_name, rules, want) => {
    expect(problems(rules).join('\n')).toContain(want);
  });
});
