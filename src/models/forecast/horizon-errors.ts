/**
 * Out-of-sample forecast errors by horizon, the source of every forecaster's prediction intervals and of
 * the ensemble's weights. At each grid step the forecaster stores what it predicts for `step + H` at a
 * ladder of horizons H = 1, 2, 4, ...; when that step arrives the error is recorded. Only past forecasts
 * meet past observations, so intervals never peek at the future.
 */

/** A z-score for the 80% central interval of a normal distribution, for the warm-up fallback. */
export const Z80 = 1.2816;
const LOWER_Q = 0.1;
const UPPER_Q = 0.9;
/** Errors needed at a horizon before its empirical quantiles are trusted. */
const MIN_ERRORS = 30;
/**
 * Pending forecasts kept per rung. A rung of horizon H keeps one forecast every H / RING steps, so a
 * week-long ladder holds a few hundred numbers instead of thousands: far horizons are judged less often,
 * which their slowly changing errors allow.
 */
const RING = 64;

export interface HorizonErrorsState {
  horizons: number[];
  window: number;
  /** Float64 arrays as base64: exact, NaN included, and half the size of decimal JSON. */
  pending: string[];
  errors: string[];
  counts: number[];
  /** Running sums of squared errors per rung, kept as they are so a restored model weighs bit for bit alike. */
  sumSq: number[];
}

const toBase64 = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const fromBase64 = (text: string) => {
  const bytes = Buffer.from(text, 'base64');
  // Copied out: the decoded buffer may sit at an offset a Float64Array cannot start at.
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

/** Horizons 1, 2, 4, ... up to the first one reaching `maxHorizon`. */
export function horizonLadder(maxHorizon: number): number[] {
  const ladder = [1];
  while ((ladder.at(-1) as number) < maxHorizon) ladder.push((ladder.at(-1) as number) * 2);
  return ladder;
}

export class HorizonErrors {
  readonly horizons: number[];
  readonly window: number;
  /** pending[j][(step / stride_j) % RING]: the forecast made H_j steps before `step`, for `step` (steps that are multiples of the stride). */
  private readonly pending: Float64Array[];
  /** errors[j]: the last `window` signed errors (actual - forecast) at horizon H_j, as a ring. */
  private readonly errors: Float64Array[];
  private readonly counts: number[];
  private readonly sumSq: number[];

  constructor(maxHorizon: number, window = 256, state?: HorizonErrorsState) {
    this.horizons = state?.horizons ?? horizonLadder(maxHorizon);
    this.window = state?.window ?? window;
    this.pending = state ? state.pending.map(fromBase64) : this.horizons.map((h) => new Float64Array(Math.min(h, RING)).fill(NaN));
    this.errors = state ? state.errors.map(fromBase64) : this.horizons.map(() => new Float64Array(this.window).fill(NaN));
    this.counts = state ? [...state.counts] : this.horizons.map(() => 0);
    this.sumSq = state ? [...state.sumSq] : this.horizons.map(() => 0);
  }

  /** Step `step` was observed as `y` (NaN when missing): records the error of each forecast made for it. */
  observe(step: number, y: number): void {
    if (Number.isNaN(y)) return;
    this.horizons.forEach((h, j) => {
      const pending = this.pending[j] as Float64Array;
      const stride = h / pending.length;
      if (step % stride !== 0) return;
      const predicted = pending[(step / stride) % pending.length] as number;
      if (Number.isNaN(predicted)) return;
      const ring = this.errors[j] as Float64Array;
      const slot = (this.counts[j] as number) % this.window;
      const old = ring[slot] as number;
      const e = y - predicted;
      if (!Number.isNaN(old)) this.sumSq[j] = (this.sumSq[j] as number) - old * old;
      ring[slot] = e;
      this.sumSq[j] = Math.max(0, (this.sumSq[j] as number) + e * e);
      this.counts[j] = (this.counts[j] as number) + 1;
    });
  }

  /** Records the forecasts made at `step` for `step + H_j`. */
  record(step: number, forecastAt: (h: number) => number): void {
    this.horizons.forEach((h, j) => {
      const ring = this.pending[j] as Float64Array;
      const stride = h / ring.length;
      if (step % stride === 0) ring[(step / stride) % ring.length] = forecastAt(h);
    });
  }

  /**
   * Forgets every pending forecast: after a level shift, forecasts made before it would be judged on the
   * shift, which no model foresees, rather than on what the model does.
   */
  discardPending(): void {
    for (const ring of this.pending) ring.fill(NaN);
  }

  private filled(j: number): number {
    return Math.min(this.counts[j] as number, this.window);
  }

  /** Mean squared error at ladder rung j, or NaN before enough errors. */
  mse(j: number): number {
    const n = this.filled(j);
    return n < MIN_ERRORS ? NaN : (this.sumSq[j] as number) / n;
  }

  /** Ladder position of horizon h as a fractional index, for interpolating between rungs. */
  position(h: number): number {
    return Math.min(Math.log2(Math.max(1, h)), this.horizons.length - 1);
  }

  /**
   * The 10% and 90% quantiles of the error at horizon h (interpolated between rungs; beyond the ladder the
   * last rung grows like a random walk), or undefined before enough errors were seen.
   */
  quantiles(h: number, cache: Map<number, [number, number] | undefined> = new Map()): [number, number] | undefined {
    const pos = this.position(h);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, this.horizons.length - 1);
    const a = this.rungQuantiles(lo, cache);
    const b = this.rungQuantiles(hi, cache);
    if (!a || !b) return undefined;
    const f = pos - lo;
    const growth = Math.sqrt(Math.max(1, h / (this.horizons.at(-1) as number)));
    return [(a[0] + f * (b[0] - a[0])) * growth, (a[1] + f * (b[1] - a[1])) * growth];
  }

  private rungQuantiles(j: number, cache: Map<number, [number, number] | undefined>): [number, number] | undefined {
    if (cache.has(j)) return cache.get(j);
    const n = this.filled(j);
    let result: [number, number] | undefined;
    if (n >= MIN_ERRORS) {
      const sorted = (this.errors[j] as Float64Array).slice(0, n).sort();
      result = [quantile(sorted, LOWER_Q), quantile(sorted, UPPER_Q)];
    }
    cache.set(j, result);
    return result;
  }

  toJSON(): HorizonErrorsState {
    return { horizons: this.horizons, window: this.window, pending: this.pending.map(toBase64), errors: this.errors.map(toBase64), counts: [...this.counts], sumSq: [...this.sumSq] };
  }
}

/** Linear-interpolated quantile of sorted values. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return (sorted[lo] as number) + (pos - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}
