/**
 * Robust statistics: how far a point lies from the median of the recent window, in robust standard
 * deviations (1.4826·MAD). Seasonality aware: a daily and a weekly profile (per time-of-day / time-of-week
 * slot, smoothed over periods) are learnt, and the window holds residuals against whichever baseline
 * (none, daily, weekly) has had the smallest recent error. A two-sided CUSUM of the point's signed z
 * reports sustained changes that no single point shows: a slow rise, or spikes coming denser.
 */
import type { FamilyState, RawScore, ScoringFamily } from './family.js';
import type { LikelihoodParams } from './likelihood.js';
import { RollingWindow, type RollingWindowState } from './rolling.js';

export interface RobustParams {
  /** Points in the median/MAD window. */
  window: number;
  /** Smoothing of a seasonal profile slot, per period. */
  seasonalAlpha: number;
  /** Most slots in a profile: finer data shares a slot (a weekly profile of 5-minute data has 30-minute slots). */
  maxSlots: number;
  /** Points before the first non-zero score. */
  warmup: number;
  /**
   * Robust z at which the raw score is 0.5: raw = z / (z + zHalf) never saturates, so the calibration can
   * still rank a 50-sigma spike above a 5-sigma one on a series whose MAD is tiny.
   */
  zHalf: number;
  /**
   * A seasonal profile is matched within this many ms of the point's phase (whole slots; the closest slot
   * wins): a daily job that runs five minutes early is not scored as a missing spike.
   */
  phaseToleranceMs: number;
  /**
   * A point counts at most this many robust sigmas from a baseline's expectation (winsorised) in what the
   * baseline learns: its seasonal slot, so an anomalous day barely moves the profile and the next normal
   * day is not scored against the anomaly, and its recent error, so one spike does not decide which
   * baseline is trusted.
   */
  learnClip: number;
  /**
   * CUSUM of the signed z: each point adds z − shiftSlack to the upward sum (−z − shiftSlack to the
   * downward one), floored at 0, so only a run of residuals beyond the slack on one side accumulates.
   */
  shiftSlack: number;
  /** A point adds at most this many sigmas, so one huge spike is not a shift but spikes coming denser are. */
  shiftClip: number;
  /** CUSUM at which the shift's raw score is 0.5 (raw = s / (s + shiftHalf), like zHalf). */
  shiftHalf: number;
}

export const ROBUST_DEFAULTS: RobustParams = { window: 64, seasonalAlpha: 0.15, maxSlots: 336, warmup: 16, zHalf: 15, phaseToleranceMs: 600_000, learnClip: 7, shiftSlack: 1, shiftClip: 10, shiftHalf: 20 };

const DAY_MS = 86_400_000;
const PERIODS_MS = [DAY_MS, 7 * DAY_MS];
const MAD_TO_SIGMA = 1.4826;
/** How fast the error comparison between baselines forgets. */
const ERROR_ALPHA = 0.01;
/** How fast the repeat rate forgets (about a week of 5-minute points). */
const REPEAT_ALPHA = 0.0005;

/** A baseline the value is compared against: none (plain) or a seasonal profile. */
interface Baseline {
  /** Profile per slot; null where the slot has not been seen yet (JSON-safe). Empty for the plain baseline. */
  slots: (number | null)[];
  seen: number;
  periodMs: number;
  /** Exponentially weighted mean absolute error, and how many errors went into it (for bias correction). */
  error: number;
  errors: number;
  window: RollingWindowState;
}

interface RobustState {
  points: number;
  lastT: number | null;
  stepMs: number | null;
  baselines: Baseline[];
  absStep: number;
  lastValue: number;
  /** Slow rate of exact repeats (value == previous value), and the current run of repeats. */
  repeatRate: number;
  run: number;
  /** The two one-sided CUSUMs of the signed z, in sigmas (absent in states saved before them). */
  shiftUp?: number;
  shiftDown?: number;
}

export class RobustFamily implements ScoringFamily {
  readonly name = 'robust';
  readonly scoresShift = true;
  private readonly p: RobustParams;
  private readonly s: RobustState;
  private windows: RollingWindow[];
  /**
   * The spread of raw scores is floored at the raw step of one robust sigma (1/zHalf near 0), so a quiet
   * series' 1-in-100 wiggle of three sigmas is not rated as rare as a real excursion.
   */
  readonly calibration: Partial<LikelihoodParams>;

  constructor(params: Partial<RobustParams> = {}, saved?: RobustState) {
    this.p = { ...ROBUST_DEFAULTS, ...params };
    this.s = saved ? structuredClone(saved) : {
      points: 0, lastT: null, stepMs: null, absStep: 0, lastValue: 0, repeatRate: 0, run: 0, shiftUp: 0, shiftDown: 0,
      baselines: [{ slots: [], seen: 0, periodMs: 0, error: 0, errors: 0, window: { size: this.p.window, values: [] } }],
    };
    this.windows = this.s.baselines.map((b) => RollingWindow.restore(b.window));
    this.calibration = { minVariance: (1 / this.p.zHalf) ** 2 };
  }

  static restore(saved: FamilyState): RobustFamily {
    return new RobustFamily(saved.params as Partial<RobustParams>, saved.state as RobustState);
  }

  observe(t: number, value: number): RawScore {
    const s = this.s;
    if (s.lastT !== null && s.stepMs === null && t > s.lastT) this.startProfiles(t - s.lastT);
    let flatZ = 0;
    if (s.lastT !== null) {
      s.absStep += ERROR_ALPHA * (Math.abs(value - s.lastValue) - s.absStep);
      flatZ = this.flatline(value === s.lastValue);
    }

    // Score against every baseline; report the one with the smallest recent error among those whose
    // window is full (a baseline that has just started has too few residuals to judge by).
    let best: { z: number; signedZ: number; center: number; sigma: number } | null = null;
    let bestError = Infinity;
    const offsets = s.baselines.map((b) => this.offset(b, t));
    const learnt = s.baselines.map(() => value);
    s.baselines.forEach((b, i) => {
      const offset = offsets[i];
      if (offset === null || offset === undefined) return;
      const window = this.windows[i] as RollingWindow;
      const scored = this.zScore(window, value - offset);
      const shown = this.phaseMatch(b, t, value, scored, offset);
      const error = b.errors > 0 ? b.error / (1 - (1 - ERROR_ALPHA) ** b.errors) : Infinity;
      if (best === null || (window.count >= this.p.window && error < bestError)) {
        best = { z: scored.z, signedZ: Math.sign(value - shown - scored.center) * scored.z, center: scored.center + shown, sigma: scored.sigma };
        bestError = error;
      }
      // Learn after scoring: no look-ahead.
      const full = window.count >= this.p.window;
      const limit = this.p.learnClip * scored.sigma;
      const residual = value - offset - scored.center;
      const clipped = full ? Math.max(-limit, Math.min(limit, residual)) : residual;
      if (window.count > 0) {
        b.error += ERROR_ALPHA * (Math.abs(clipped) - b.error);
        b.errors++;
      }
      learnt[i] = offset + scored.center + clipped;
      window.push(value - offset);
    });
    s.baselines.forEach((b, i) => this.learnProfile(b, t, learnt[i] as number));
    s.lastT = t;
    s.lastValue = value;
    s.points++;

    const chosen = best ?? { z: 0, signedZ: 0, center: value, sigma: 0 };
    const warm = s.points > this.p.warmup;
    const z = warm ? Math.max(chosen.z, flatZ) : 0;
    const shift = warm ? this.cusum(chosen.signedZ) : 0;
    return { raw: z / (z + this.p.zHalf), shift: shift / (shift + this.p.shiftHalf), expected: { value: chosen.center, lower: chosen.center - 3 * chosen.sigma, upper: chosen.center + 3 * chosen.sigma } };
  }

  save(): FamilyState {
    this.s.baselines.forEach((b, i) => (b.window = (this.windows[i] as RollingWindow).save()));
    return { params: { ...this.p }, state: structuredClone(this.s) };
  }

  /**
   * A stuck series: k repeats in a row where repeats have had rate r is as likely as r^k; reported as the
   * Gaussian z of that probability, sqrt(2·k·ln(1/r)), so a sensor that freezes is caught even when the
   * frozen value looks ordinary.
   */
  private flatline(repeat: boolean): number {
    const s = this.s;
    const rate = Math.max(s.repeatRate, 1 / (s.points + 1));
    s.run = repeat ? s.run + 1 : 0;
    const z = s.run > 0 && rate < 1 ? Math.sqrt(2 * s.run * Math.log(1 / rate)) : 0;
    s.repeatRate += Math.max(REPEAT_ALPHA, 1 / (s.points + 1)) * ((repeat ? 1 : 0) - s.repeatRate);
    return z;
  }

  /** Two-sided CUSUM of the signed z (each point clipped to ±shiftClip), the larger side. */
  private cusum(signedZ: number): number {
    const s = this.s;
    const z = Math.max(-this.p.shiftClip, Math.min(this.p.shiftClip, signedZ));
    s.shiftUp = Math.max(0, (s.shiftUp ?? 0) + z - this.p.shiftSlack);
    s.shiftDown = Math.max(0, (s.shiftDown ?? 0) - z - this.p.shiftSlack);
    return Math.max(s.shiftUp, s.shiftDown);
  }

  private zScore(window: RollingWindow, value: number): { z: number; center: number; sigma: number } {
    if (window.count === 0) return { z: 0, center: value, sigma: 0 };
    const center = window.median();
    // Floor the scale so a flat window does not turn the smallest wiggle into an infinite score.
    const sigma = Math.max(MAD_TO_SIGMA * window.mad(center), 0.1 * this.s.absStep, 1e-9 * Math.abs(center), 1e-12);
    return { z: Math.abs(value - center) / sigma, center, sigma };
  }

  /**
   * The profile value, within the phase tolerance of t, that the point fits best: lowers `scored.z` to
   * that fit and returns the offset. Scoring only; the window and the profile learn at t's own slot.
   */
  private phaseMatch(b: Baseline, t: number, value: number, scored: { z: number; sigma: number; center: number }, offset: number): number {
    if (b.periodMs === 0) return offset;
    const reach = Math.floor((this.p.phaseToleranceMs * b.slots.length) / b.periodMs);
    const slot = this.slot(b, t);
    let best = offset;
    for (let k = -reach; k <= reach; k++) {
      const other = k === 0 ? null : b.slots[(slot + k + b.slots.length) % b.slots.length];
      if (other === null || other === undefined) continue;
      const z = Math.abs(value - other - scored.center) / scored.sigma;
      if (z < scored.z) {
        scored.z = z;
        best = other;
      }
    }
    return best;
  }

  /** The baseline's expected value at t: 0 for plain, the profile slot once a full period was seen. */
  private offset(b: Baseline, t: number): number | null {
    if (b.periodMs === 0) return 0;
    if (b.seen < b.slots.length) return null;
    return b.slots[this.slot(b, t)] ?? null;
  }

  private learnProfile(b: Baseline, t: number, value: number): void {
    if (b.periodMs === 0) return;
    const slot = this.slot(b, t);
    const old = b.slots[slot] ?? null;
    // Points sharing a slot split its rate, so a slot learns seasonalAlpha per period, not per point.
    const perSlot = Math.max(1, b.periodMs / b.slots.length / (this.s.stepMs ?? b.periodMs));
    b.slots[slot] = old === null ? value : old + (this.p.seasonalAlpha / perSlot) * (value - old);
    if (old === null) b.seen++;
  }

  private startProfiles(stepMs: number): void {
    this.s.stepMs = stepMs;
    for (const periodMs of PERIODS_MS) {
      const points = Math.round(periodMs / stepMs);
      if (points < 4) continue;
      const slots = Math.min(points, this.p.maxSlots);
      this.s.baselines.push({ slots: new Array<number | null>(slots).fill(null), seen: 0, periodMs, error: 0, errors: 0, window: { size: this.p.window, values: [] } });
      this.windows.push(new RollingWindow(this.p.window));
    }
  }

  private slot(b: Baseline, t: number): number {
    const phase = ((t % b.periodMs) + b.periodMs) % b.periodMs;
    return Math.floor((phase * b.slots.length) / b.periodMs) % b.slots.length;
  }
}
