import type { MaintenanceWindowConfig, MonitoringWindowConfig, TimeIntervalConfig } from '../config/schema.js';
import { matchesAll, parseMatchers, type Matcher } from '../labels/matchers.js';
import { inTimeInterval, timeIntervalEdges } from '../oncall/time-interval.js';

/** A recurring window over the alerts its matchers select, open inside any of its named time intervals. */
export interface Window {
  readonly name: string;
  readonly matchers: readonly Matcher[];
  readonly intervals: readonly TimeIntervalConfig[];
}

export function compileWindows(configs: readonly (MaintenanceWindowConfig | MonitoringWindowConfig)[], intervals: readonly TimeIntervalConfig[]): Window[] {
  return configs.map((w) => ({
    name: w.name,
    matchers: parseMatchers(w.matchers),
    // The config check makes sure every name exists.
    intervals: w.schedule.map((n) => intervals.find((i) => i.name === n)).filter((i): i is TimeIntervalConfig => i !== undefined),
  }));
}

export const windowOpen = (w: Window, at: number) => w.intervals.some((i) => inTimeInterval(i, at));

/** The first window that applies to these labels and is open at `at`. */
export function openWindow(windows: readonly Window[], labels: Readonly<Record<string, string>>, at: number): Window | undefined {
  return windows.find((w) => matchesAll(w.matchers, labels) && windowOpen(w, at));
}

/**
 * How many ms of [from, to) lie inside a window that applies to these labels: what SLA figures leave
 * out. Exact to the minute the intervals are written in: the span is cut at every edge where a window
 * may open or close, and each piece is in or out as a whole.
 */
export function windowCoverage(windows: readonly Window[], labels: Readonly<Record<string, string>>, from: number, to: number): number {
  if (to <= from) return 0;
  const applicable = windows.filter((w) => matchesAll(w.matchers, labels));
  if (applicable.length === 0) return 0;
  const cuts = new Set<number>([from, to]);
  for (const w of applicable) for (const i of w.intervals) for (const t of timeIntervalEdges(i, from, to)) cuts.add(t);
  const sorted = [...cuts].sort((a, b) => a - b);
  let covered = 0;
  for (let k = 0; k + 1 < sorted.length; k++) {
    const start = sorted[k] as number;
    const end = sorted[k + 1] as number;
    if (applicable.some((w) => windowOpen(w, start))) covered += end - start;
  }
  return covered;
}

/**
 * Whether an alert at `at` falls inside the watched hours of the resources it concerns: true when no
 * monitoring window selects its labels, or one that does is open. Lists hide the others unless asked.
 */
export function monitored(windows: readonly Window[], labels: Readonly<Record<string, string>>, at: number): boolean {
  const applicable = windows.filter((w) => matchesAll(w.matchers, labels));
  return applicable.length === 0 || applicable.some((w) => windowOpen(w, at));
}
