/**
 * Anomaly likelihood (after NAB's, Ahmad et al. 2017): how improbable the recent raw score is given the
 * series' own history of raw scores, so one threshold works across series. Two tails, the smaller wins:
 * a Gaussian fit (running mean/variance, exact until `horizon` points, exponentially weighted after) and
 * the empirical share of past raw scores at least as high (decayed histogram), which stops a routine
 * spike pattern from alarming forever. Reported as -log10(tail) mapped to [0,1), 0.5 at a tail of 1e-2.
 * O(1) memory per series.
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
  /** 'gaussian': tail of a normal fit; 'empirical': how often raw scores this high were seen; 'both': the smaller. */
  tail: 'gaussian' | 'empirical' | 'both';
}

export const LIKELIHOOD_DEFAULTS: LikelihoodParams = { shortWindow: 1, horizon: 8640, learning: 150, minVariance: 1e-4, tail: 'both' };

const BINS = 64;

export interface LikelihoodState {
  recent: number[];
  n: number;
  mean: number;
  variance: number;
  /** Decayed counts of raw scores per bin (bin = floor(sqrt(raw) * BINS)), scaled by `weight`. */
  bins: number[];
  weight: number;
}

export class AnomalyLikelihood {
  readonly p: LikelihoodParams;
  private readonly s: LikelihoodState;

  constructor(params: Partial<LikelihoodParams> = {}, saved?: LikelihoodState) {
    this.p = { ...LIKELIHOOD_DEFAULTS, ...params };
    this.s = saved ? structuredClone(saved) : { recent: [], n: 0, mean: 0, variance: 0, bins: new Array<number>(BINS).fill(0), weight: 1 };
  }

  /** Log-scaled likelihood in [0,1] of the recent raw scores, then learns from `raw`. */
  update(raw: number): number {
    const s = this.s;
    s.recent.push(raw);
    if (s.recent.length > this.p.shortWindow) s.recent.shift();
    let score = 0;
    if (s.n >= this.p.learning) {
      const sd = Math.sqrt(Math.max(s.variance, this.p.minVariance));
      const recent = s.recent.reduce((a, b) => a + b, 0) / s.recent.length;
      const gaussian = this.p.tail === 'empirical' ? 1 : logTail((recent - s.mean) / sd);
      const empirical = this.p.tail === 'gaussian' ? 1 : this.empiricalScore(recent);
      score = Math.min(gaussian, empirical);
    }
    const bin = Math.min(BINS - 1, Math.floor(Math.sqrt(Math.max(0, raw)) * BINS));
    s.bins[bin] = (s.bins[bin] as number) + s.weight;
    s.weight /= 1 - 1 / this.p.horizon;
    if (s.weight > 1e100) {
      s.bins = s.bins.map((c) => c / s.weight);
      s.weight = 1;
    }
    // Running mean/variance: exact until `horizon` points, exponentially weighted after.
    s.n++;
    const alpha = Math.max(1 / s.n, 1 / this.p.horizon);
    const delta = raw - s.mean;
    s.mean += alpha * delta;
    s.variance = (1 - alpha) * (s.variance + alpha * delta * delta);
    return score;
  }

  /** -log10 of the share of past raw scores at or above `raw` (one pseudo-count), mapped like logTail. */
  private empiricalScore(raw: number): number {
    const s = this.s;
    const bin = Math.min(BINS - 1, Math.floor(Math.sqrt(Math.max(0, raw)) * BINS));
    let above = 0;
    let total = 0;
    for (let b = 0; b < BINS; b++) {
      const c = s.bins[b] as number;
      total += c;
      if (b >= bin) above += c;
    }
    // Higher than anything seen: the histogram cannot say how rare, leave it to the Gaussian tail.
    if (above === 0) return 1;
    const p = (above + s.weight) / (total + s.weight);
    const x = -Math.log10(p);
    return toScore(x);
  }

  save(): LikelihoodState {
    return structuredClone(this.s);
  }
}

/** -log10 of a tail probability, mapped to [0,1): 0.5 at a tail of 10^-HALF_SCORE_DECADES. */
export const HALF_SCORE_DECADES = 2;

function toScore(x: number): number {
  return x / (x + HALF_SCORE_DECADES);
}

/**
 * Maps a z-score to its score via x = -log10 of its upper Gaussian tail: 0 for an ordinary value, 0.5 for
 * a tail of 1e-2, approaching 1 without saturating, so extreme points still rank above merely rare ones.
 */
export function logTail(z: number): number {
  if (z <= 0) return 0;
  const x = -log10UpperTail(z);
  return toScore(x);
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
