import type { LikelihoodParams } from './likelihood.js';

/** A scoring family: turns a point into a raw surprise score; calibration happens in the pipeline. */
export interface RawScore {
  /** Raw surprise in [0,1]; not comparable across series until calibrated. */
  raw: number;
  expected: { value: number; lower: number; upper: number };
}

export interface FamilyState {
  params: Record<string, unknown>;
  state: unknown;
  /** Binary weights (tfjs); the pipeline concatenates them into DetectorState.weights. */
  weights?: Uint8Array;
}

export interface ScoringFamily {
  readonly name: string;
  observe(t: number, value: number): RawScore;
  save(): FamilyState;
  retrain?(): Promise<void>;
  readonly retrainDue?: boolean;
  /** Calibration defaults that depend on the family's raw scale (the pipeline's options override them). */
  readonly calibration?: Partial<LikelihoodParams>;
}
