import type { Matcher } from './ast.js';

export type Labels = Record<string, string>;

/** One series held in memory: samples in time order; a stale marker ends the series until the next sample. */
export interface StoredSeries {
  labels: Labels;
  ts: number[];
  vs: number[];
  stale: boolean[];
}

/** The canonical key of a label set. */
export function labelsKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k]}`)
    .join('\u0001');
}

export function matchesLabels(matchers: readonly Matcher[], labels: Labels): boolean {
  for (const m of matchers) {
    const value = labels[m.name] ?? '';
    switch (m.op) {
      case '=':
        if (value !== m.value) return false;
        break;
      case '!=':
        if (value === m.value) return false;
        break;
      case '=~':
        if (!m.re?.test(value)) return false;
        break;
      case '!~':
        if (m.re?.test(value)) return false;
        break;
    }
  }
  return true;
}

/** In-memory series storage, as promtool's test storage: what `vigil test rules` evaluates against. */
export class MemoryStorage {
  private readonly series = new Map<string, StoredSeries>();
  private readonly byName = new Map<string, StoredSeries[]>();

  /** Appends a sample; samples of one series must come in time order (a later append at the same time replaces). */
  append(labels: Labels, t: number, v: number, stale = false): void {
    const key = labelsKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, ts: [], vs: [], stale: [] };
      this.series.set(key, s);
      const name = labels.__name__ ?? '';
      const list = this.byName.get(name);
      if (list) list.push(s);
      else this.byName.set(name, [s]);
    }
    const last = s.ts.length - 1;
    if (last >= 0 && (s.ts[last] as number) >= t) {
      if (s.ts[last] === t) {
        s.vs[last] = v;
        s.stale[last] = stale;
      }
      return;
    }
    s.ts.push(t);
    s.vs.push(v);
    s.stale.push(stale);
  }

  select(matchers: readonly Matcher[]): StoredSeries[] {
    const name = matchers.find((m) => m.name === '__name__' && m.op === '=');
    const candidates = name ? (this.byName.get(name.value) ?? []) : [...this.series.values()];
    return candidates.filter((s) => matchesLabels(matchers, s.labels));
  }
}

/** Index of the last sample at or before `t`, or -1. */
export function lastIndexAtOrBefore(ts: readonly number[], t: number): number {
  let lo = 0;
  let hi = ts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((ts[mid] as number) <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
