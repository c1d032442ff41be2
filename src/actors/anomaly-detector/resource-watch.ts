/**
 * Multivariate scoring of one resource (e.g. cpu, memory and disk of one host): each round, once every
 * member has a new point, the joint vector (each member in running standard deviations) is whitened and
 * scored by an isolation forest trained on recent rounds and by its distance from the usual (Mahalanobis);
 * each is calibrated by the same anomaly likelihood as the univariate detectors and the two are averaged,
 * so the same threshold and severity bands apply. Whitening (projecting on
 * the training set's principal axes, each scaled to unit variance) matters: members that move together
 * make a diagonal cloud, and the forest's axis-parallel cuts cannot isolate a point off that diagonal,
 * whereas after whitening it is far out on the minor axis.
 */
import type { IsolationForest } from 'ml-isolation-forest';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { AnomalyConfig } from '../../config/schema.js';
import type { PointScore } from '../../models/anomaly/detector.js';
import { AnomalyLikelihood, type LikelihoodState } from '../../models/anomaly/likelihood.js';
import { trainSeededForest } from '../../models/anomaly/seeded-forest.js';
import type { SavedWatch } from './series-watch.js';
import { initialVerdict, judgePoint, judgeSilence, type SettleRule, type VerdictState } from './verdict.js';

export type GroupConfig = AnomalyConfig['multivariate'][number];

export const MULTIVARIATE_KIND = 'multivariate-iforest';
const VERSION = 1;
const FEATURE_LIMIT = 50;
/** Rounds after which the running mean and variance become exponentially weighted. */
const HORIZON = 2_000;
const SEED = 7;
/** Rounds the forest's raw score is averaged over before calibration: one round of it is noisy. */
const FOREST_SMOOTHING = 8;
/** Floor of a principal axis' variance, so a member that never moves does not blow its axis up. */
const MIN_VARIANCE = 1e-3;

const whiten = (rows: number[][], x: number[]) => rows.map((row) => row.reduce((a, w, j) => a + w * x[j]!, 0));

interface ResourceState {
  /** The member series of each metric pattern (the first seen), null until one reports. */
  members: (string | null)[];
  latest: number[];
  fresh: boolean[];
  n: number;
  mean: number[];
  variance: number[];
  samples: number[][];
  sinceTrain: number;
  trainedOn: number[][] | null;
  trainings: number;
  /** Calibration of the forest's raw score and of the distance's. */
  likelihoods: [LikelihoodState, LikelihoodState] | null;
  verdict: VerdictState;
  lastT: number;
  trainedAt: number;
}

export interface ResourceScore {
  score: PointScore;
  verdict: 'anomalous' | 'normal' | undefined;
  /** The member furthest from its usual value: the event's value and expected band are its own. */
  main: { series: string; value: number; expected: PointScore['expected'] };
}

/** The whitened distance that maps to a raw score of one half. */
const DISTANCE_HALF = 3;

export class ResourceWatch {
  dirty: boolean;
  private readonly s: ResourceState;
  private forest: IsolationForest | null = null;
  /** Rows: the principal axes of the training set, each divided by the square root of its variance. */
  private whitening: number[][] | null = null;
  private readonly likelihoods: [AnomalyLikelihood, AnomalyLikelihood];

  constructor(
    readonly group: GroupConfig,
    readonly id: string,
    readonly resource: string,
    saved?: SavedWatch,
  ) {
    const dims = group.metrics.length;
    this.s = saved
      ? structuredClone(saved.detector.state as ResourceState)
      : {
          members: Array<string | null>(dims).fill(null),
          latest: Array<number>(dims).fill(0),
          fresh: Array<boolean>(dims).fill(false),
          n: 0,
          mean: Array<number>(dims).fill(0),
          variance: Array<number>(dims).fill(0),
          samples: [],
          sinceTrain: 0,
          trainedOn: null,
          trainings: 0,
          likelihoods: null,
          verdict: initialVerdict(),
          lastT: -Infinity,
          trainedAt: 0,
        };
    this.likelihoods = [new AnomalyLikelihood({ shortWindow: FOREST_SMOOTHING }, this.s.likelihoods?.[0]), new AnomalyLikelihood({}, this.s.likelihoods?.[1])];
    if (this.s.trainedOn) this.train(this.s.trainedOn);
    this.dirty = saved === undefined;
  }

  get members(): string[] {
    return this.s.members.filter((m): m is string => m !== null);
  }

  /** Records a member's point; scores the round when every member has reported since the last one. */
  offer(dim: number, series: string, t: number, value: number, rules: SettleRule, now: number): ResourceScore | undefined {
    const s = this.s;
    s.members[dim] ??= series;
    if (s.members[dim] !== series) return undefined;
    s.latest[dim] = value;
    s.fresh[dim] = true;
    s.lastT = Math.max(s.lastT, t);
    this.dirty = true;
    if (!s.fresh.every(Boolean)) return undefined;
    s.fresh.fill(false);
    return this.scoreRound(s.lastT, rules, now);
  }

  settleIfSilent(now: number, rules: SettleRule): 'normal' | undefined {
    const verdict = judgeSilence(this.s.verdict, now, rules);
    if (verdict) this.dirty = true;
    return verdict;
  }

  save(): SavedWatch {
    this.s.likelihoods = [this.likelihoods[0].save(), this.likelihoods[1].save()];
    const s = structuredClone(this.s);
    return {
      detector: { kind: MULTIVARIATE_KIND, version: VERSION, params: { ...this.group }, state: s, points: s.n },
      watch: { lastT: s.lastT, lastValue: NaN, verdict: s.verdict, outside: 0, driftDetected: false, generation: s.trainings, trainedAt: s.trainedAt, recent: { t: [], v: [] } },
    };
  }

  /** Deterministic from the training set and the training count, so a restore rebuilds the same forest. */
  private train(samples: number[][]): void {
    const dims = samples[0]!.length;
    const mean = Array.from({ length: dims }, (_, j) => samples.reduce((a, x) => a + x[j]!, 0) / samples.length);
    const centered = new Matrix(samples.map((x) => x.map((v, j) => v - mean[j]!)));
    const covariance = centered.transpose().mmul(centered).div(Math.max(1, samples.length - 1));
    const eigen = new EigenvalueDecomposition(covariance, { assumeSymmetric: true });
    const vectors = eigen.eigenvectorMatrix;
    this.whitening = eigen.realEigenvalues.map((lambda, k) => vectors.getColumn(k).map((v) => v / Math.sqrt(Math.max(lambda, MIN_VARIANCE))));
    this.forest = trainSeededForest(samples.map((x) => whiten(this.whitening!, x)), this.group.trees, SEED + this.s.trainings);
  }

  private scoreRound(t: number, rules: SettleRule, now: number): ResourceScore {
    const s = this.s;
    const sigma = s.variance.map((v) => Math.sqrt(v));
    const z = s.latest.map((x, i) => (s.n < 2 || sigma[i]! === 0 ? 0 : Math.max(-FEATURE_LIMIT, Math.min(FEATURE_LIMIT, (x - s.mean[i]!) / sigma[i]!))));
    const w = this.whitening ? whiten(this.whitening, z) : null;
    const forestRaw = this.forest && w ? Math.max(0, 2 * (this.forest.predict([w])[0] as number) - 1) : 0;
    // The forest ranks a point beyond the training range like the most extreme training point; the
    // Mahalanobis distance says how far beyond it is.
    // Squashed into [0, 1) like every raw score the calibration bins (it never saturates, so far stays farther).
    const distance2 = w ? w.reduce((a, v) => a + v * v, 0) : 0;
    const distanceRaw = Math.sqrt(distance2) / (Math.sqrt(distance2) + DISTANCE_HALF);
    const forest = this.likelihoods[0].update(forestRaw);
    const distance = this.likelihoods[1].update(distanceRaw);
    const score = (forest + distance) / 2;
    let main = 0;
    z.forEach((zi, i) => {
      if (Math.abs(zi) > Math.abs(z[main]!)) main = i;
    });
    const expected = { value: s.mean[main]!, lower: s.mean[main]! - 3 * sigma[main]!, upper: s.mean[main]! + 3 * sigma[main]! };
    const value = s.latest[main]!;

    // Learn after scoring: no look-ahead.
    s.n++;
    const alpha = Math.max(1 / s.n, 1 / HORIZON);
    s.latest.forEach((x, i) => {
      const delta = x - s.mean[i]!;
      s.mean[i]! += alpha * delta;
      s.variance[i] = (1 - alpha) * (s.variance[i]! + alpha * delta * delta);
    });
    if (s.n > 2) {
      s.samples.push(z);
      if (s.samples.length > this.group.train_size) s.samples.shift();
    }
    s.sinceTrain++;
    if (s.samples.length >= this.group.train_size / 2 && (this.forest === null || s.sinceTrain >= this.group.retrain_every)) {
      s.trainedOn = s.samples.map((f) => [...f]);
      s.trainings++;
      s.sinceTrain = 0;
      s.trainedAt = now;
      this.train(s.trainedOn);
    }
    return {
      score: { score, expected, detectors: { iforest: forest, distance } },
      verdict: judgePoint(s.verdict, t, score, rules),
      main: { series: s.members[main]!, value, expected },
    };
  }
}
