import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type ExcelJS from 'exceljs';
import type { Shift } from './schedule.js';
import { formatWallTime, parseTime } from './zoned-time.js';

/**
 * Shift sheets: one row per shift with columns user, start, end (a header row names them, in any
 * order; other columns are ignored). Times are ISO 8601 with an offset, or `YYYY-MM-DD HH:MM` in the
 * schedule's zone; XLSX date cells are read as that wall time too.
 *
 * A sheet with any bad row is rejected whole, every bad row listed: an on-call schedule imported by
 * halves silently leaves nights with nobody paged.
 */

/** A sheet row as read from the file: its number as the user sees it (1 = first line) and its cells. */
export interface SheetRow {
  row: number;
  cells: string[];
}

export interface RowProblem {
  row: number;
  message: string;
}

export interface ImportedShift extends Shift {
  row: number;
}

export type ShiftImport = { ok: true; shifts: ImportedShift[] } | { ok: false; problems: RowProblem[] };

export interface ShiftImportOptions {
  /** The schedule's zone: times without an offset are wall times there. */
  timeZone: string;
  /** Users who may be on call (notifier.oncall.users); anyone else is a bad row. */
  users: ReadonlySet<string>;
}

/** Thrown when a schedule's import sheet cannot be used: unreadable, or with bad rows. */
export class ShiftImportError extends Error {
  override name = 'ShiftImportError';
  constructor(
    readonly file: string,
    readonly problems: RowProblem[],
  ) {
    super(problems.map((p) => `${file}${p.row ? `: row ${p.row}` : ''}: ${p.message}`).join('\n'));
  }
}

const COLUMNS = ['user', 'start', 'end'] as const;
const TIME_FORMATS = 'ISO 8601 with an offset, or YYYY-MM-DD HH:MM';

/** Validates parsed rows (the first non-empty one is the header). Pure: the zone and users are inputs. */
export function parseShiftRows(rows: readonly SheetRow[], options: ShiftImportOptions): ShiftImport {
  const nonEmpty = rows.filter((r) => r.cells.some((c) => c.trim() !== ''));
  const header = nonEmpty[0];
  if (!header) return { ok: false, problems: [{ row: 0, message: 'the sheet is empty (expected a header row user,start,end and one row per shift)' }] };
  const names = header.cells.map((c) => c.trim().toLowerCase());
  const index = Object.fromEntries(COLUMNS.map((c) => [c, names.indexOf(c)])) as Record<(typeof COLUMNS)[number], number>;
  const missing = COLUMNS.filter((c) => index[c] < 0);
  if (missing.length) {
    return { ok: false, problems: [{ row: header.row, message: `the header row needs columns user, start and end (missing ${missing.join(', ')})` }] };
  }

  const problems: RowProblem[] = [];
  const shifts: ImportedShift[] = [];
  for (const { row, cells } of nonEmpty.slice(1)) {
    const cell = (c: (typeof COLUMNS)[number]) => (cells[index[c]] ?? '').trim();
    const reasons: string[] = [];
    const user = cell('user');
    if (!user) reasons.push('user is empty');
    else if (!options.users.has(user)) reasons.push(`unknown user "${user}" (not in notifier.oncall.users)`);
    const time = (c: 'start' | 'end') => {
      const text = cell(c);
      const t = text ? parseTime(text, options.timeZone) : undefined;
      if (t === undefined) reasons.push(text ? `${c} "${text}" is not a time (${TIME_FORMATS})` : `${c} is empty`);
      return t;
    };
    const start = time('start');
    const end = time('end');
    if (start !== undefined && end !== undefined && end <= start) reasons.push('end is not after start');
    if (reasons.length) problems.push({ row, message: reasons.join('; ') });
    else shifts.push({ row, user, start: start!, end: end! });
  }

  // Two shifts covering the same time leave it to chance who is paged: the sheet must say.
  const byStart = [...shifts].sort((a, b) => a.start - b.start);
  byStart.forEach((s, i) => {
    const previous = byStart[i - 1];
    if (previous && s.start < previous.end) problems.push({ row: s.row, message: `overlaps the shift in row ${previous.row}` });
  });
  if (problems.length) return { ok: false, problems: problems.sort((a, b) => a.row - b.row) };
  return { ok: true, shifts: byStart };
}

export function csvRows(text: string): SheetRow[] {
  const records = parseCsv(text, { info: true, relax_column_count: true, skip_empty_lines: true, bom: true }) as unknown as { record: string[]; info: { lines: number } }[];
  return records.map(({ record, info }) => ({ row: info.lines, cells: record }));
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A cell as text. Excel date cells carry a wall time without a zone; exceljs gives it as the UTC fields of a Date. */
function cellText(value: ExcelJS.CellValue): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) {
    return `${value.getUTCFullYear()}-${pad(value.getUTCMonth() + 1)}-${pad(value.getUTCDate())} ${pad(value.getUTCHours())}:${pad(value.getUTCMinutes())}`;
  }
  if (typeof value === 'object') {
    if ('richText' in value) return value.richText.map((r) => r.text).join('');
    if ('result' in value) return cellText(value.result as ExcelJS.CellValue);
    if ('text' in value) return String(value.text);
    if ('error' in value) return String(value.error);
  }
  return String(value);
}

/** Rows of the worksheet named like the schedule, else of the first worksheet. */
export async function xlsxRows(data: Buffer, sheetName?: string): Promise<SheetRow[]> {
  // Loaded on first use: most configs never read a workbook, and exceljs is large.
  const { default: Excel } = await import('exceljs');
  const workbook = new Excel.Workbook();
  await workbook.xlsx.load(data as unknown as ArrayBuffer);
  const sheet = (sheetName && workbook.getWorksheet(sheetName)) || workbook.worksheets[0];
  if (!sheet) return [];
  const rows: SheetRow[] = [];
  sheet.eachRow({ includeEmpty: false }, (row, rowNumber) => {
    // row.values is 1-based: index 0 is always empty.
    const values = Array.isArray(row.values) ? row.values.slice(1) : [];
    rows.push({ row: rowNumber, cells: Array.from(values, (v) => cellText(v as ExcelJS.CellValue)) });
  });
  return rows;
}

export const SHEET_EXTENSIONS = ['.csv', '.xlsx'] as const;

/** Reads and validates a shift sheet (.csv or .xlsx). `scheduleName` picks the XLSX worksheet of that name if any. */
export async function readShiftSheet(file: string, options: ShiftImportOptions & { scheduleName?: string }): Promise<ShiftImport> {
  const ext = extname(file).toLowerCase();
  if (!(SHEET_EXTENSIONS as readonly string[]).includes(ext)) {
    return { ok: false, problems: [{ row: 0, message: `unsupported file type "${ext || '(none)'}" (expected ${SHEET_EXTENSIONS.join(' or ')})` }] };
  }
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    return { ok: false, problems: [{ row: 0, message: `cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }] };
  }
  let rows: SheetRow[];
  try {
    rows = ext === '.csv' ? csvRows(data.toString('utf8')) : await xlsxRows(data, options.scheduleName);
  } catch (err) {
    return { ok: false, problems: [{ row: 0, message: `cannot parse ${ext.slice(1).toUpperCase()}: ${(err as Error).message}` }] };
  }
  return parseShiftRows(rows, options);
}

/** `row 3: alice 2024-03-30 09:00 → 2024-03-31 09:00 Europe/Berlin` */
export function describeShift(shift: ImportedShift, timeZone: string): string {
  return `row ${shift.row}: ${shift.user} ${formatWallTime(shift.start, timeZone).replace(` ${timeZone}`, '')} → ${formatWallTime(shift.end, timeZone)}`;
}
