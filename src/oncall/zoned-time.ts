/**
 * Wall-clock time in an IANA time zone, through Intl only: the zone database decides every offset,
 * so daylight-saving changes are handled by the platform rather than by hand-written rules.
 */

/** A date and time as a clock on the wall in some zone shows it. Months are 1-12. */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday ... 6 = Saturday. */
  weekday: number;
}

/** A calendar date (no time, no zone). */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(zone, f);
  }
  return f;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** Throws a readable error for a zone name Intl does not know. */
export function checkTimeZone(zone: string): void {
  try {
    formatter(zone);
  } catch {
    throw new Error(`unknown time zone "${zone}" (expected an IANA name such as Europe/Berlin)`);
  }
}

export function isTimeZone(zone: string): boolean {
  try {
    checkTimeZone(zone);
    return true;
  } catch {
    return false;
  }
}

/** The wall time in `zone` at instant `at` (epoch ms). */
export function wallTime(at: number, zone: string): WallTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(zone).formatToParts(at)) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS[parts.weekday as string] ?? 0,
  };
}

/** The zone's offset from UTC at instant `at`, in ms (Berlin in summer: +7,200,000). */
function offsetAt(at: number, zone: string): number {
  const w = wallTime(at, zone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - (at - (((at % 1000) + 1000) % 1000));
}

/**
 * The instant a wall clock in `zone` shows date + minutes past midnight (minutes may exceed a day).
 * Like Temporal's "compatible" disambiguation: a time skipped by a spring-forward change moves
 * forward by the gap (02:30 → 03:30), and a time repeated in autumn means its first occurrence.
 */
export function zonedInstant(date: CivilDate, minutes: number, zone: string): number {
  const naive = Date.UTC(date.year, date.month - 1, date.day, 0, minutes);
  // Offsets a day either side bracket any change near this time (zones change at most once a day).
  const before = offsetAt(naive - 86_400_000, zone);
  const after = offsetAt(naive + 86_400_000, zone);
  const candidates = [...new Set([naive - before, naive - after])].sort((a, b) => a - b);
  const valid = candidates.filter((c) => c + offsetAt(c, zone) === naive);
  if (valid.length) return valid[0]!;
  // In a gap: read the wall time with the offset from before the change, which lands after the gap.
  return naive - before;
}

/** The calendar date `days` after `date` (negative goes back). */
export function addDays(date: CivilDate, days: number): CivilDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** Whole calendar days from `a` to `b` (no zone, so no 23- or 25-hour days). */
export function daysBetween(a: CivilDate, b: CivilDate): number {
  return Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / 86_400_000);
}

export function dateOf(w: CivilDate): CivilDate {
  return { year: w.year, month: w.month, day: w.day };
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const CLOCK = /^([01]\d|2[0-4]):([0-5]\d)$/;

export function parseCivilDate(text: string): CivilDate | undefined {
  const m = DATE.exec(text.trim());
  if (!m) return undefined;
  const date = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  // Round-trip through Date to refuse 2024-02-30 and the like.
  const back = addDays(date, 0);
  return back.year === date.year && back.month === date.month && back.day === date.day ? date : undefined;
}

/** Minutes past midnight of an `HH:MM` clock time (24:00 allowed, meaning the end of the day). */
export function parseClock(text: string): number | undefined {
  const m = CLOCK.exec(text.trim());
  if (!m) return undefined;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  return minutes <= 1440 ? minutes : undefined;
}

const LOCAL_DATE_TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(?::(\d{2}))?$/;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * Parses a point in time: ISO 8601 with `Z` or an offset, or `YYYY-MM-DD HH:MM[:SS]` (or with `T`)
 * read as wall time in `zone`. Returns undefined when it is neither.
 */
export function parseTime(text: string, zone: string): number | undefined {
  const trimmed = text.trim();
  if (ISO_WITH_ZONE.test(trimmed)) {
    const t = Date.parse(trimmed);
    return Number.isNaN(t) ? undefined : t;
  }
  const m = LOCAL_DATE_TIME.exec(trimmed);
  if (!m) return undefined;
  const date = parseCivilDate(m[1]!);
  const clock = parseClock(m[2]!);
  if (!date || clock === undefined) return undefined;
  return zonedInstant(date, clock, zone) + Number(m[3] ?? 0) * 1000;
}

/** `2024-03-31 09:00 Europe/Berlin`: how people read a time in a schedule. */
export function formatWallTime(at: number, zone: string): string {
  const w = wallTime(at, zone);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)} ${zone}`;
}
