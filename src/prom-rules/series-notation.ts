import { PromQLError } from '../promql/ast.js';

/** One value of an expanded input series: a number, a stale marker, or nothing (`_`). */
export type SeriesValue = number | 'stale' | undefined;

const UNSIGNED = '(?:\\d+\\.?\\d*(?:[eE][-+]?\\d+)?|\\.\\d+|Inf|inf|NaN|nan|0x[0-9a-fA-F]+)';
const ITEM = new RegExp(`^(?:(_)(?:x(\\d+))?|(stale)|([-+]?${UNSIGNED})(?:([-+]${UNSIGNED})?x(\\d+))?)$`);

function number(text: string): number {
  const t = text.toLowerCase().replace(/^\+/, '');
  if (t === 'inf') return Number.POSITIVE_INFINITY;
  if (t === '-inf') return Number.NEGATIVE_INFINITY;
  if (t === 'nan' || t === '-nan') return Number.NaN;
  return Number(text);
}

/**
 * promtool's expanding notation: `a+bxn` is n+1 values a, a+b, ... a+nb (also `a-bxn`); `axn` is a
 * repeated n+1 times; `_` is a missing sample and `_xn` n of them; `stale` is a staleness marker.
 */
export function expandSeriesValues(text: string): SeriesValue[] {
  const out: SeriesValue[] = [];
  for (const item of text.trim().split(/\s+/).filter(Boolean)) {
    const m = ITEM.exec(item);
    if (!m) throw new PromQLError(`invalid value ${JSON.stringify(item)} in series values ${JSON.stringify(text)}`);
    const [, blank, blankTimes, stale, start, step, times] = m;
    if (blank) {
      const n = blankTimes === undefined ? 1 : Number(blankTimes);
      for (let i = 0; i < n; i++) out.push(undefined);
    } else if (stale) out.push('stale');
    else {
      let v = number(start as string);
      out.push(v);
      if (times !== undefined) {
        const delta = step === undefined ? 0 : number(step);
        for (let i = 1; i <= Number(times); i++) {
          v += delta;
          out.push(v);
        }
      }
    }
  }
  return out;
}
