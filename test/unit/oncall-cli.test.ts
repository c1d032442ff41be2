import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { describeWhoIsOnCall } from '../../src/cli/oncall.js';
import { loadConfig } from '../../src/config/load.js';
import { loadSchedules } from '../../src/oncall/oncall.js';

const ROOT = join(import.meta.dirname, '../..');
const FIXTURES = join(ROOT, 'test/fixtures/oncall');
const CONFIG = join(FIXTURES, 'vigil.yaml');

/** Runs the real CLI; resolves with its output and exit code even when it fails. */
async function vigil(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

describe('vigil oncall who', () => {
  it('says who is on duty per schedule and until when, reading --at in each zone', async () => {
    const schedules = [...(await loadSchedules(loadConfig(CONFIG))).values()];
    // 08:59 and 09:00 Berlin on 2024-03-27: the hand-off from bob to alice (no imported shift that day).
    expect(describeWhoIsOnCall(schedules, '2024-03-27T07:59:00Z', 0).lines).toEqual([
      'primary: bob until 2024-03-27 09:00 Europe/Berlin',
      'secondary: bob until 2024-04-01 10:00 America/New_York',
    ]);
    expect(describeWhoIsOnCall(schedules, '2024-03-27T08:00:00Z', 0).lines[0]).toBe('primary: alice until 2024-03-28 09:00 Europe/Berlin');
    expect(describeWhoIsOnCall(schedules, undefined, Date.parse('2024-03-01T00:00:00Z')).lines).toEqual([
      'primary: nobody on call at 2024-03-01 01:00 Europe/Berlin',
      'secondary: nobody on call at 2024-02-29 19:00 America/New_York',
    ]);
    expect(describeWhoIsOnCall(schedules, 'yesterday', 0).errors).toEqual([`--at "yesterday" is not a time (ISO 8601 with an offset, or YYYY-MM-DD HH:MM in the schedule's zone)`]);
  });

  it('runs as a command, imported shifts included', async () => {
    const { stdout, code } = await vigil('oncall', 'who', '--config', CONFIG, '--schedule', 'primary', '--at', '2024-03-31 12:00');
    expect(code).toBe(0);
    expect(stdout).toBe('primary: bob until 2024-04-01 09:00 Europe/Berlin\n');
    const unknown = await vigil('oncall', 'who', '--config', CONFIG, '--schedule', 'tertiary');
    expect(unknown).toMatchObject({ code: 1, stderr: 'no schedule named "tertiary" (schedules: primary, secondary)\n' });
  });
});

describe('vigil oncall import', () => {
  it('prints the accepted shifts of a good sheet', async () => {
    const { stdout, code } = await vigil('oncall', 'import', '--config', CONFIG, '--schedule', 'primary', join(FIXTURES, 'shifts.csv'));
    expect(code).toBe(0);
    expect(stdout.split('\n').slice(0, 4)).toEqual([
      `${join(FIXTURES, 'shifts.csv')}: 3 shifts accepted for schedule "primary"`,
      '  row 2: alice 2024-03-30 09:00 → 2024-03-31 09:00 Europe/Berlin',
      '  row 3: bob 2024-03-31 09:00 → 2024-04-01 09:00 Europe/Berlin',
      '  row 5: carol 2024-04-01 09:00 → 2024-04-02 09:00 Europe/Berlin',
    ]);
  });

  it('lists every bad row with its number and exits 1', async () => {
    const file = join(FIXTURES, 'shifts-bad.csv');
    const { stderr, code } = await vigil('oncall', 'import', '-c', CONFIG, '-s', 'primary', file);
    expect(code).toBe(1);
    expect(stderr.split('\n')).toEqual([
      `${file}: rejected, nothing imported (5 bad rows):`,
      '  row 3: unknown user "mallory" (not in notifier.oncall.users)',
      '  row 4: start "next monday" is not a time (ISO 8601 with an offset, or YYYY-MM-DD HH:MM)',
      '  row 5: end is not after start',
      '  row 6: user is empty',
      '  row 7: overlaps the shift in row 2',
      '',
    ]);
  });
});
