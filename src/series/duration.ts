const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/y;

/** Pattern for config schemas: Prometheus-style durations such as `30s`, `5m`, `1h30m`. */
export const DURATION_PATTERN = '^(\\d+(\\.\\d+)?(ms|s|m|h|d|w|y))+$';

/** Parses a Prometheus-style duration (`1h30m`, `15s`, `250ms`) into milliseconds. */
export function parseDuration(text: string): number {
  if (!text) throw new Error('empty duration');
  let total = 0;
  PART.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m) throw new Error(`invalid duration "${text}" (expected e.g. 30s, 5m, 1h30m)`);
    total += Number(m[1]) * (UNITS[m[2] as string] as number);
    pos = PART.lastIndex;
  }
  return total;
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000], ['ms', 1]] as const) {
    if (rest >= size) {
      const n = Math.floor(rest / size);
      parts.push(`${n}${unit}`);
      rest -= n * size;
    }
  }
  return parts.join('');
}
