import { GridForecaster, updateScale, type GridState } from './forecaster.js';
import { SlidingRegression, type SlidingRegressionState } from './sliding-regression.js';

const DAY = 86_400_000;

export interface SeasonalNaiveState extends GridState {
  kind: 'seasonal-naive';
  period: number;
  /** Latest observed value at each phase of the season. */
  values: (number | null)[];
  scale: number;
  observed: number;
}

/** Baseline: the value one season (a day) earlier at the same phase; the last value before a full season. */
export class SeasonalNaiveForecaster extends GridForecaster {
  readonly kind = 'seasonal-naive';
  readonly period: number;
  private readonly values: Float64Array;
  private scale: number;
  private observed: number;

  constructor(step: number, maxHorizon: number, state?: SeasonalNaiveState) {
    super(step, maxHorizon, state);
    this.period = state?.period ?? Math.max(1, Math.round(DAY / step));
    this.values = state ? Float64Array.from(state.values, (v) => (v === null ? NaN : v)) : new Float64Array(this.period).fill(NaN);
    this.scale = state?.scale ?? 0;
    this.observed = state?.observed ?? 0;
  }

  protected update(index: number, y: number): void {
    if (Number.isNaN(y)) return;
    const slot = index % this.period;
    const before = this.values[slot] as number;
    if (!Number.isNaN(before)) this.scale = updateScale(this.scale, this.observed++, Math.abs(y - before));
    this.values[slot] = y;
  }

  protected predict(h: number): number {
    const v = this.values[((this.last as number) + h) % this.period] as number;
    return Number.isNaN(v) ? (this.lastValue ?? NaN) : v;
  }

  protected oneStepScale(): number {
    return 1.25 * this.scale;
  }

  toJSON(): SeasonalNaiveState {
    return {
      ...this.gridState(),
      kind: 'seasonal-naive',
      period: this.period,
      values: Array.from(this.values, (v) => (Number.isNaN(v) ? null : v)),
      scale: this.scale,
      observed: this.observed,
    };
  }
}

export interface LinearState extends GridState {
  kind: 'linear';
  regression: SlidingRegressionState;
  scale: number;
  observed: number;
}

/** Baseline: Prometheus' `predict_linear`, least squares over the last `window` ms extrapolated. */
export class LinearForecaster extends GridForecaster {
  readonly kind = 'linear';
  private readonly regression: SlidingRegression;
  private scale: number;
  private observed: number;

  constructor(step: number, maxHorizon: number, window: number, state?: LinearState) {
    super(step, maxHorizon, state);
    this.regression = new SlidingRegression(Math.max(2, Math.round(window / step)), state?.regression);
    this.scale = state?.scale ?? 0;
    this.observed = state?.observed ?? 0;
  }

  protected update(_index: number, y: number): void {
    if (!Number.isNaN(y) && this.regression.count > 0) this.scale = updateScale(this.scale, this.observed++, Math.abs(y - this.regression.predict(1)));
    this.regression.push(y);
  }

  protected predict(h: number): number {
    return this.regression.predict(h);
  }

  protected oneStepScale(): number {
    return 1.25 * this.scale;
  }

  toJSON(): LinearState {
    return { ...this.gridState(), kind: 'linear', regression: this.regression.toJSON(), scale: this.scale, observed: this.observed };
  }
}
