import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { describeShift, readShiftSheet, ShiftImportError } from '../../src/oncall/import.js';
import { importedShifts, loadSchedules, recipientFor } from '../../src/oncall/oncall.js';
import { whoIsOnCall } from '../../src/oncall/schedule.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/oncall');
const options = { timeZone: 'Europe/Berlin', users: new Set(['alice', 'bob', 'carol']) };
const utc = (iso: string) => Date.parse(iso);

const dir = mkdtempSync(join(tmpdir(), 'vigil-oncall-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes an XLSX sheet; Date cells hold a wall time as Excel does (no zone: exceljs writes the UTC fields). */
async function writeXlsx(name: string, rows: unknown[][], sheetName = 'Shifts'): Promise<string> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet(sheetName);
  for (const row of rows) sheet.addRow(row);
  const file = join(dir, name);
  await workbook.xlsx.writeFile(file);
  return file;
}

describe('CSV import', () => {
  it('reads every shift of a good sheet, wall times in the schedule zone, ISO times as given', async () => {
    const result = await readShiftSheet(join(FIXTURES, 'shifts.csv'), options);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.shifts).toEqual([
      { row: 2, user: 'alice', start: utc('2024-03-30T08:00:00Z'), end: utc('2024-03-31T07:00:00Z') },
      { row: 3, user: 'bob', start: utc('2024-03-31T07:00:00Z'), end: utc('2024-04-01T07:00:00Z') },
      { row: 5, user: 'carol', start: utc('2024-04-01T07:00:00Z'), end: utc('2024-04-02T07:00:00Z') },
    ]);
    expect(describeShift(result.shifts[0]!, 'Europe/Berlin')).toBe('row 2: alice 2024-03-30 09:00 → 2024-03-31 09:00 Europe/Berlin');
  });

  it('rejects the whole sheet, listing every bad row with its number and reason', async () => {
    const result = await readShiftSheet(join(FIXTURES, 'shifts-bad.csv'), options);
    expect(result).toEqual({
      ok: false,
      problems: [
        { row: 3, message: 'unknown user "mallory" (not in notifier.oncall.users)' },
        { row: 4, message: 'start "next monday" is not a time (ISO 8601 with an offset, or YYYY-MM-DD HH:MM)' },
        { row: 5, message: 'end is not after start' },
        { row: 6, message: 'user is empty' },
        { row: 7, message: 'overlaps the shift in row 2' },
      ],
    });
  });

  it('names a missing header column, an unreadable file and an unsupported type', async () => {
    const noHeader = join(dir, 'no-header.csv');
    writeFileSync(noHeader, 'alice,2024-01-01 09:00,2024-01-02 09:00\n');
    expect(await readShiftSheet(noHeader, options)).toEqual({ ok: false, problems: [{ row: 1, message: 'the header row needs columns user, start and end (missing user, start, end)' }] });
    expect(await readShiftSheet(join(dir, 'missing.csv'), options)).toEqual({ ok: false, problems: [{ row: 0, message: 'cannot read file: ENOENT' }] });
    expect(await readShiftSheet(join(dir, 'shifts.ods'), options)).toMatchObject({ ok: false, problems: [{ message: /unsupported file type ".ods"/ }] });
  });
});

describe('XLSX import', () => {
  it('reads date cells as wall times in the schedule zone and text cells like CSV', async () => {
    const file = await writeXlsx('good.xlsx', [
      ['User', 'Start', 'End'],
      ['alice', new Date(Date.UTC(2024, 9, 26, 9, 0)), new Date(Date.UTC(2024, 9, 27, 9, 0))],
      ['bob', '2024-10-27 09:00', '2024-10-28T08:00:00Z'],
    ]);
    const result = await readShiftSheet(file, options);
    expect(result).toEqual({
      ok: true,
      shifts: [
        // 09:00 CEST on the 26th to 09:00 CET on the 27th: 25 hours across the October change.
        { row: 2, user: 'alice', start: utc('2024-10-26T07:00:00Z'), end: utc('2024-10-27T08:00:00Z') },
        { row: 3, user: 'bob', start: utc('2024-10-27T08:00:00Z'), end: utc('2024-10-28T08:00:00Z') },
      ],
    });
  });

  it('rejects a sheet with bad rows, by the row numbers Excel shows', async () => {
    const file = await writeXlsx('bad.xlsx', [
      ['user', 'start', 'end'],
      ['alice', '2024-10-26 09:00', '2024-10-27 09:00'],
      [],
      ['zoe', '2024-10-27 09:00', '2024-10-28 09:00'],
      ['bob', 45_000, '2024-10-29 09:00'],
    ]);
    expect(await readShiftSheet(file, options)).toEqual({
      ok: false,
      problems: [
        { row: 4, message: 'unknown user "zoe" (not in notifier.oncall.users)' },
        { row: 5, message: 'start "45000" is not a time (ISO 8601 with an offset, or YYYY-MM-DD HH:MM)' },
      ],
    });
  });

  it('prefers the worksheet named like the schedule', async () => {
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('Notes').addRow(['nothing here']);
    const sheet = workbook.addWorksheet('primary');
    sheet.addRow(['user', 'start', 'end']);
    sheet.addRow(['carol', '2024-01-01 09:00', '2024-01-02 09:00']);
    const file = join(dir, 'named.xlsx');
    await workbook.xlsx.writeFile(file);
    expect(await readShiftSheet(file, { ...options, scheduleName: 'primary' })).toMatchObject({ ok: true, shifts: [{ user: 'carol' }] });
  });
});

describe('imported shifts in a schedule', () => {
  const config = loadConfig(join(FIXTURES, 'vigil.yaml'));

  it('act as overrides over the layers', async () => {
    const primary = (await loadSchedules(config)).get('primary')!;
    // The layer alternates alice/bob from 2024-03-25 (bob on 2024-04-01); carol's imported shift wins that day.
    expect(whoIsOnCall(primary, utc('2024-04-01T10:00:00Z'))).toBe('carol');
    expect(whoIsOnCall(primary, utc('2024-04-03T10:00:00Z'))).toBe('bob');
  });

  it('a bad sheet is reported and its schedule keeps its layers', async () => {
    const bad = { ...config, notifier: { ...config.notifier, oncall: { ...config.notifier.oncall, schedules: [{ ...config.notifier.oncall.schedules[0]!, import: 'shifts-bad.csv' }] } } };
    await expect(importedShifts(bad, bad.notifier.oncall.schedules[0]!)).rejects.toThrow(ShiftImportError);
    const errors: string[] = [];
    const primary = (await loadSchedules(bad, (name, err) => errors.push(`${name}: ${err.message}`))).get('primary')!;
    expect(errors[0]).toMatch(/^primary: .*shifts-bad\.csv: row 3: unknown user "mallory"/);
    expect(whoIsOnCall(primary, utc('2024-04-01T10:00:00Z'))).toBe('bob');
  });

  it('resolves users to their contacts', () => {
    expect(recipientFor(config, 'alice')).toEqual({ name: 'alice', email: 'alice@example.com', slack: '@alice' });
    expect(recipientFor(config, 'nobody')).toEqual({ name: 'nobody' });
  });
});

describe('config checks', () => {
  it('name unknown users, schedules, receivers, intervals and an unreadable import, with their paths', () => {
    const yaml = [
      'notifier:',
      '  receivers: [{ name: log, kind: log }]',
      '  oncall:',
      '    users: [{ name: alice }]',
      '    schedules:',
      '      - name: primary',
      '        time_zone: Europe/Berlin',
      '        layers: [{ rotation: daily, handoff: "09:00", start: "2024-01-01", users: [alice, ghost], restrict: [nights] }]',
      '        overrides: [{ user: alice, start: "2024-01-02 09:00", end: "soon" }]',
      '        import: missing.csv',
      '  escalation_policies:',
      '    - name: default',
      '      steps:',
      '        - { targets: ["schedule:secondary", "user:bob", "receiver:pager", "team:ops"] }',
      '',
    ].join('\n');
    const file = join(dir, 'checks.yaml');
    writeFileSync(file, yaml);
    let message = '';
    try {
      loadConfig(file);
    } catch (err) {
      message = (err as Error).message;
    }
    const lines = message.split('\n').map((l) => l.replace(`${file}:`, ''));
    expect(lines).toEqual(
      expect.arrayContaining([
        '8: notifier.oncall.schedules[0].layers[0].users[1]: unknown user "ghost" (not in notifier.oncall.users)',
        '8: notifier.oncall.schedules[0].layers[0].restrict[0]: no time interval named "nights"',
        '9: notifier.oncall.schedules[0].overrides[0].end: "soon" is not a time (ISO 8601 with an offset, or YYYY-MM-DD HH:MM)',
        `10: notifier.oncall.schedules[0].import: cannot read import file ${join(dir, 'missing.csv')}: ENOENT`,
        '14: notifier.escalation_policies[0].steps[0].targets[0]: no schedule named "secondary"',
        '14: notifier.escalation_policies[0].steps[0].targets[1]: unknown user "bob" (not in notifier.oncall.users)',
        '14: notifier.escalation_policies[0].steps[0].targets[2]: no receiver named "pager"',
        '14: notifier.escalation_policies[0].steps[0].targets[3]: "team:ops" is not a target (expected schedule:NAME, user:NAME or receiver:NAME)',
      ]),
    );
  });
});
