import { parse } from 'csv-parse/sync';

export interface Point {
  t: number;
  v: number;
}

/** Epoch seconds or ms, ISO 8601, or `YYYY-MM-DD HH:MM:SS` (read as UTC, as NAB writes it). */
export function parseTimestamp(text: string): number {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    return n < 1e11 ? n * 1000 : n;
  }
  const iso = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s) ? `${s.replace(' ', 'T')}Z` : s;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`cannot read "${text}" as a time (expected ISO 8601, YYYY-MM-DD HH:MM:SS or epoch seconds)`);
  return t;
}

/**
 * Reads a `timestamp,value` CSV (a header row is optional) into points sorted by time. A row that cannot
 * be read is an error naming its line.
 */
export function parseSeriesCsv(text: string): Point[] {
  const rows = parse(text, { skip_empty_lines: true, trim: true, relax_column_count: true }) as string[][];
  const points: Point[] = [];
  rows.forEach((row, i) => {
    const [time, value] = row;
    if (i === 0 && time !== undefined && value !== undefined && Number.isNaN(Number(value)) && !/^\d/.test(time)) return; // header
    if (time === undefined || value === undefined || value === '') throw new Error(`line ${i + 1}: expected timestamp,value`);
    const v = Number(value);
    if (!Number.isFinite(v)) throw new Error(`line ${i + 1}: value "${value}" is not a number`);
    try {
      points.push({ t: parseTimestamp(time), v });
    } catch (err) {
      throw new Error(`line ${i + 1}: ${(err as Error).message}`, { cause: err });
    }
  });
  return points.sort((a, b) => a.t - b.t);
}

/** The series' own step: the median gap between consecutive points. */
export function inferStep(points: readonly Point[]): number {
  const gaps = points
    .slice(1)
    .map((p, i) => p.t - (points[i] as Point).t)
    .filter((g) => g > 0)
    .sort((a, b) => a - b);
  if (gaps.length === 0) throw new Error('need at least two points at different times to infer the step');
  return gaps[Math.floor(gaps.length / 2)] as number;
}
