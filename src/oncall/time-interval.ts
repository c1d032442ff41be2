/**
 * Time-interval membership is the routing tree's (`inTimeInterval`); schedules also need to know where
 * an interval may switch, to list shifts.
 */

import type { TimeIntervalConfig } from '../config/schema.js';
import { addDays, dateOf, parseClock, wallTime, zonedInstant, type CivilDate } from './zoned-time.js';

/** Minutes past local midnight where some range of the interval starts or ends. */
function rangeEdges(interval: TimeIntervalConfig): number[] {
  return (interval.times ?? []).flatMap((t) => [parseClock(t.start) ?? 0, parseClock(t.end) ?? 0].map((m) => m % 1440));
}

/** Instants in [from, to) where the interval may switch on or off: range edges and local midnights. */
export function timeIntervalEdges(interval: TimeIntervalConfig, from: number, to: number): number[] {
  // Midnight too: weekdays switch there.
  const minutes = new Set<number>([0, ...rangeEdges(interval)]);
  const edges: number[] = [];
  // Start a day early so an edge on the first local day is not missed across a zone offset.
  let day: CivilDate = addDays(dateOf(wallTime(from, interval.location)), -1);
  for (;;) {
    const midnight = zonedInstant(day, 0, interval.location);
    if (midnight >= to) break;
    for (const m of minutes) {
      const t = zonedInstant(day, m, interval.location);
      if (t >= from && t < to) edges.push(t);
    }
    day = addDays(day, 1);
  }
  return edges;
}
