import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/actors/alert-manager/fingerprint.js';
import {
  alertAnnotations,
  alertLabels,
  compileThresholdRule,
  evaluateThreshold,
  indexByMetric,
} from '../../src/actors/alert-manager/rules/threshold.js';
import { expandTemplate } from '../../src/template/template.js';
import type { ThresholdRule } from '../../src/config/schema.js';
import { makeSample } from '../../src/series/series.js';

function rule(overrides: Partial<ThresholdRule> = {}): ThresholdRule {
  return { name: 'HighCpu', kind: 'threshold', metric: 'cpu', op: '>', value: 90, for: '5m', keep_firing_for: '0s', severity: 'warning', ...overrides };
}

describe('threshold evaluation', () => {
  const cases: { name: string; rule: Partial<ThresholdRule>; sample: [string, Record<string, string>, number]; want: boolean | undefined }[] = [
    { name: '> above', rule: { op: '>' }, sample: ['cpu', {}, 91], want: true },
    { name: '> equal', rule: { op: '>' }, sample: ['cpu', {}, 90], want: false },
    { name: '>= equal', rule: { op: '>=' }, sample: ['cpu', {}, 90], want: true },
    { name: '< below', rule: { op: '<' }, sample: ['cpu', {}, 89], want: true },
    { name: '< equal', rule: { op: '<' }, sample: ['cpu', {}, 90], want: false },
    { name: '<= equal', rule: { op: '<=' }, sample: ['cpu', {}, 90], want: true },
    { name: '== equal', rule: { op: '==' }, sample: ['cpu', {}, 90], want: true },
    { name: '== other', rule: { op: '==' }, sample: ['cpu', {}, 90.5], want: false },
    { name: '!= other', rule: { op: '!=' }, sample: ['cpu', {}, 1], want: true },
    { name: '!= equal', rule: { op: '!=' }, sample: ['cpu', {}, 90], want: false },
    { name: 'NaN never breaches >', rule: { op: '>' }, sample: ['cpu', {}, NaN], want: false },
    { name: 'other metric is not evaluated', rule: {}, sample: ['mem', {}, 99], want: undefined },
    { name: 'match labels equal', rule: { match: { env: 'prod', dc: 'a' } }, sample: ['cpu', { env: 'prod', dc: 'a', host: 'h1' }, 99], want: true },
    { name: 'match label differs', rule: { match: { env: 'prod' } }, sample: ['cpu', { env: 'dev' }, 99], want: undefined },
    { name: 'match label missing', rule: { match: { env: 'prod' } }, sample: ['cpu', { host: 'h1' }, 99], want: undefined },
  ];
  it.each(cases)('$name', ({ rule: overrides, sample: [name, labels, value], want }) => {
    expect(evaluateThreshold(compileThresholdRule(rule(overrides)), makeSample(name, labels, 0, value))).toBe(want);
  });

  it('parses durations once', () => {
    expect(compileThresholdRule(rule({ for: '1m30s', keep_firing_for: '10m' }))).toMatchObject({ forMs: 90_000, keepFiringForMs: 600_000 });
  });

  it('indexes rules by metric', () => {
    const index = indexByMetric([rule({ name: 'A' }), rule({ name: 'B', metric: 'mem' }), rule({ name: 'C' })].map(compileThresholdRule), (r) => r.metric);
    expect([...index].map(([metric, rules]) => [metric, rules.map((r) => r.name)])).toEqual([
      ['cpu', ['A', 'C']],
      ['mem', ['B']],
    ]);
  });
});

describe('alert labels and annotations', () => {
  it('adds alertname and severity to the series labels, with rule labels overriding', () => {
    const compiled = compileThresholdRule(rule({ severity: 'critical', labels: { team: 'db', env: 'staging' } }));
    expect(alertLabels(compiled, { host: 'h1', env: 'prod', alertname: 'spoofed' })).toEqual({
      host: 'h1', env: 'staging', team: 'db', severity: 'critical', alertname: 'HighCpu',
    });
  });

  it('renders annotations with the value and labels', () => {
    const compiled = compileThresholdRule(rule({ annotations: { summary: 'CPU on {{ $labels.host }} at {{$value}}%', runbook: 'https://runbooks/cpu' } }));
    expect(alertAnnotations(compiled, { host: 'h1' }, 97.5)).toEqual({ summary: 'CPU on h1 at 97.5%', runbook: 'https://runbooks/cpu' });
  });

  const templates: { name: string; text: string; want: string }[] = [
    { name: 'value', text: '{{ $value }}', want: '0.25' },
    { name: 'label', text: '{{ $labels.host }}', want: 'h1' },
    { name: 'no spaces', text: '{{$labels.host}}/{{$value}}', want: 'h1/0.25' },
    { name: 'missing label renders empty', text: '[{{ $labels.nope }}]', want: '[]' },
    { name: 'unsupported template left as written', text: '{{ $value | humanize }}', want: '{{ $value | humanize }}' },
    { name: 'plain text', text: 'disk full', want: 'disk full' },
  ];
  it.each(templates)('template: $name', ({ text, want }) => {
    expect(expandTemplate(text, { value: 0.25, labels: { host: 'h1' } })).toBe(want);
  });
});

describe('fingerprint', () => {
  // Vectors from prometheus/common model: labelSetToFingerprint, printed as Alertmanager does (%016x).
  it('matches Prometheus label set fingerprints', () => {
    expect(fingerprint({})).toBe('cbf29ce484222325');
    expect(fingerprint({ name: 'garland, briggs', fear: 'love is not enough' })).toBe((5799056148416392346n).toString(16).padStart(16, '0'));
  });

  it('does not depend on label order and tells label boundaries apart', () => {
    expect(fingerprint({ a: '1', b: '2' })).toBe(fingerprint({ b: '2', a: '1' }));
    expect(fingerprint({ a: 'bc' })).not.toBe(fingerprint({ ab: 'c' }));
    expect(fingerprint({ host: 'héllo' })).toMatch(/^[0-9a-f]{16}$/);
  });
});
