import type { TimeIntervalConfig } from '../config/schema.js';
import { addDays, dateOf, parseClock, wallTime, zonedInstant, type CivilDate } from './zoned-time.js';

const WEEKDAY_NUMBERS: Record<string, number> = { sunday: 0, monday: 1, tuesday: 2, wednesday: 3, thursday: 4, friday: 5, saturday: 6 };

/** A time range as minutes past local midnight; `end <= start` wraps past midnight. */
interface MinuteRange {
  start: number;
  end: number;
}

function rangesOf(interval: TimeIntervalConfig): MinuteRange[] {
  if (!interval.times?.length) return [{ start: 0, end: 1440 }];
  return interval.times.map((t) => ({ start: parseClock(t.start) ?? 0, end: parseClock(t.end) ?? 1440 }));
}

function weekdayAllowed(interval: TimeIntervalConfig, weekday: number): boolean {
  return !interval.weekdays?.length || interval.weekdays.some((d) => WEEKDAY_NUMBERS[d] === weekday);
}

/**
 * Whether instant `at` falls inside the interval (read in its `location`). A range that wraps past
 * midnight belongs to the day it starts on: `22:00-06:00` on fridays covers Saturday 03:00.
 */
export function isInTimeInterval(interval: TimeIntervalConfig, at: number): boolean {
  const w = wallTime(at, interval.location);
  const minute = w.hour * 60 + w.minute;
  const yesterday = (w.weekday + 6) % 7;
  return rangesOf(interval).some((r) => {
    if (r.end > r.start) return weekdayAllowed(interval, w.weekday) && minute >= r.start && minute < r.end;
    return (weekdayAllowed(interval, w.weekday) && minute >= r.start) || (weekdayAllowed(interval, yesterday) && minute < r.end);
  });
}

/** Instants in [from, to) where the interval may switch on or off: range edges and local midnights. */
export function timeIntervalEdges(interval: TimeIntervalConfig, from: number, to: number): number[] {
  const minutes = new Set<number>([0]);
  for (const r of rangesOf(interval)) minutes.add(r.start % 1440).add(r.end % 1440);
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
