import { GridForecaster, updateScale, type GridState } from './forecaster.js';
import { HorizonErrors, type HorizonErrorsState } from './horizon-errors.js';
import { SeasonalProfile, type SeasonalProfileState } from './seasonal-profile.js';
import { SlidingRegression, type SlidingRegressionState } from './sliding-regression.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** Residuals beyond this many mean absolute errors are clipped (robust updates against spikes). */
const CLIP = 3;
/** ...and beyond this many they count towards a level shift. */
const SHIFT = 6;
/** Consecutive same-signed outliers that make a level shift (a clean-up emptied the disk). */
const SHIFT_RUN = 3;
/** Weekly terms seen this many times weigh half: one week of data is mostly noise. */
const WEEKLY_SHRINK = 2;
/** Days the seasonal-median member takes the median of: one odd day (an outage, a holiday) does not move it. */
const MEDIAN_DAYS = 3;
/**
 * Members weigh by their recent MSE to this negative power: close to picking the best member per
 * horizon, which beat softer blends (power 1 or 2) at both horizons of the benchmark.
 */
const WEIGHT_POWER = 6;
/** A level shift (or a run towards one) is unconfirmed for this long... */
const CONFIRM = 12 * HOUR;
/** ...and until then forecasts this far ahead come from the seasonal median alone. */
const UNCONFIRMED_HORIZON = 6 * HOUR;

export interface HoltWintersOptions {
  step: number;
  maxHorizon: number;
  /** Level smoothing of each ensemble member. */
  alphas: number[];
  /** Trend windows (ms) of the members with a trend; 0 is a member without trend. */
  trendWindows: number[];
  /** Seasonal smoothing (after the first cycles, which are plain averages). */
  gamma: number;
  daily: boolean;
  weekly: boolean;
}

export const DEFAULT_HOLT_WINTERS: Omit<HoltWintersOptions, 'step' | 'maxHorizon'> = {
  alphas: [0.5, 0.1, 0.02],
  trendWindows: [0, DAY],
  gamma: 0.1,
  daily: true,
  weekly: true,
};

interface MemberState {
  alpha: number;
  weekly: boolean;
  trend: SlidingRegressionState | null;
  level: number | null;
  slope: number;
  scale: number;
  observed: number;
  errors: HorizonErrorsState;
}

export interface HoltWintersState extends GridState {
  kind: 'holt-winters';
  options: Omit<HoltWintersOptions, 'step' | 'maxHorizon'>;
  daily: SeasonalProfileState | null;
  weekly: SeasonalProfileState | null;
  members: MemberState[];
  shiftRun: { count: number; sum: number };
  lastShift: number | null;
  /** Absent in states saved before the member existed. */
  median?: SeasonalMedianState | null;
}

interface SeasonalMedianState {
  period: number;
  /** The last MEDIAN_DAYS days of values by step (null where missing). */
  values: (number | null)[];
  errors: HorizonErrorsState;
}

/** Weight from the recent MSE at horizon h (nearest ladder rung with enough errors), or undefined before any. */
function errorWeight(errors: HorizonErrors, h: number): number | undefined {
  let j = Math.round(errors.position(h));
  while (j >= 0 && Number.isNaN(errors.mse(j))) j--;
  if (j < 0) return undefined;
  return Math.max(errors.mse(j), 1e-12) ** -WEIGHT_POWER;
}

/**
 * The median of the last MEDIAN_DAYS days at the same phase: a seasonal naive forecast that one odd day
 * does not move. It wins where a series changes its daily shape faster than the smoothed season follows,
 * and it carries long horizons while a level shift is unconfirmed.
 */
class SeasonalMedian {
  readonly period: number;
  private readonly values: Float64Array;
  readonly errors: HorizonErrors;

  constructor(period: number, maxHorizon: number, state?: SeasonalMedianState) {
    this.period = state?.period ?? period;
    this.values = state ? Float64Array.from(state.values, (v) => v ?? NaN) : new Float64Array(MEDIAN_DAYS * period).fill(NaN);
    this.errors = new HorizonErrors(maxHorizon, 256, state?.errors);
  }

  update(index: number, y: number): void {
    this.errors.observe(index, y);
    this.values[index % this.values.length] = y;
    this.errors.record(index, (h) => this.predict(index, h));
  }

  /** The forecast for step index + h made at step `index` (NaN before any value at that phase). */
  predict(index: number, h: number): number {
    const newest = index + h - this.period * Math.ceil(h / this.period);
    const seen: number[] = [];
    for (let d = 0; d < MEDIAN_DAYS; d++) {
      const v = this.values[(newest - d * this.period) % this.values.length] as number;
      if (!Number.isNaN(v)) seen.push(v);
    }
    seen.sort((a, b) => a - b);
    const mid = seen.length >> 1;
    return seen.length === 0 ? NaN : seen.length % 2 ? (seen[mid] as number) : ((seen[mid - 1] as number) + (seen[mid] as number)) / 2;
  }

  toJSON(): SeasonalMedianState {
    return { period: this.period, values: Array.from(this.values, (v) => (Number.isNaN(v) ? null : v)), errors: this.errors.toJSON() };
  }
}

/**
 * One ensemble member: a level smoothed with `alpha` and a trend fitted by least squares over a recent
 * window, both on the de-seasonalised series. Updates are robust: residuals are clipped, and a run of
 * large same-signed residuals moves the level (and the trend's window) in one go.
 */
class Member {
  readonly alpha: number;
  /** Whether the member's series is also stripped of the weekly season (else only the daily one). */
  readonly weekly: boolean;
  readonly trend: SlidingRegression | undefined;
  level: number | undefined;
  slope: number;
  scale: number;
  observed: number;
  readonly errors: HorizonErrors;

  constructor(maxHorizon: number, alpha: number, trendSteps: number, weekly: boolean, state?: MemberState) {
    this.alpha = state?.alpha ?? alpha;
    this.weekly = state?.weekly ?? weekly;
    this.trend = state ? (state.trend ? new SlidingRegression(0, state.trend) : undefined) : trendSteps > 0 ? new SlidingRegression(trendSteps) : undefined;
    this.level = state?.level ?? undefined;
    this.slope = state?.slope ?? 0;
    this.scale = state?.scale ?? 0;
    this.observed = state?.observed ?? 0;
    this.errors = new HorizonErrors(maxHorizon, 256, state?.errors);
  }

  /** De-seasonalised forecast h steps ahead. */
  predict(h: number): number {
    return (this.level ?? NaN) + this.slope * h;
  }

  /** Feeds one de-seasonalised value (NaN when missing). */
  update(y: number): void {
    if (this.level === undefined) {
      if (Number.isNaN(y)) return;
      this.level = y;
      this.trend?.push(y);
      this.observed = 1;
      return;
    }
    if (Number.isNaN(y)) {
      this.level += this.slope;
      this.trend?.push(this.level);
      return;
    }
    const expected = this.level + this.slope;
    const e = y - expected;
    const limit = this.scale > 0 ? CLIP * this.scale : Infinity;
    const clipped = Math.max(-limit, Math.min(limit, e));
    this.level = this.level + this.slope + this.alpha * clipped;
    // Outliers leave the scale alone, so a level shift keeps standing out until it is detected.
    if (!(this.observed > 20 && Math.abs(e) > SHIFT * this.scale)) this.scale = updateScale(this.scale, this.observed, Math.abs(e));
    this.observed++;
    if (this.trend) {
      this.trend.push(expected + clipped);
      this.slope = this.trend.count >= Math.max(4, this.trend.window / 4) ? this.trend.slope() : 0;
    }
  }

  /** Moves level and trend history by `delta` (a level shift). */
  shift(delta: number): void {
    if (this.level === undefined) return;
    this.level += delta;
    this.trend?.shift(delta);
  }

  /** Weight at horizon h from the recent error there; 1 before any. */
  weight(h: number): number {
    return errorWeight(this.errors, h) ?? 1;
  }

  toJSON(): MemberState {
    return {
      alpha: this.alpha,
      weekly: this.weekly,
      trend: this.trend?.toJSON() ?? null,
      level: this.level ?? null,
      slope: this.slope,
      scale: this.scale,
      observed: this.observed,
      errors: this.errors.toJSON(),
    };
  }
}

/**
 * Holt-Winters ensemble over a robust seasonal decomposition (daily terms per step, weekly terms per
 * hour). Members with fast to slow levels, with and without a trend, with and without the weekly term, are
 * combined at each horizon by their recent out-of-sample error there: short horizons follow fast
 * trend-free members, long horizons of a filling disk the trended ones. A seasonal median of the last
 * days joins them, and alone carries long horizons while a level shift is unconfirmed.
 */
export class HoltWintersForecaster extends GridForecaster {
  readonly kind = 'holt-winters';
  readonly options: HoltWintersOptions;
  private readonly daily: SeasonalProfile | undefined;
  private readonly weekly: SeasonalProfile | undefined;
  private readonly members: Member[];
  private readonly median: SeasonalMedian | undefined;
  /** Large same-signed one-step residuals in a row, towards a level shift. */
  private shiftRun: { count: number; sum: number };
  /** Step of the last level shift: one within a day of another is a burst (a regime change, not a clean-up). */
  private lastShift: number | undefined;

  constructor(options: HoltWintersOptions, state?: HoltWintersState) {
    super(options.step, options.maxHorizon, state);
    this.options = { ...options, maxHorizon: this.maxHorizon };
    const dailyN = Math.round(DAY / options.step);
    const weeklyN = Math.round(WEEK / options.step);
    const hourBin = Math.max(1, Math.round(HOUR / options.step));
    this.shiftRun = state ? { ...state.shiftRun } : { count: 0, sum: 0 };
    this.lastShift = state?.lastShift ?? undefined;
    if (state) {
      this.daily = state.daily ? new SeasonalProfile(0, 0, 0, 0, state.daily) : undefined;
      this.weekly = state.weekly ? new SeasonalProfile(0, 0, 0, 0, state.weekly) : undefined;
      this.members = state.members.map((m) => new Member(this.maxHorizon, 0, 0, false, m));
      this.median = state.median ? new SeasonalMedian(0, this.maxHorizon, state.median) : undefined;
    } else {
      this.daily = options.daily && dailyN >= 2 ? new SeasonalProfile(dailyN, 1, options.gamma, 0, undefined) : undefined;
      this.weekly = options.weekly && weeklyN / hourBin >= 14 && weeklyN <= 20_160 ? new SeasonalProfile(weeklyN, hourBin, options.gamma, WEEKLY_SHRINK) : undefined;
      // With a weekly season every member comes twice, with and without it: which helps is series-specific.
      this.members = (this.weekly ? [false, true] : [false]).flatMap((weekly) =>
        options.alphas.flatMap((alpha) =>
          options.trendWindows.map((w) => new Member(this.maxHorizon, alpha, w > 0 ? Math.max(2, Math.round(w / options.step)) : 0, weekly)),
        ),
      );
      this.median = this.daily ? new SeasonalMedian(dailyN, this.maxHorizon) : undefined;
    }
  }

  static restore(state: HoltWintersState): HoltWintersForecaster {
    return new HoltWintersForecaster({ ...state.options, step: state.step, maxHorizon: state.maxHorizon }, state);
  }

  private seasonal(index: number, weekly = false): number {
    return (this.daily?.at(index) ?? 0) + (weekly ? (this.weekly?.at(index) ?? 0) : 0);
  }

  /** A member's forecast of the series itself, h steps after step `index`. */
  private memberForecast(m: Member, index: number, h: number): number {
    return m.predict(h) + this.seasonal(index + h, m.weekly);
  }

  protected update(index: number, y: number): void {
    if (!Number.isNaN(y)) this.detectShift(index, y - this.seasonal(index));
    this.daily?.update(index, y);
    this.weekly?.update(index, y - (this.daily?.at(index) ?? 0));
    for (const m of this.members) {
      m.errors.observe(index, y);
      m.update(y - this.seasonal(index, m.weekly));
      m.errors.record(index, (h) => this.memberForecast(m, index, h));
    }
    this.median?.update(index, y);
  }

  protected override warm(): boolean {
    return this.daily ? this.daily.learning : ((this.members[0] as Member).observed > 20);
  }

  /**
   * A lasting level shift (a clean-up emptied the disk) is a run of large same-signed residuals of the
   * first trended member. Every part re-anchors on the new level, keeping trend and season.
   */
  private detectShift(index: number, deseasonalised: number): void {
    const ref = this.members.find((m) => m.trend) ?? (this.members[0] as Member);
    if (ref.level === undefined || ref.observed <= 20 || !(ref.scale > 0)) return;
    const e = deseasonalised - ref.predict(1);
    if (Math.abs(e) <= SHIFT * ref.scale) {
      this.shiftRun = { count: 0, sum: 0 };
      return;
    }
    const run = this.shiftRun;
    this.shiftRun = run.count > 0 && Math.sign(run.sum) === Math.sign(e) ? { count: run.count + 1, sum: run.sum + e } : { count: 1, sum: e };
    // Before the daily season is known a day's swing looks like a shift too: only a long run is one.
    if (this.shiftRun.count < (this.daily && !this.daily.learning ? Math.max(SHIFT_RUN, this.daily.period / 8) : SHIFT_RUN)) return;
    const delta = this.shiftRun.sum / this.shiftRun.count;
    // Forecasts pending from before an isolated shift are dropped, so the shift does not pass for a model's
    // error; in a burst of shifts (a regime change, not a clean-up) they stay to show what the burst cost.
    const isolated = this.lastShift === undefined || index - this.lastShift >= Math.round(DAY / this.step);
    for (const m of this.members) {
      m.shift(delta);
      if (isolated) m.errors.discardPending();
    }
    if (isolated) this.errors.discardPending();
    // The run's own values (all but the current one, which the profiles have not seen yet) are on the new level.
    this.daily?.shift(delta, this.shiftRun.count - 1);
    this.weekly?.shift(delta, this.shiftRun.count - 1);
    this.shiftRun = { count: 0, sum: 0 };
    this.lastShift = index;
  }

  protected predict(h: number): number {
    const index = this.last as number;
    const members = this.combine(h, (m) => this.memberForecast(m, index, h));
    const median = this.median?.predict(index, h) ?? NaN;
    const w = this.median && errorWeight(this.median.errors, h);
    if (w === undefined || Number.isNaN(median)) return members.value;
    // While a level shift is unconfirmed it may be a passing anomaly (a flat or doubled day): far horizons
    // would carry it into tomorrow, which the median of the last days does not.
    if (h * this.step >= UNCONFIRMED_HORIZON && this.shiftUnconfirmed(index)) return median;
    return (members.value * members.weight + median * w) / (members.weight + w);
  }

  private shiftUnconfirmed(index: number): boolean {
    return this.shiftRun.count > 0 || (this.lastShift !== undefined && (index - this.lastShift) * this.step < CONFIRM);
  }

  /** The members' weighted mean at horizon h, and their total weight. */
  private combine(h: number, value: (m: Member) => number): { value: number; weight: number } {
    let sum = 0;
    let weights = 0;
    for (const m of this.members) {
      const w = m.weight(h);
      sum += w * value(m);
      weights += w;
    }
    return { value: sum / weights, weight: weights };
  }

  protected oneStepScale(): number {
    return 1.25 * Math.max(...this.members.map((m) => m.scale));
  }

  /** The ensemble's trend per step as used at horizon h. */
  slopeAt(h: number): number {
    return this.combine(h, (m) => m.slope).value;
  }

  toJSON(): HoltWintersState {
    const { step: _step, maxHorizon: _max, ...options } = this.options;
    return {
      ...this.gridState(),
      kind: 'holt-winters',
      options,
      daily: this.daily?.toJSON() ?? null,
      weekly: this.weekly?.toJSON() ?? null,
      members: this.members.map((m) => m.toJSON()),
      shiftRun: { ...this.shiftRun },
      lastShift: this.lastShift ?? null,
      median: this.median?.toJSON() ?? null,
    };
  }
}
