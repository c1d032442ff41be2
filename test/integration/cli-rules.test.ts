import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/main.ts');
const CORPUS = resolve(ROOT, '../shared/prom-rules');

/** Runs from the repository; rule_files resolve against each test file's folder, wherever vigil runs. */
function vigil(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT }, (err, stdout) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }));
  });
}

// Starts the CLI from source: a few seconds apiece on a busy two-core machine.
describe('vigil test rules / vigil check rules', { timeout: 60_000 }, () => {
  it('passes good unit tests, fails bad ones with a diff, and exits 1 when any fails', async () => {
    const dir = join(CORPUS, 'tested/prometheus-v2.42.0');
    const ok = await vigil(['test', 'rules', join(dir, 'unittest.yml')]);
    expect(ok).toEqual({ code: 0, stdout: `Unit Testing: ${join(dir, 'unittest.yml')}\n  SUCCESS\n\n` });
    const bad = await vigil(['test', 'rules', join(dir, 'unittest.yml'), join(dir, 'failing.yml')]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('  SUCCESS');
    expect(bad.stdout).toMatch(/FAILED Failing alert test:\n\s+alertname: InstanceDown, time: 5m,\n\s+exp:\n\s+\(none\)\n\s+got:\n\s+labels: \{alertname="InstanceDown", job="test", severity="page"\}/);
  });

  it('checks rule files: SUCCESS with a count, duplicate rules as a lint, broken files as FAILED', async () => {
    const dir = join(CORPUS, 'tested/prometheus-v2.42.0');
    const result = await vigil(['check', 'rules', join(dir, 'rules.yml'), join(dir, 'rules_duplicates.yml'), join(dir, 'bad-rules-syntax.yml')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`Checking ${join(dir, 'rules.yml')}\n  SUCCESS: 5 rules found`);
    expect(result.stdout).toMatch(/rules_duplicates\.yml\n {2}SUCCESS: \d+ rules found\n {2}lint error: rule "job:test:count_over_time1m" appears more than once/);
    expect(result.stdout).toMatch(/bad-rules-syntax\.yml\n {2}FAILED:\n {4}.*could not parse expression/);
  });
});
