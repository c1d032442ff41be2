/**
 * Isolation forest (ml-isolation-forest) on features of the recent window: the point, its step, the
 * short-term mean and range, all in robust standard deviations of the window. Retrained every
 * `retrainEvery` points on the last `trainSize` feature vectors; catches odd shapes (spike trains, a
 * broken rhythm) that a point-against-median test misses.
 */
import type { IsolationForest } from 'ml-isolation-forest';
import type { FamilyState, RawScore, ScoringFamily } from './family.js';
import { RollingWindow, type RollingWindowState } from './rolling.js';
import { trainSeededForest } from './seeded-forest.js';

export interface ForestParams {
  trees: number;
  trainSize: number;
  retrainEvery: number;
  /** Points in the median/MAD window that normalises the features. */
  window: number;
  seed: number;
}

export const FOREST_DEFAULTS: ForestParams = { trees: 50, trainSize: 256, retrainEvery: 256, window: 64, seed: 1 };

const RECENT = 8;
const MAD_TO_SIGMA = 1.4826;
const FEATURE_LIMIT = 50;

interface ForestState {
  points: number;
  recent: number[];
  window: RollingWindowState;
  samples: number[][];
  sinceTrain: number;
  /** The forest's training set: a restore rebuilds the identical forest from it and the seed. */
  trainedOn: number[][] | null;
  trainings: number;
}

export class ForestFamily implements ScoringFamily {
  readonly name = 'iforest';
  private readonly p: ForestParams;
  private readonly s: ForestState;
  private readonly window: RollingWindow;
  private forest: IsolationForest | null = null;

  constructor(params: Partial<ForestParams> = {}, saved?: ForestState) {
    this.p = { ...FOREST_DEFAULTS, ...params };
    this.s = saved ? structuredClone(saved) : { points: 0, recent: [], window: { size: this.p.window, values: [] }, samples: [], sinceTrain: 0, trainedOn: null, trainings: 0 };
    this.window = RollingWindow.restore(this.s.window);
    if (this.s.trainedOn) this.forest = this.build(this.s.trainedOn, this.s.trainings);
  }

  static restore(saved: FamilyState): ForestFamily {
    return new ForestFamily(saved.params as Partial<ForestParams>, saved.state as ForestState);
  }

  observe(_t: number, value: number): RawScore {
    const s = this.s;
    const center = this.window.count > 0 ? this.window.median() : value;
    const sigma = Math.max(MAD_TO_SIGMA * this.window.mad(center), 1e-9 * Math.abs(center), 1e-12);
    const features = this.features(value, center, sigma);
    const raw = this.forest ? Math.max(0, 2 * (this.forest.predict([features])[0] as number) - 1) : 0;

    // Learn after scoring: no look-ahead.
    this.window.push(value);
    s.recent.push(value);
    if (s.recent.length > RECENT) s.recent.shift();
    s.points++;
    if (s.points > this.p.window / 2) {
      s.samples.push(features);
      if (s.samples.length > this.p.trainSize) s.samples.shift();
    }
    s.sinceTrain++;
    if (s.samples.length >= this.p.trainSize / 2 && (this.forest === null || s.sinceTrain >= this.p.retrainEvery)) {
      s.trainedOn = s.samples.map((f) => [...f]);
      s.trainings++;
      s.sinceTrain = 0;
      this.forest = this.build(s.trainedOn, s.trainings);
    }
    return { raw, expected: { value: center, lower: center - 3 * sigma, upper: center + 3 * sigma } };
  }

  save(): FamilyState {
    this.s.window = this.window.save();
    return { params: { ...this.p }, state: structuredClone(this.s) };
  }

  private features(value: number, center: number, sigma: number): number[] {
    const recent = [...this.s.recent, value];
    const last4 = recent.slice(-4);
    const mean4 = last4.reduce((a, b) => a + b, 0) / last4.length;
    const previous = recent.length > 1 ? (recent[recent.length - 2] as number) : value;
    const clip = (x: number) => Math.max(-FEATURE_LIMIT, Math.min(FEATURE_LIMIT, x / sigma));
    return [clip(value - center), clip(value - previous), clip(mean4 - center), clip(Math.max(...recent) - Math.min(...recent))];
  }

  /** Seeded per training, so a restored detector rebuilds the same forest. */
  private build(samples: number[][], training: number): IsolationForest {
    return trainSeededForest(samples, this.p.trees, this.p.seed * 1_000_003 + training);
  }
}
