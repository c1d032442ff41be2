/**
 * The unattended calendar: windows (weekends, nights, holidays) when nobody watches. A breach expected
 * inside one must be announced before the window starts, so people can act while they are still there.
 */
import type { TimeIntervalConfig, UnattendedWindow } from '../config/schema.js';
import { inTimeInterval, timeIntervalEdges, timeIntervalProblems } from './time-interval.js';
import { dateOf, parseCivilDate, wallTime } from './zoned-time.js';

/** How far back the start of an unattended stretch is looked for; a longer stretch starts "that long ago". */
const LOOK_BACK = 31 * 86_400_000;

const pad = (n: number) => String(n).padStart(2, '0');

/** The recurring part of a window as a routing time interval; undefined when the window is dates only. */
function recurring(window: UnattendedWindow): TimeIntervalConfig | undefined {
  if (!window.weekdays?.length && !window.times?.length && window.dates.length) return undefined;
  return {
    name: window.name,
    location: window.time_zone,
    ...(window.times && { times: window.times }),
    ...(window.weekdays && { weekdays: window.weekdays }),
  };
}

function onDate(window: UnattendedWindow, at: number): boolean {
  if (window.dates.length === 0) return false;
  const d = dateOf(wallTime(at, window.time_zone));
  return window.dates.includes(`${d.year}-${pad(d.month)}-${pad(d.day)}`);
}

export function isUnattended(windows: readonly UnattendedWindow[], at: number): boolean {
  return windows.some((w) => onDate(w, at) || (recurring(w) !== undefined && inTimeInterval(recurring(w) as TimeIntervalConfig, at)));
}

/**
 * The start of the unattended stretch containing `at` (overlapping or touching windows, such as Friday
 * night running into the weekend, make one stretch), or undefined when `at` is attended.
 */
export function unattendedStart(windows: readonly UnattendedWindow[], at: number): number | undefined {
  if (!isUnattended(windows, at)) return undefined;
  const from = at - LOOK_BACK;
  // Every instant the calendar may switch (range edges and local midnights, where dates switch).
  const edges = [
    ...new Set(windows.flatMap((w) => timeIntervalEdges({ name: w.name, location: w.time_zone, ...(w.times && { times: w.times }) }, from, at + 1))),
  ]
    .filter((t) => t <= at)
    .sort((a, b) => b - a);
  for (const edge of edges) if (!isUnattended(windows, edge - 1)) return edge;
  return from;
}

/** Problems with the windows' fields, for the config checks. */
export function unattendedProblems(windows: readonly UnattendedWindow[]): { path: (string | number)[]; message: string }[] {
  return windows.flatMap((w, i) => [
    ...timeIntervalProblems({ name: w.name, location: w.time_zone, ...(w.times && { times: w.times }) }).map((p) => ({
      path: ['forecast', 'unattended', i, ...(p.field[0] === 'location' ? ['time_zone'] : p.field)],
      message: p.message,
    })),
    ...w.dates.flatMap((d, j) => (parseCivilDate(d) ? [] : [{ path: ['forecast', 'unattended', i, 'dates', j], message: `"${d}" is not a calendar date` }])),
  ]);
}
