import type { Sample } from '../series/series.js';
import type { Rejection } from './sample-check.js';

/**
 * The order rule per series: a sample older than the series' last admitted one is rejected
 * `out_of_order`, one at the same time again `duplicate`. Within one batch, samples are taken in time
 * order, so a batch may list a series' points in any order.
 *
 * Checking and committing are separate so a caller can publish first and commit only once the
 * publish succeeded: a retried message then finds its samples still admissible.
 * Memory is bounded: past `maxSeries`, the least recently seen series are forgotten (a forgotten
 * series accepts any time again).
 */
export interface SampleGuard {
  /** Splits samples into admitted (sorted by time) and rejected (item = index in `samples`). Changes nothing. */
  check(samples: readonly Sample[]): { admitted: Sample[]; rejected: Rejection[] };
  /** Records admitted samples as the series' latest. */
  commit(admitted: readonly Sample[]): void;
  readonly size: number;
}

export function createSampleGuard(maxSeries = 100_000): SampleGuard {
  // A Map iterates in insertion order: re-inserting on every touch keeps the least recent first.
  const lastTime = new Map<string, number>();
  return {
    check(samples) {
      const order = samples.map((_, i) => i).sort((a, b) => (samples[a] as Sample).t - (samples[b] as Sample).t);
      const seen = new Map<string, number>();
      const admitted: Sample[] = [];
      const rejected: Rejection[] = [];
      for (const i of order) {
        const s = samples[i] as Sample;
        const last = seen.get(s.series) ?? lastTime.get(s.series);
        if (last !== undefined && s.t <= last) {
          const reason = s.t === last ? 'duplicate' : 'out_of_order';
          rejected.push({ item: i, reason, detail: `${s.series} at ${s.t}, last admitted at ${last}` });
          continue;
        }
        seen.set(s.series, s.t);
        admitted.push(s);
      }
      rejected.sort((a, b) => a.item - b.item);
      return { admitted, rejected };
    },
    commit(admitted) {
      for (const s of admitted) {
        const last = lastTime.get(s.series);
        lastTime.delete(s.series);
        lastTime.set(s.series, last === undefined ? s.t : Math.max(last, s.t));
      }
      for (const series of lastTime.keys()) {
        if (lastTime.size <= maxSeries) break;
        lastTime.delete(series);
      }
    },
    get size() {
      return lastTime.size;
    },
  };
}
