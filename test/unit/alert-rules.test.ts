import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/actors/alert-manager/fingerprint.js';
import { thresholdRule } from '../../src/actors/alert-manager/rules/threshold.js';
import { expandTemplate } from '../../src/actors/alert-manager/template.js';
import type { ThresholdRule } from '../../src/config/schema.js';
import { makeSample } from '../../src/series/series.js';

function rule(overrides: Partial<ThresholdRule> = {}): ThresholdRule {
  return { name: 'HighCpu', kind: 'threshold', metric: 'cpu', op: '>', value: 90, for: '5m', keep_firing_for: '0s', severity: 'warning', occurrences: 1, ...overrides };
}

/** The rule's verdict on a sample: undefined when the rule does not observe it. */
function evaluateThreshold(compiled: ReturnType<typeof thresholdRule>, sample: ReturnType<typeof makeSample>): boolean | undefined {
  if (!compiled.metrics.includes(sample.name)) return undefined;
  let verdict: boolean | undefined;
  compiled.onSample?.(sample, (_key, active) => {
    verdict = active;
  });
  return verdict;
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
    expect(evaluateThreshold(thresholdRule(rule(overrides)), makeSample(name, labels, 0, value))).toBe(want);
  });

  it('parses durations once', () => {
    expect(thresholdRule(rule({ for: '1m30s', keep_firing_for: '10m' })).timing).toEqual({ forMs: 90_000, keepFiringForMs: 600_000 });
  });

  it('counts only from the N-th consecutive breaching sample of a series', () => {
    const compiled = thresholdRule(rule({ occurrences: 3 }));
    const verdicts = [95, 96, 80, 95, 95, 95, 99].map((v, t) => evaluateThreshold(compiled, makeSample('cpu', { host: 'a' }, t, v)));
    expect(verdicts).toEqual([false, false, false, false, false, true, true]);
  });
});

describe('templates', () => {
  const templates: { name: string; text: string; want: string }[] = [
    { name: 'value', text: '{{ $value }}', want: '0.25' },
    { name: 'label', text: '{{ $labels.host }}', want: 'h1' },
    { name: 'no spaces', text: '{{$labels.host}}/{{$value}}', want: 'h1/0.25' },
    { name: 'missing label renders empty', text: '[{{ $labels.nope }}]', want: '[]' },
    { name: 'plain text', text: 'disk full', want: 'disk full' },
    { name: 'humanize', text: '{{ 123456789 | humanize }}', want: '123.5M' },
    { name: 'humanizePercentage', text: '{{ $value | humanizePercentage }}', want: '25%' },
    { name: 'humanizeDuration', text: '{{ 93784 | humanizeDuration }}', want: '1d 2h 3m 4s' },
    { name: 'printf', text: '{{ printf "%.3f" $value }}', want: '0.250' },
    { name: 'with and trim', text: '{{ with $labels.host -}} on {{ . }} {{- end }}', want: 'on h1' },
    { name: 'if else', text: '{{ if gt $value 1.0 }}high{{ else }}low{{ end }}', want: 'low' },
    { name: 'unknown function renders the error', text: '{{ $value | nope }}', want: '<error expanding template: function "nope" not defined>' },
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
