import type { Matcher } from './ast.js';
import { compareLabels, labelsKey, type Labels } from './labels.js';

/** One stored sample; `stale` is Prometheus' staleness marker (a special NaN). Times in ms. */
export interface Sample {
  t: number;
  v: number;
  stale?: true;
}

export interface Series {
  labels: Labels;
  /** Ascending by time. */
  samples: Sample[];
}

/** In-memory series storage: what promtool's test storage gives the engine. */
export class SeriesStorage {
  private readonly series = new Map<string, Series>();
  /** Series by metric name, each list sorted by labels; rebuilt lazily after a new series arrives. */
  private byName: Map<string, Series[]> | undefined;
  private sorted: Series[] | undefined;
  /** Selections by matcher list (the parsed query's own array), valid until a new series arrives. */
  private selections = new WeakMap<readonly Matcher[], Series[]>();

  /** Appends a sample. One at or before the series' last timestamp is dropped, as the TSDB rejects out-of-order and duplicate writes. */
  append(labels: Labels, sample: Sample): void {
    const key = labelsKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, samples: [] };
      this.series.set(key, s);
      this.sorted = undefined;
      this.byName = undefined;
      this.selections = new WeakMap();
    }
    const last = s.samples[s.samples.length - 1];
    if (last && sample.t <= last.t) return;
    s.samples.push(sample);
  }

  /** Series whose labels satisfy every matcher, sorted by labels as Prometheus' storage returns them. */
  select(matchers: readonly Matcher[]): Series[] {
    const cached = this.selections.get(matchers);
    if (cached) return cached;
    this.sorted ??= [...this.series.values()].sort((a, b) => compareLabels(a.labels, b.labels));
    if (!this.byName) {
      this.byName = new Map();
      for (const s of this.sorted) {
        const name = s.labels.__name__ ?? '';
        const list = this.byName.get(name);
        if (list) list.push(s);
        else this.byName.set(name, [s]);
      }
    }
    const byName = matchers.find((m) => m.name === '__name__' && m.type === '=');
    const candidates = byName ? (this.byName.get(byName.value) ?? []) : this.sorted;
    const selected = candidates.filter((s) => matchers.every((m) => matches(m, s.labels[m.name] ?? '')));
    this.selections.set(matchers, selected);
    return selected;
  }
}

export function matches(m: Matcher, value: string): boolean {
  switch (m.type) {
    case '=': return value === m.value;
    case '!=': return value !== m.value;
    case '=~': return m.re!.test(value);
    case '!~': return !m.re!.test(value);
  }
}

/** Index of the last sample with time <= t, or -1. */
export function lastIndexAtOrBefore(samples: readonly Sample[], t: number): number {
  let lo = 0;
  let hi = samples.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (samples[mid]!.t <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
