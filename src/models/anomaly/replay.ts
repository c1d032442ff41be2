/**
 * Replays a `timestamp,value` CSV (NAB format) through a streaming detector: the code behind
 * `vigil score` and `npm run bench:nab`. Never sees labels.
 */
import { parse } from 'csv-parse/sync';
import { createDetector, type DetectorName, type DetectorOptions, type StreamingDetector } from './detector.js';

export interface SeriesRow {
  /** The timestamp text as read, written back unchanged. */
  timestamp: string;
  t: number;
  value: number;
  /** The value text as read, written back unchanged. */
  valueText: string;
}

/** Parses NAB-style timestamps ("2014-07-01 00:00:00", read as UTC), ISO 8601, or epoch seconds. */
export function parseTimestamp(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text) ? `${text.replace(' ', 'T')}Z` : text;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`invalid timestamp "${text}"`);
  return t;
}

export function parseSeriesCsv(text: string, source = 'input'): SeriesRow[] {
  const records = parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Array<Record<string, string>>;
  return records.map((r, i) => {
    const line = i + 2;
    if (r.timestamp === undefined || r.value === undefined) throw new Error(`${source}: header must be "timestamp,value"`);
    const value = Number(r.value);
    if (r.value === '' || !Number.isFinite(value)) throw new Error(`${source}:${line}: value "${r.value}" is not a number`);
    let t: number;
    try {
      t = parseTimestamp(r.timestamp);
    } catch (err) {
      throw new Error(`${source}:${line}: ${(err as Error).message}`, { cause: err });
    }
    return { timestamp: r.timestamp, t, value, valueText: r.value };
  });
}

export interface ReplayOptions {
  detector?: DetectorName;
  /** Overrides of the default configuration (research only; `vigil score` uses the defaults). */
  detectorOptions?: DetectorOptions;
  /** Called every `progressEvery` rows with the number of rows done. */
  onProgress?: (done: number) => void;
  progressEvery?: number;
}

/** One anomaly score per row, in order; the detector sees each point once, oldest first. */
export async function scoreSeries(rows: SeriesRow[], options: ReplayOptions = {}): Promise<number[]> {
  const detector: StreamingDetector = createDetector(options.detector, options.detectorOptions);
  const every = options.progressEvery ?? 1000;
  const scores = new Array<number>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as SeriesRow;
    scores[i] = detector.update(row.t, row.value).score;
    // Training runs between points, on data already seen: no look-ahead.
    if (detector.retrainDue) await detector.retrain?.();
    if (options.onProgress && (i + 1) % every === 0) options.onProgress(i + 1);
  }
  options.onProgress?.(rows.length);
  return scores;
}

export function formatScoresCsv(rows: SeriesRow[], scores: number[]): string {
  const lines = ['timestamp,value,anomaly_score'];
  rows.forEach((r, i) => lines.push(`${r.timestamp},${r.valueText},${scores[i]}`));
  return `${lines.join('\n')}\n`;
}
