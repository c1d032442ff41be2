/** The NAB corpus on disk: `<dir>/data/<category>/<file>.csv` and `<dir>/combined_windows.json`. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTimestamp } from '../anomaly/replay.js';

export interface CorpusFile {
  /** `<category>/<file>.csv`, the key in combined_windows.json. */
  name: string;
  category: string;
  path: string;
}

export function listCorpus(dir: string): CorpusFile[] {
  const dataDir = join(dir, 'data');
  return readdirSync(dataDir).sort().flatMap((category) =>
    readdirSync(join(dataDir, category)).filter((f) => f.endsWith('.csv')).sort()
      .map((f) => ({ name: `${category}/${f}`, category, path: join(dataDir, category, f) })));
}

/** Label windows per file, as epoch milliseconds. Only the scorer reads these. */
export function readWindows(dir: string): Map<string, Array<[number, number]>> {
  const raw = JSON.parse(readFileSync(join(dir, 'combined_windows.json'), 'utf8')) as Record<string, Array<[string, string]>>;
  return new Map(Object.entries(raw).map(([name, ws]) => [name, ws.map(([a, b]) => [parseTimestamp(a), parseTimestamp(b)] as [number, number])]));
}
