import type { TimeIntervalConfig } from '../config/schema.js';
import { addDays, checkTimeZone, dateOf, parseClock, wallTime, zonedInstant, type CivilDate } from './zoned-time.js';

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

/**
 * Named time windows (business hours, nights, weekends) evaluated on the wall clock of their IANA time
 * zone with Intl, so "22:00 to 07:00 in Europe/Berlin" stays 22:00 to 07:00 local across DST changes.
 *
 * A range whose end is before its start wraps past midnight and belongs to the day it starts on:
 * `weekdays: [friday], times: [{ start: '22:00', end: '06:00' }]` is Friday 22:00 to Saturday 06:00.
 * No `times` means all day; no `weekdays` means every day.
 */

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;

/** Minutes past midnight of a schema-checked `HH:MM`. */
function minutesOf(clock: string): number {
  return parseClock(clock) ?? Number.NaN;
}

/** Whether `at` (epoch ms) falls inside the interval. */
export function inTimeInterval(interval: TimeIntervalConfig, at: number): boolean {
  const { weekday, hour, minute: minuteOfHour } = wallTime(at, interval.location);
  const minute = hour * 60 + minuteOfHour;
  const onDay = (day: number) => !interval.weekdays?.length || interval.weekdays.includes(WEEKDAYS[(day + 7) % 7] as (typeof interval.weekdays)[number]);
  if (!interval.times?.length) return onDay(weekday);
  return interval.times.some(({ start, end }) => {
    const from = minutesOf(start);
    const to = minutesOf(end);
    if (from < to) return onDay(weekday) && minute >= from && minute < to;
    // Wraps past midnight: the evening part today, or the morning part of a range that began yesterday.
    return (onDay(weekday) && minute >= from) || (onDay(weekday - 1) && minute < to);
  });
}

/** Whether `at` falls inside any of the named intervals; an unknown name throws (config checks catch it first). */
export function inAnyTimeInterval(names: readonly string[], intervals: readonly TimeIntervalConfig[], at: number): boolean {
  return names.some((name) => {
    const interval = intervals.find((i) => i.name === name);
    if (!interval) throw new Error(`no time interval named "${name}"`);
    return inTimeInterval(interval, at);
  });
}

/** Problems with one interval's fields, for the config checks. */
export function timeIntervalProblems(interval: TimeIntervalConfig): { field: (string | number)[]; message: string }[] {
  const problems: { field: (string | number)[]; message: string }[] = [];
  try {
    checkTimeZone(interval.location);
  } catch (err) {
    problems.push({ field: ['location'], message: (err as Error).message });
  }
  interval.times?.forEach(({ start, end }, i) => {
    if (minutesOf(start) === minutesOf(end)) problems.push({ field: ['times', i], message: `start and end are both ${start}: use 00:00 to 24:00 for a whole day` });
    if (start === '24:00' || Number.isNaN(minutesOf(start)) || Number.isNaN(minutesOf(end))) problems.push({ field: ['times', i], message: 'times run from 00:00 to 24:00; 24:00 is only an end' });
  });
  return problems;
}
