import type { NotifierConfig, TimeIntervalConfig } from '../config/schema.js';
import { inTimeInterval, timeIntervalEdges } from './time-interval.js';
import { addDays, dateOf, daysBetween, parseCivilDate, parseClock, parseTime, wallTime, zonedInstant, type CivilDate } from './zoned-time.js';

export type ScheduleConfig = NotifierConfig['oncall']['schedules'][number];
export type OncallUserConfig = NotifierConfig['oncall']['users'][number];

/** One person on duty from `start` (inclusive) to `end` (exclusive), epoch ms. */
export interface Shift {
  user: string;
  start: number;
  end: number;
}

/** A rotation, resolved from config: who takes over at each hand-off. */
export interface Layer {
  rotation: 'daily' | 'weekly';
  /** Minutes past local midnight of the hand-off. */
  handoff: number;
  /** The local date whose hand-off starts the first user's turn. */
  start: CivilDate;
  users: string[];
  /** The layer is active only inside at least one of these; empty means always. */
  restrict: TimeIntervalConfig[];
}

/** A schedule ready for lookups: times are instants, intervals resolved by name. */
export interface OncallSchedule {
  name: string;
  timeZone: string;
  /** In config order: a later layer wins where it is active. */
  layers: Layer[];
  /** Imported shifts first, then the config's overrides: a later one wins where they overlap. */
  overrides: Shift[];
}

/**
 * Resolves a schedule's config. `imported` are the shifts of its import sheet (see import.ts), which
 * act as overrides. Throws on a date, clock, override time or interval name the config checks let by.
 */
export function buildSchedule(config: ScheduleConfig, intervals: readonly TimeIntervalConfig[], imported: readonly Shift[] = []): OncallSchedule {
  const where = `schedule "${config.name}"`;
  const layers = config.layers.map((l, i): Layer => {
    const start = parseCivilDate(l.start);
    const handoff = parseClock(l.handoff);
    if (!start) throw new Error(`${where}: layers[${i}].start "${l.start}" is not a date (YYYY-MM-DD)`);
    if (handoff === undefined) throw new Error(`${where}: layers[${i}].handoff "${l.handoff}" is not HH:MM`);
    const restrict = (l.restrict ?? []).map((name) => {
      const interval = intervals.find((t) => t.name === name);
      if (!interval) throw new Error(`${where}: layers[${i}].restrict: no time interval named "${name}"`);
      return interval;
    });
    return { rotation: l.rotation, handoff, start, users: [...l.users], restrict };
  });
  const overrides = config.overrides.map((o, i): Shift => {
    const start = parseTime(o.start, config.time_zone);
    const end = parseTime(o.end, config.time_zone);
    if (start === undefined || end === undefined || end <= start) {
      throw new Error(`${where}: overrides[${i}]: start and end must be times (ISO 8601 or YYYY-MM-DD HH:MM) with end after start`);
    }
    return { user: o.user, start, end };
  });
  return { name: config.name, timeZone: config.time_zone, layers, overrides: [...imported, ...overrides] };
}

/** The local date whose hand-off began the turn running at `at`. */
function turnDate(layer: Layer, zone: string, at: number): CivilDate {
  const today = dateOf(wallTime(at, zone));
  return at >= zonedInstant(today, layer.handoff, zone) ? today : addDays(today, -1);
}

/** Who a layer puts on duty at `at`, ignoring other layers; undefined before it starts or outside `restrict`. */
export function layerUserAt(layer: Layer, zone: string, at: number): string | undefined {
  const day = daysBetween(layer.start, turnDate(layer, zone, at));
  if (day < 0) return undefined;
  if (layer.restrict.length && !layer.restrict.some((interval) => inTimeInterval(interval, at))) return undefined;
  const turn = layer.rotation === 'daily' ? day : Math.floor(day / 7);
  return layer.users[turn % layer.users.length];
}

/** Who is on call at `at`: the last override covering it, else the last layer active then. */
export function whoIsOnCall(schedule: OncallSchedule, at: number): string | undefined {
  for (let i = schedule.overrides.length - 1; i >= 0; i--) {
    const o = schedule.overrides[i]!;
    if (o.start <= at && at < o.end) return o.user;
  }
  for (let i = schedule.layers.length - 1; i >= 0; i--) {
    const user = layerUserAt(schedule.layers[i]!, schedule.timeZone, at);
    if (user !== undefined) return user;
  }
  return undefined;
}

/** Every instant in [from, to) where the person on call may change. */
function changePoints(schedule: OncallSchedule, from: number, to: number): number[] {
  const points = new Set<number>([from]);
  const add = (t: number) => {
    if (t > from && t < to) points.add(t);
  };
  for (const o of schedule.overrides) {
    add(o.start);
    add(o.end);
  }
  if (schedule.layers.length) {
    // Every local day's hand-off of every layer; weekly layers just see no change on most of them.
    const handoffs = new Set(schedule.layers.map((l) => l.handoff));
    for (let day = addDays(dateOf(wallTime(from, schedule.timeZone)), -1); zonedInstant(day, 0, schedule.timeZone) < to; day = addDays(day, 1)) {
      for (const minutes of handoffs) add(zonedInstant(day, minutes, schedule.timeZone));
    }
  }
  for (const interval of new Set(schedule.layers.flatMap((l) => l.restrict))) for (const t of timeIntervalEdges(interval, from, to)) add(t);
  return [...points].sort((a, b) => a - b);
}

/** Who is on call over [from, to), as consecutive shifts clipped to the window; gaps with nobody are left out. */
export function shifts(schedule: OncallSchedule, from: number, to: number): Shift[] {
  if (to <= from) return [];
  const points = changePoints(schedule, from, to);
  const out: Shift[] = [];
  points.forEach((start, i) => {
    const end = points[i + 1] ?? to;
    const user = whoIsOnCall(schedule, start);
    const last = out[out.length - 1];
    if (user === undefined) return;
    if (last && last.user === user && last.end === start) last.end = end;
    else out.push({ user, start, end });
  });
  return out;
}

/** How far ahead `onDuty` looks for the end of the current shift. */
export const ON_DUTY_HORIZON_MS = 90 * 86_400_000;

/**
 * The person on call at `at` and until when their stretch lasts (within `horizon`; `until` is
 * undefined when it runs past it). Undefined when nobody is on call.
 */
export function onDuty(schedule: OncallSchedule, at: number, horizon = ON_DUTY_HORIZON_MS): { user: string; until: number | undefined } | undefined {
  const first = shifts(schedule, at, at + horizon)[0];
  if (!first || first.start !== at) return undefined;
  return { user: first.user, until: first.end < at + horizon ? first.end : undefined };
}
