import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { savePrediction } from '../../src/actors/predictive-analyzer/forecast-store.js';
import type { PredictionEvent } from '../../src/bus/messages.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/main.ts');
const HOUR = 3_600_000;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `vigil ARGS` from source in a child process, as an operator would. */
function vigil(args: string[]): Promise<CliResult> {
  const { VIGIL_TOKEN: _ignored, ...env } = process.env;
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

// Each case starts the CLI from source: 1-3 s apiece on a busy two-core machine.
describe('vigil forecast', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-forecast-cli-'));
  const T0 = Date.UTC(2026, 2, 2);
  // Four days, hourly: 0.5 an hour upwards with a daily swing of +-2.
  const rows = Array.from({ length: 96 }, (_, h) => `${new Date(T0 + h * HOUR).toISOString().replace('T', ' ').slice(0, 19)},${(10 + 0.5 * h + 2 * Math.sin((2 * Math.PI * h) / 24)).toFixed(3)}`);
  const input = join(dir, 'in.csv');
  writeFileSync(input, `timestamp,value\n${rows.join('\n')}\n`);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the N steps after the last row with their 80% interval, and when the threshold is crossed', async () => {
    const output = join(dir, 'out.csv');
    const result = await vigil(['forecast', '--input', input, '--horizon', '48', '--output', output, '--threshold', '70']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const lines = readFileSync(output, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('timestamp,yhat,yhat_lower,yhat_upper');
    expect(lines).toHaveLength(49);
    const first = (lines[1] as string).split(',');
    expect(first[0]).toBe(new Date(T0 + 96 * HOUR).toISOString());
    const [yhat, lower, upper] = first.slice(1).map(Number) as [number, number, number];
    expect(lower).toBeLessThanOrEqual(yhat);
    expect(upper).toBeGreaterThanOrEqual(yhat);
    // The line reaches 70 at hour 120, 24h after the last row; the swing is at its mean there.
    expect(Math.abs(yhat - (10 + 0.5 * 96))).toBeLessThan(1.5);
    const at = Date.parse(/crossed upwards at (\S+)/.exec(result.stdout)?.[1] ?? '');
    expect(Math.abs(at - (T0 + 120 * HOUR))).toBeLessThan(3 * HOUR);
  });

  it('says "not within horizon" when the threshold is out of reach, and names a bad row', async () => {
    const output = join(dir, 'out2.csv');
    expect((await vigil(['forecast', '--input', input, '--horizon', '12', '--output', output, '--threshold', '500'])).stdout).toMatch(/^not within horizon/);
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'timestamp,value\n2026-03-02 00:00:00,1\n2026-03-02 01:00:00,n/a\n');
    const result = await vigil(['forecast', '--input', bad, '--horizon', '3', '--output', output]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('line 3: value "n/a" is not a number');
  });

  describe('report', () => {
    let daemon: TestDaemon;
    const prediction = (series: string, breachIn: number | undefined, now: number): PredictionEvent => ({
      rule: 'DiskFillingUp',
      series,
      name: 'disk_used_percent',
      labels: {},
      t: now,
      value: 80,
      threshold: 90,
      direction: 'above',
      ...(breachIn !== undefined && { breach: { at: now + breachIn, earliest: now + breachIn - HOUR, latest: now + breachIn + 2 * HOUR } }),
      confidence: 0.9,
      ratePerHour: 0.25,
    });

    beforeAll(async () => {
      daemon = await startTestDaemon(`server: { port: 0 }\nauth:\n  tokens:\n    - { name: watcher, role: viewer, token: viewer-token }\nstore: { kind: embedded, path: vigil.db }\n`);
      const now = Date.now();
      for (const [series, breachIn] of [['disk{host="b"}', 30 * HOUR], ['disk{host="a"}', 5 * HOUR], ['disk{host="c"}', 10 * 24 * HOUR], ['disk{host="d"}', undefined]] as const) {
        await savePrediction(daemon.store.models, prediction(series, breachIn, now), now);
      }
    });
    afterAll(async () => daemon?.close());

    it('lists series predicted to cross within the horizon, soonest first, as CSV and as a table', async () => {
      const csv = await vigil(['forecast', 'report', '--url', daemon.url as string, '--token', 'viewer-token', '--horizon', '7d', '--format', 'csv']);
      expect(csv).toMatchObject({ code: 0, stderr: '' });
      const lines = csv.stdout.trim().split('\n');
      expect(lines[0]).toBe('rule,series,value,threshold,direction,breach_at,time_to_breach,earliest,latest,confidence,rate_per_hour,notify_by');
      expect(lines.slice(1).map((l) => l.split(',')[1])).toEqual(['"disk{host=""a""}"', '"disk{host=""b""}"']);
      const tableOut = await vigil(['forecast', 'report', '--url', daemon.url as string, '--token', 'viewer-token', '--horizon', '12d']);
      expect(tableOut.stdout.split('\n')[0]).toMatch(/^RULE\s+SERIES\s+VALUE\s+THRESHOLD/);
      expect(tableOut.stdout.trim().split('\n')).toHaveLength(4);
    });

    it('needs a token, and refuses a bad horizon', async () => {
      const res = await fetch(`${daemon.url}/api/v1/forecasts`);
      expect(res.status).toBe(401);
      const bad = await fetch(`${daemon.url}/api/v1/forecasts?horizon=soon`, { headers: { authorization: 'Bearer viewer-token' } });
      expect(bad.status).toBe(400);
    });
  });
});
