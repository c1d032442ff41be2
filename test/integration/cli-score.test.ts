import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSeriesCsv, scoreSeries } from '../../src/models/anomaly/replay.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/main.ts');
const dir = mkdtempSync(join(tmpdir(), 'vigil-score-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function vigil(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** 600 five-minute points with a spike at row 500; values written as text with trailing zeros. */
function csv(): string {
  const lines = ['timestamp,value'];
  for (let i = 0; i < 600; i++) {
    const t = new Date(Date.UTC(2024, 0, 1) + i * 300_000).toISOString().replace('T', ' ').slice(0, 19);
    const v = 10 + Math.sin(i / 7) + (i === 500 ? 30 : 0);
    lines.push(`${t},${v.toFixed(2)}0`);
  }
  return `${lines.join('\n')}\n`;
}

describe('vigil score', () => {
  it('writes timestamp,value,anomaly_score: one row per input row, in order, values echoed as read', async () => {
    const input = join(dir, 'in.csv');
    const output = join(dir, 'out.csv');
    writeFileSync(input, csv());
    const result = await vigil(['score', '--input', input, '--output', output]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    const inRows = readFileSync(input, 'utf8').trim().split('\n');
    const outRows = readFileSync(output, 'utf8').trim().split('\n');
    expect(outRows[0]).toBe('timestamp,value,anomaly_score');
    expect(outRows).toHaveLength(inRows.length);
    outRows.slice(1).forEach((row, i) => {
      const [timestamp, value, score] = row.split(',');
      expect(`${timestamp},${value}`).toBe(inRows[i + 1]);
      expect(Number(score)).toBeGreaterThanOrEqual(0);
      expect(Number(score)).toBeLessThanOrEqual(1);
    });
    // Same code path as the daemon's detector: the scores equal a direct replay, and the spike stands out.
    const direct = await scoreSeries(parseSeriesCsv(csv()));
    const written = outRows.slice(1).map((r) => Number(r.split(',')[2]));
    expect(written).toEqual(direct);
    expect(written.indexOf(Math.max(...written))).toBe(500);
  });

  it('scores with one family when asked', async () => {
    const input = join(dir, 'in2.csv');
    writeFileSync(input, csv());
    const result = await vigil(['score', '-i', input, '-o', join(dir, 'out2.csv'), '--detector', 'iforest']);
    expect(result.code).toBe(0);
    expect(readFileSync(join(dir, 'out2.csv'), 'utf8').trim().split('\n')).toHaveLength(601);
  });

  it('rejects a bad value with the file and line, and an unknown detector', async () => {
    const input = join(dir, 'bad.csv');
    writeFileSync(input, 'timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,n/a\n');
    const bad = await vigil(['score', '-i', input, '-o', join(dir, 'bad-out.csv')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${input}:3: value "n/a" is not a number`);

    const unknown = await vigil(['score', '-i', input, '-o', join(dir, 'x.csv'), '--detector', 'magic']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('magic');
  });
});
