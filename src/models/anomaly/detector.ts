/**
 * The streaming anomaly detector contract: one series, one point at a time, no look-ahead.
 * Every detector is a pipeline (see pipeline.ts): one or more scoring families, each calibrated into an
 * anomaly likelihood, combined, then quieted for a while after an alert (NAB rewards only the first
 * detection of an anomaly; repeats are false positives for an operator too).
 */
import { createPipeline, restorePipeline, type DetectorName, type DetectorOptions } from './pipeline.js';

export { DETECTOR_NAMES, DEFAULT_THRESHOLD, type DetectorName, type DetectorOptions } from './pipeline.js';

export interface PointScore {
  /** Calibrated likelihood in [0,1]; the same threshold (DEFAULT_THRESHOLD) works across series. */
  score: number;
  expected: { value: number; lower: number; upper: number };
  /** Family name -> its own calibrated score in [0,1]. */
  detectors: Record<string, number>;
}

/** JSON-safe, plus optional binary weights (tfjs). */
export interface DetectorState {
  kind: string;
  version: number;
  params: Record<string, unknown>;
  state: unknown;
  weights?: Uint8Array;
  points: number;
  trainedAt?: number;
  trainingWindow?: { from: number; to: number; points: number };
  quality?: Record<string, number>;
}

export interface StreamingDetector {
  readonly kind: string;
  /** Scores one point; uses only this point and the ones before it. */
  update(t: number, value: number): PointScore;
  save(): DetectorState;
  /** Optional async training (tfjs) on the detector's recent window. */
  retrain?(): Promise<void>;
  /** True when retrain() has work to do (the caller decides when to await it). */
  readonly retrainDue?: boolean;
}

/** Default = the ensemble, with the one configuration used for every series. */
export function createDetector(name: DetectorName = 'ensemble', options: DetectorOptions = {}): StreamingDetector {
  return createPipeline(name, options);
}

/** Continues exactly where save() left off. */
export function restoreDetector(state: DetectorState): StreamingDetector {
  return restorePipeline(state);
}
