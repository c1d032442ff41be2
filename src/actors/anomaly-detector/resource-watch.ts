/**
 * Multivariate scoring of one resource (e.g. cpu, memory and disk of one host): each round, once every
 * member has a new point, the joint vector (each member in running standard deviations) is scored by an
 * isolation forest trained on recent rounds, and calibrated by the same anomaly likelihood as the
 * univariate detectors, so the same threshold and severity bands apply.
 */
import type { IsolationForest } from 'ml-isolation-forest';
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
  likelihood: LikelihoodState | null;
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

export class ResourceWatch {
  dirty: boolean;
  private readonly s: ResourceState;
  private forest: IsolationForest | null = null;
  private readonly likelihood: AnomalyLikelihood;

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
          likelihood: null,
          verdict: initialVerdict(),
          lastT: -Infinity,
          trainedAt: 0,
        };
    this.likelihood = new AnomalyLikelihood({}, this.s.likelihood ?? undefined);
    if (this.s.trainedOn) this.forest = trainSeededForest(this.s.trainedOn, group.trees, SEED + this.s.trainings);
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
    this.s.likelihood = this.likelihood.save();
    const s = structuredClone(this.s);
    return {
      detector: { kind: MULTIVARIATE_KIND, version: VERSION, params: { ...this.group }, state: s, points: s.n },
      watch: { lastT: s.lastT, lastValue: NaN, verdict: s.verdict, outside: 0, driftDetected: false, generation: s.trainings, trainedAt: s.trainedAt, recent: { t: [], v: [] } },
    };
  }

  private scoreRound(t: number, rules: SettleRule, now: number): ResourceScore {
    const s = this.s;
    const sigma = s.variance.map((v) => Math.sqrt(v));
    const z = s.latest.map((x, i) => (s.n < 2 || sigma[i]! === 0 ? 0 : Math.max(-FEATURE_LIMIT, Math.min(FEATURE_LIMIT, (x - s.mean[i]!) / sigma[i]!))));
    const raw = this.forest ? Math.max(0, 2 * (this.forest.predict([z])[0] as number) - 1) : 0;
    const score = this.likelihood.update(raw);
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
      this.forest = trainSeededForest(s.trainedOn, this.group.trees, SEED + s.trainings);
    }
    return {
      score: { score, expected, detectors: { [MULTIVARIATE_KIND]: score } },
      verdict: judgePoint(s.verdict, t, score, rules),
      main: { series: s.members[main]!, value, expected },
    };
  }
}
