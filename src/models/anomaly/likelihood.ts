/**
 * Anomaly likelihood (after NAB's, Ahmad et al. 2017): how improbable the recent mean raw score is under
 * the long-run distribution of raw scores, as a Gaussian tail, on a log scale so that 0.5 means a tail
 * of 1e-5 on every series. O(1) memory: a short ring plus running mean and variance that become
 * exponentially weighted after `horizon` points.
 */
export interface LikelihoodParams {
  /** Raw scores averaged into the "recent" value. */
  shortWindow: number;
  /** Effective memory of the long-run distribution, in points. */
  horizon: number;
  /** Points observed before any non-zero likelihood. */
  learning: number;
  /** Floor of the long-run variance, so a perfectly quiet series does not alarm on noise. */
  minVariance: number;
}

export const LIKELIHOOD_DEFAULTS: LikelihoodParams = { shortWindow: 1, horizon: 8640, learning: 150, minVariance: 1e-4 };

export interface LikelihoodState {
  recent: number[];
  n: number;
  mean: number;
  variance: number;
}

export class AnomalyLikelihood {
  readonly p: LikelihoodParams;
  private readonly s: LikelihoodState;

  constructor(params: Partial<LikelihoodParams> = {}, saved?: LikelihoodState) {
    this.p = { ...LIKELIHOOD_DEFAULTS, ...params };
    this.s = saved ? structuredClone(saved) : { recent: [], n: 0, mean: 0, variance: 0 };
  }

  /** Log-scaled likelihood in [0,1] of the recent raw scores, then learns from `raw`. */
  update(raw: number): number {
    const s = this.s;
    s.recent.push(raw);
    if (s.recent.length > this.p.shortWindow) s.recent.shift();
    let score = 0;
    if (s.n >= this.p.learning) {
      const recentMean = s.recent.reduce((a, b) => a + b, 0) / s.recent.length;
      const z = (recentMean - s.mean) / Math.sqrt(Math.max(s.variance, this.p.minVariance));
      score = logTail(z);
    }
    // Running mean/variance: exact until `horizon` points, exponentially weighted after.
    s.n++;
    const alpha = Math.max(1 / s.n, 1 / this.p.horizon);
    const delta = raw - s.mean;
    s.mean += alpha * delta;
    s.variance = (1 - alpha) * (s.variance + alpha * delta * delta);
    return score;
  }

  save(): LikelihoodState {
    return structuredClone(this.s);
  }
}

/**
 * Maps a z-score to x/(x+5) where x = -log10 of its upper Gaussian tail: 0 for an ordinary value, 0.5
 * for a tail of 1e-5, approaching 1 without saturating, so extreme points still rank above merely rare ones.
 */
export function logTail(z: number): number {
  if (z <= 0) return 0;
  const x = -log10UpperTail(z);
  return x / (x + 5);
}

/** log10 of the upper Gaussian tail Q(z), with the asymptotic series where erfc underflows. */
function log10UpperTail(z: number): number {
  if (z < 8) return Math.log10(0.5 * erfc(z / Math.SQRT2));
  return (-z * z / 2 - Math.log(z * Math.sqrt(2 * Math.PI)) + Math.log(1 - 1 / (z * z))) / Math.LN10;
}

/** Complementary error function (Numerical Recipes erfcc, relative error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}
