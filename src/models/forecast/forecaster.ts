import { HorizonErrors, Z80, type HorizonErrorsState } from './horizon-errors.js';

/** One forecast step: the expected value and its 80% prediction interval. */
export interface ForecastPoint {
  t: number;
  yhat: number;
  lower: number;
  upper: number;
}

export type ForecasterKind = 'holt-winters' | 'seasonal-naive' | 'linear';

/** What every forecaster's serialised state shares; each kind adds its own fields. */
export interface GridState {
  kind: ForecasterKind;
  /** Grid step (ms). Samples are averaged into buckets of this size, aligned to the epoch. */
  step: number;
  /** Longest horizon (steps) the intervals are calibrated for. */
  maxHorizon: number;
  /** Index of the last closed step (t = index × step), if any. */
  last?: number;
  lastValue?: number;
  /** The bucket still filling. */
  open?: { index: number; sum: number; n: number };
  errors: HorizonErrorsState;
  /** Out-of-order samples dropped. */
  late: number;
}

/**
 * A per-series forecaster on a regular grid. Samples are averaged into steps; a step with no sample is
 * missing (the model carries its state through it). Subclasses implement the model; this class does the
 * grid, the out-of-sample error record and the intervals it gives.
 */
export abstract class GridForecaster {
  abstract readonly kind: ForecasterKind;
  readonly step: number;
  readonly maxHorizon: number;
  protected last: number | undefined;
  protected lastValue: number | undefined;
  private open: { index: number; sum: number; n: number } | undefined;
  protected readonly errors: HorizonErrors;
  private lateCount: number;

  protected constructor(step: number, maxHorizon: number, state?: GridState) {
    if (!(step > 0)) throw new Error(`forecaster step must be positive, got ${step}`);
    this.step = step;
    this.maxHorizon = Math.max(1, Math.ceil(maxHorizon));
    this.last = state?.last;
    this.lastValue = state?.lastValue;
    this.open = state?.open;
    this.errors = new HorizonErrors(this.maxHorizon, 256, state?.errors);
    this.lateCount = state?.late ?? 0;
  }

  /** Adds a sample. Returns false for a sample older than the step being filled (dropped and counted). */
  observe(t: number, v: number): boolean {
    if (!Number.isFinite(t) || !Number.isFinite(v)) throw new Error(`sample must have a finite time and value, got (${t}, ${v})`);
    const index = Math.floor(t / this.step);
    if (this.open && index < this.open.index) {
      this.lateCount++;
      return false;
    }
    if (!this.open && this.last !== undefined && index <= this.last) {
      this.lateCount++;
      return false;
    }
    if (this.open && index > this.open.index) this.closeOpen(index);
    if (!this.open) {
      // Steps between the last closed one and this sample had no data.
      if (this.last !== undefined) for (let k = this.last + 1; k < index; k++) this.advance(k, NaN);
      this.open = { index, sum: 0, n: 0 };
    }
    this.open.sum += v;
    this.open.n++;
    return true;
  }

  /** Closes the step being filled, so forecasts start after it (end of a file, or before a forecast). */
  flush(): void {
    if (this.open) this.closeOpen(this.open.index + 1);
  }

  private closeOpen(nextIndex: number): void {
    const open = this.open as { index: number; sum: number; n: number };
    this.advance(open.index, open.sum / open.n);
    for (let k = open.index + 1; k < nextIndex; k++) this.advance(k, NaN);
    this.open = undefined;
  }

  private advance(index: number, y: number): void {
    this.errors.observe(index, y);
    this.update(index, y);
    this.last = index;
    if (!Number.isNaN(y)) this.lastValue = y;
    if (this.warm()) this.errors.record(index, (h) => this.predict(h));
  }

  /**
   * Whether the model has learnt enough for its forecasts to say something about later ones: errors of
   * forecasts made before (say, before the season is known) would only widen every interval for good.
   */
  protected warm(): boolean {
    return true;
  }

  /** Time of the last closed step, or undefined before any. */
  get lastTime(): number | undefined {
    return this.last === undefined ? undefined : this.last * this.step;
  }

  get lastObserved(): number | undefined {
    return this.lastValue;
  }

  get late(): number {
    return this.lateCount;
  }

  /** The forecast h steps after the last closed step. */
  forecastAt(h: number, cache = new Map<number, [number, number] | undefined>()): ForecastPoint {
    if (this.last === undefined) throw new Error('no data to forecast from');
    const yhat = this.predict(h);
    const q = this.errors.quantiles(h, cache);
    const [lo, hi] = q ?? [-1, 1].map((s) => s * Z80 * this.oneStepScale() * Math.sqrt(h));
    return { t: (this.last + h) * this.step, yhat, lower: yhat + Math.min(0, lo as number), upper: yhat + Math.max(0, hi as number) };
  }

  /** Forecasts for steps 1..horizon after the last closed step. */
  forecast(horizon: number): ForecastPoint[] {
    const cache = new Map<number, [number, number] | undefined>();
    return Array.from({ length: horizon }, (_, i) => this.forecastAt(i + 1, cache));
  }

  protected gridState(): GridState {
    return {
      kind: this.kind,
      step: this.step,
      maxHorizon: this.maxHorizon,
      ...(this.last !== undefined && { last: this.last }),
      ...(this.lastValue !== undefined && { lastValue: this.lastValue }),
      ...(this.open && { open: { ...this.open } }),
      errors: this.errors.toJSON(),
      late: this.lateCount,
    };
  }

  /** Moves the model through grid step `index` with its value (NaN when missing). */
  protected abstract update(index: number, y: number): void;
  /** The point forecast h steps after the last closed step. */
  protected abstract predict(h: number): number;
  /** Typical one-step error, for intervals before enough out-of-sample errors exist. */
  protected abstract oneStepScale(): number;
  abstract toJSON(): GridState;
}

/** Exponentially weighted mean absolute value that starts as a plain mean. */
export function updateScale(scale: number, count: number, value: number, rate = 0.02): number {
  return count === 0 ? value : scale + Math.max(rate, 1 / (count + 1)) * (value - scale);
}
