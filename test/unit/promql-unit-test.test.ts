import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runUnitTestFile } from '../../src/promql/index.js';
import { formatDuration } from '../../src/promql/unit-test.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-promtool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

write('chain.yml', `groups:
- name: second
  rules:
  - record: doubled
    expr: copied * 2
- name: first
  rules:
  - record: copied
    expr: x
`);

const chainTest = (order: string): string => `rule_files: [chain.yml]
${order}
tests:
- input_series:
  - series: x
    values: '1 2'
  promql_expr_test:
  - expr: doubled
    eval_time: 0
    exp_samples:
    - labels: doubled
      value: 2
`;

describe('promtool unit-test runner', () => {
  it('evaluates groups in group_eval_order, so a group sees what an earlier one recorded at the same time', () => {
    expect(runUnitTestFile(write('ordered.yml', chainTest('group_eval_order: [first, second]'))).failures).toEqual([]);
    const unordered = runUnitTestFile(write('unordered.yml', chainTest(''))).failures;
    expect(unordered).toEqual(['    expr: "doubled", time: 0s,\n        exp: {__name__="doubled"} 2\n        got: nil']);
    expect(runUnitTestFile(write('repeated.yml', chainTest('group_eval_order: [first, first]'))).failures).toEqual(['group name repeated in evaluation order: first']);
  });

  it('marks a recorded series stale once its rule stops returning it', () => {
    write('gone.yml', 'groups:\n- name: g\n  rules:\n  - record: seen\n    expr: x\n');
    const file = write('gone-test.yml', `rule_files: [gone.yml]
tests:
- input_series:
  - series: x
    values: '1 stale'
  promql_expr_test:
  - expr: seen
    eval_time: 59s
    exp_samples: [{labels: seen, value: 1}]
  - expr: seen
    eval_time: 2m
    exp_samples: []
`);
    expect(runUnitTestFile(file).failures).toEqual([]);
  });

  it('rejects unknown fields and a missing alertname like promtool', () => {
    expect(runUnitTestFile(write('unknown.yml', 'tests:\n- intervall: 1m\n')).failures[0]).toMatch(/field intervall not found in type main.testGroup/);
    expect(runUnitTestFile(write('noname.yml', 'tests:\n- alert_rule_test:\n  - eval_time: 1m\n')).failures[0]).toMatch(/misses required attribute alertname at eval_time 1m/);
  });

  it('prints eval times as Prometheus durations', () => {
    expect([0, 59_000, 60_000, 179_999, 86_400_000, 7 * 86_400_000].map(formatDuration)).toEqual(['0s', '59s', '1m', '2m59s999ms', '1d', '1w']);
  });
});
