/**
 * Robust statistics: how far a point lies from the median of the recent window, in robust standard
 * deviations (1.4826·MAD). Seasonality aware: once a daily profile is learnt, the window holds residuals
 * against that profile instead of raw values, whichever has had the smaller recent error.
 */
import type { FamilyState, RawScore, ScoringFamily } from './family.js';
import { RollingWindow, type RollingWindowState } from './rolling.js';

export interface RobustParams {
  /** Points in the median/MAD window. */
  window: number;
  /** Smoothing of the daily profile, per day. */
  seasonalAlpha: number;
  /** Largest daily period (in points) for which a profile is kept; longer ones cost too much memory. */
  maxPeriod: number;
  /** Points before the first non-zero score. */
  warmup: number;
  /** Robust z at which the raw score saturates at 1. */
  zMax: number;
}

export const ROBUST_DEFAULTS: RobustParams = { window: 64, seasonalAlpha: 0.25, maxPeriod: 1440, warmup: 16, zMax: 100 };

const DAY_MS = 86_400_000;
const MAD_TO_SIGMA = 1.4826;
/** How fast the error comparison between plain and seasonal forgets. */
const ERROR_ALPHA = 0.01;

interface RobustState {
  points: number;
  lastT: number | null;
  stepMs: number | null;
  plain: RollingWindowState;
  seasonal: RollingWindowState | null;
  /** Daily profile per time-of-day slot; null where the slot has not been seen yet (JSON-safe). */
  profile: (number | null)[] | null;
  profileSeen: number;
  plainError: number;
  seasonalError: number;
  absStep: number;
  lastValue: number;
}

export class RobustFamily implements ScoringFamily {
  readonly name = 'robust';
  private readonly p: RobustParams;
  private s: RobustState;
  private plain: RollingWindow;
  private seasonal: RollingWindow | null;

  constructor(params: Partial<RobustParams> = {}, saved?: RobustState) {
    this.p = { ...ROBUST_DEFAULTS, ...params };
    this.s = saved ? structuredClone(saved) : {
      points: 0, lastT: null, stepMs: null, plain: { size: this.p.window, values: [] }, seasonal: null,
      profile: null, profileSeen: 0, plainError: 0, seasonalError: 0, absStep: 0, lastValue: 0,
    };
    this.plain = RollingWindow.restore(this.s.plain);
    this.seasonal = this.s.seasonal ? RollingWindow.restore(this.s.seasonal) : null;
  }

  static restore(saved: FamilyState): RobustFamily {
    return new RobustFamily(saved.params as Partial<RobustParams>, saved.state as RobustState);
  }

  observe(t: number, value: number): RawScore {
    const s = this.s;
    if (s.lastT !== null && s.stepMs === null && t > s.lastT) this.startProfile(t - s.lastT);
    if (s.lastT !== null) s.absStep += ERROR_ALPHA * (Math.abs(value - s.lastValue) - s.absStep);

    const slot = this.profileSlot(t);
    const seasonalBase = slot >= 0 && s.profile && s.profileSeen >= s.profile.length ? (s.profile[slot] as number) : null;

    const plainScore = this.zScore(this.plain, value);
    const seasonalScore = seasonalBase !== null && this.seasonal ? this.zScore(this.seasonal, value - seasonalBase) : null;
    const useSeasonal = seasonalScore !== null && s.seasonalError < s.plainError;
    const chosen = useSeasonal ? seasonalScore : plainScore;
    const offset = useSeasonal ? (seasonalBase as number) : 0;

    // Learn after scoring: no look-ahead.
    if (seasonalScore !== null) {
      s.seasonalError += ERROR_ALPHA * (Math.abs(value - seasonalBase! - seasonalScore.center) - s.seasonalError);
      s.plainError += ERROR_ALPHA * (Math.abs(value - plainScore.center) - s.plainError);
    }
    this.plain.push(value);
    if (slot >= 0 && s.profile && this.seasonal) {
      if (seasonalBase !== null) this.seasonal.push(value - seasonalBase);
      const old = s.profile[slot] ?? null;
      s.profile[slot] = old === null ? value : old + this.p.seasonalAlpha * (value - old);
      if (old === null) s.profileSeen++;
    }
    s.lastT = t;
    s.lastValue = value;
    s.points++;

    const z = s.points <= this.p.warmup ? 0 : chosen.z;
    const center = chosen.center + offset;
    return { raw: Math.min(1, z / this.p.zMax), expected: { value: center, lower: center - 3 * chosen.sigma, upper: center + 3 * chosen.sigma } };
  }

  save(): FamilyState {
    this.s.plain = this.plain.save();
    this.s.seasonal = this.seasonal ? this.seasonal.save() : null;
    return { params: { ...this.p }, state: structuredClone(this.s) };
  }

  private zScore(window: RollingWindow, value: number): { z: number; center: number; sigma: number } {
    if (window.count === 0) return { z: 0, center: value, sigma: 0 };
    const center = window.median();
    // Floor the scale so a flat window does not turn the smallest wiggle into an infinite score.
    const sigma = Math.max(MAD_TO_SIGMA * window.mad(center), 0.1 * this.s.absStep, 1e-9 * Math.abs(center), 1e-12);
    return { z: Math.abs(value - center) / sigma, center, sigma };
  }

  private startProfile(stepMs: number): void {
    this.s.stepMs = stepMs;
    const period = Math.round(DAY_MS / stepMs);
    if (period < 4 || period > this.p.maxPeriod) return;
    this.s.profile = new Array<number | null>(period).fill(null);
    this.seasonal = new RollingWindow(this.p.window);
  }

  private profileSlot(t: number): number {
    const { stepMs, profile } = this.s;
    if (stepMs === null || profile === null) return -1;
    return Math.floor((((t % DAY_MS) + DAY_MS) % DAY_MS) / stepMs) % profile.length;
  }
}
