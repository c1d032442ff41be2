import type { ForecastPoint } from './forecaster.js';
import { Z80 } from './horizon-errors.js';

export type Direction = 'above' | 'below';

export interface Breach {
  /** When the expected path crosses the threshold (epoch ms). */
  at: number;
  /** When the pessimistic edge of the 80% interval crosses it. */
  earliest: number;
  /** When the optimistic edge crosses it; the path's end when it does not within the path. */
  latest: number;
}

export interface ThresholdOutlook {
  breach?: Breach;
  /** Probability in [0, 1] that the series is past the threshold at some step within the horizon. */
  confidence: number;
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26, error below 1e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/**
 * When a forecast path crosses `threshold`, with the crossing times of the interval's edges, and the
 * confidence that it does so by `horizonEnd`. Crossings are interpolated linearly between steps, starting
 * from the last observed point `from`. The path may run past the horizon so `latest` can be found.
 */
export function timeToThreshold(
  from: { t: number; value: number },
  path: readonly ForecastPoint[],
  threshold: number,
  direction: Direction,
  horizonEnd: number,
): ThresholdOutlook {
  const sign = direction === 'above' ? 1 : -1;
  // Distance past the threshold, positive once crossed, for the expected path and both edges.
  const past = (v: number) => sign * (v - threshold);
  const pessimistic = (p: ForecastPoint) => (direction === 'above' ? p.upper : p.lower);
  const optimistic = (p: ForecastPoint) => (direction === 'above' ? p.lower : p.upper);
  const crossing = (pick: (p: ForecastPoint) => number): number | undefined => {
    let prev = { t: from.t, d: past(from.value) };
    if (prev.d >= 0) return from.t;
    for (const p of path) {
      const d = past(pick(p));
      if (d >= 0) return prev.t + ((p.t - prev.t) * -prev.d) / (d - prev.d);
      prev = { t: p.t, d };
    }
    return undefined;
  };

  let confidence = 0;
  for (const p of path) {
    if (p.t > horizonEnd) break;
    const sigma = Math.abs(pessimistic(p) - p.yhat) / Z80;
    const d = past(p.yhat);
    confidence = Math.max(confidence, sigma > 0 ? normalCdf(d / sigma) : d >= 0 ? 1 : 0);
  }
  const at = crossing((p) => p.yhat);
  if (at === undefined || at > horizonEnd) return { confidence };
  const end = path.at(-1)?.t ?? from.t;
  return { breach: { at, earliest: Math.min(at, crossing(pessimistic) ?? at), latest: Math.max(at, crossing(optimistic) ?? end) }, confidence };
}
