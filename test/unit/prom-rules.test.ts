import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { duplicateRules, loadRuleFile, RuleFileError } from '../../src/prom-rules/rule-file.js';
import { expandSeriesValues } from '../../src/prom-rules/series-notation.js';
import { runRuleTests } from '../../src/prom-rules/unit-test.js';

const CORPUS = resolve(import.meta.dirname, '../../../shared/prom-rules');

/** expected.tsv: promtool 2.42's verdict on every file of the corpus. */
const expected = readFileSync(join(CORPUS, 'expected.tsv'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() && !line.startsWith('#'))
  .map((line) => {
    const [kind, path, verdict] = line.split('\t') as [string, string, string];
    return { kind, path, verdict };
  });

function checkVerdict(path: string): string {
  try {
    return duplicateRules(loadRuleFile(path)).length ? 'lint' : 'pass';
  } catch (err) {
    if (err instanceof RuleFileError) return 'fail';
    throw err;
  }
}

describe('Prometheus rule files: the corpus loads with promtool check rules verdicts', () => {
  it.each(expected.filter((e) => e.kind === 'check'))('$path: $verdict', ({ path, verdict }) => {
    expect(checkVerdict(join(CORPUS, path))).toBe(verdict);
  });

  it('loads every rule of the untested corpus (rules/)', () => {
    const files = expected.filter((e) => e.kind === 'check' && e.path.startsWith('rules/'));
    const rules = files.flatMap((f) => loadRuleFile(join(CORPUS, f.path)).groups.flatMap((g) => g.rules));
    expect(files).toHaveLength(22);
    expect(rules.filter((r) => r.alert).length).toBeGreaterThan(300);
    expect(rules.every((r) => r.expr !== undefined)).toBe(true);
  });

  it('names file, line, group and rule of a broken expression', () => {
    expect(() => loadRuleFile(join(CORPUS, 'tested/prometheus-v2.42.0/bad-rules-syntax.yml'))).toThrow(
      /bad-rules-syntax\.yml: 6: group "bad-syntax", rule "x": could not parse expression: unexpected token/,
    );
  });
});

describe('vigil test rules: the same verdicts as promtool test rules', () => {
  it.each(expected.filter((e) => e.kind === 'test'))('$path: $verdict', ({ path, verdict }) => {
    const result = runRuleTests(join(CORPUS, path));
    expect(result.passed ? 'pass' : 'fail', result.failures.join('\n')).toBe(verdict);
  });

  it('fails exactly the cases promtool 2.42 fails in tests written for Prometheus 3', () => {
    const failed = (path: string) => runRuleTests(join(CORPUS, path)).failures.join('\n').match(/alertname: \w+, time: \w+/g);
    expect(failed('tested/kubernetes-mixin/tests/absent_alert-test.yaml')).toEqual([
      'alertname: KubeAPIDown, time: 25m',
      'alertname: KubeSchedulerDown, time: 25m',
      'alertname: KubeControllerManagerDown, time: 25m',
      'alertname: KubeProxyDown, time: 25m',
    ]);
    expect(failed('tested/kubernetes-mixin/tests/tests.yaml')).toEqual([
      'alertname: KubeNodeReadinessFlapping, time: 18m',
      'alertname: KubeDaemonSetRolloutStuck, time: 32m',
      'alertname: KubeDaemonSetRolloutStuck, time: 32m',
      'alertname: KubeDaemonSetRolloutStuck, time: 32m',
      'alertname: KubeDaemonSetRolloutStuck, time: 34m',
      'alertname: KubePodCrashLooping, time: 20m',
    ]);
  });

  it('prints a readable diff of expected and actual alerts and samples', () => {
    const { failures } = runRuleTests(join(CORPUS, 'tested/prometheus-v2.42.0/failing.yml'));
    const text = failures.join('\n');
    expect(text).toContain('FAILED Failing test:');
    expect(text).toMatch(/alertname: Test, time: 0s,\n\s+exp:\n\s+labels: \{alertname="Test"\}\n\s+annotations: \{\}\n\s+got:\n\s+\(none\)/);
    expect(text).toMatch(/expr: "test", time: 0s,\n\s+exp:\n\s+test\{\} 1\n\s+got:\n\s+test\{\} 0/);
    expect(text).toContain('FAILED Failing alert test:');
  });
});

describe('input series notation', () => {
  const cases: [string, (number | 'stale' | undefined)[]][] = [
    ['1+2x3', [1, 3, 5, 7]],
    ['5-1x2', [5, 4, 3]],
    ['7x2', [7, 7, 7]],
    ['_ _x2 stale', [undefined, undefined, undefined, 'stale']],
    ['-1 0.5 1e3 Inf', [-1, 0.5, 1000, Number.POSITIVE_INFINITY]],
  ];
  it.each(cases)('%s', (text, want) => {
    expect(expandSeriesValues(text)).toEqual(want);
  });
  it('rejects what it cannot read', () => {
    expect(() => expandSeriesValues('1 two')).toThrow('invalid value "two"');
  });
});
