import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkRuleFile, runUnitTestFile } from '../../src/promql/index.js';
import { vigil } from '../helpers/cli.js';

/**
 * The acceptance test of Prometheus compatibility: every row of the shared corpus' expected.tsv (verdicts of
 * promtool 2.42's `check rules` and `test rules`) must get the same verdict from Vigil.
 */
const CORPUS = join(dirname(fileURLToPath(import.meta.url)), '../../../shared/prom-rules');

interface Row {
  kind: 'check' | 'test';
  path: string;
  expect: 'pass' | 'lint' | 'fail';
}

const rows: Row[] = readFileSync(join(CORPUS, 'expected.tsv'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '' && !l.startsWith('#'))
  .map((l) => {
    const [kind, path, expect] = l.split('\t');
    return { kind, path, expect } as Row;
  });

const testRuns = new Map<string, string[]>();

/** Failures of a unit-test file, run once per file for the verdict and the case-by-case check. */
function testFailures(path: string): string[] {
  let failures = testRuns.get(path);
  if (!failures) {
    failures = runUnitTestFile(join(CORPUS, path)).failures;
    testRuns.set(path, failures);
  }
  return failures;
}

function verdict(row: Row): string {
  const file = join(CORPUS, row.path);
  if (row.kind === 'check') {
    const result = checkRuleFile(file);
    return result.errors.length > 0 ? 'fail' : result.duplicates.length > 0 ? 'lint' : 'pass';
  }
  return testFailures(row.path).length > 0 ? 'fail' : 'pass';
}

describe('promtool 2.42 agreement on the shared rule corpus', () => {
  it('has the rows SOURCES.md describes', () => {
    expect(rows.filter((r) => r.kind === 'check')).toHaveLength(35);
    expect(rows.filter((r) => r.kind === 'test')).toHaveLength(20);
  });

  it.each(rows.map((r) => [r.kind, r.path, r.expect, r] as const))('%s %s → %s', (_kind, _path, expected, row) => {
    expect(verdict(row)).toBe(expected);
  });

  it('fails the kubernetes-mixin tests on exactly the window-boundary cases promtool 2.42 fails', () => {
    const failing = (path: string): string[] => testFailures(path).map((f) => /alertname: (\w+), time: (\w+)/.exec(f)?.slice(1).join('@') ?? f);
    expect(failing('tested/kubernetes-mixin/tests/absent_alert-test.yaml').sort()).toEqual(['KubeAPIDown@25m', 'KubeControllerManagerDown@25m', 'KubeProxyDown@25m', 'KubeSchedulerDown@25m']);
    expect(failing('tested/kubernetes-mixin/tests/tests.yaml').sort()).toEqual([
      'KubeDaemonSetRolloutStuck@32m', 'KubeDaemonSetRolloutStuck@32m', 'KubeDaemonSetRolloutStuck@32m', 'KubeDaemonSetRolloutStuck@34m',
      'KubeNodeReadinessFlapping@18m', 'KubePodCrashLooping@20m',
    ]);
  });
});

describe('vigil check rules / test rules', () => {
  const dir = join(CORPUS, 'tested/prometheus-v2.42.0');

  it('check rules: counts rules, reports the duplicate lint without failing, fails a bad expression with file, group and rule', async () => {
    const ok = await vigil('check', 'rules', join(dir, 'rules.yml'), join(dir, 'rules_duplicates.yml'));
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('SUCCESS: 5 rules found');
    expect(ok.err).toContain('lint error 1 duplicate rule(s) found.\nMetric: job:test:count_over_time1m');
    const bad = await vigil('check', 'rules', join(dir, 'bad-rules-syntax.yml'));
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/bad-rules-syntax\.yml:7: group "bad-syntax", rule 1, "x": could not parse expression: .*unexpected end of input/);
  });

  it('test rules: exit 0 on success, 1 with an expected-versus-got diff on failure', async () => {
    expect((await vigil('test', 'rules', join(dir, 'unittest.yml'))).code).toBe(0);
    const failed = await vigil('test', 'rules', join(dir, 'failing.yml'));
    expect(failed.code).toBe(1);
    expect(failed.out).toContain('    expr: "test", time: 0s,\n        exp: {__name__="test"} 1\n        got: {__name__="test"} 0');
    expect(failed.out).toContain('alertname: InstanceDown, time: 5m, \n        exp:[], \n        got:[\n            0:\n              Labels:{alertname="InstanceDown", job="test", severity="page"}');
  });
});
