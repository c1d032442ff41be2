import type { LikelihoodParams } from './likelihood.js';

/** A scoring family: turns a point into a raw surprise score; calibration happens in the pipeline. */
export interface RawScore {
  /** Raw surprise in [0,1]; not comparable across series until calibrated. */
  raw: number;
  /**
   * Optional raw score of a sustained change (robust: a CUSUM of the point's signed z), calibrated on its
   * own and combined with `raw` by max, so a shift made of individually ordinary points can still alert.
   */
  shift?: number;
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
  /** True when observe() reports `shift` (the pipeline then keeps a second calibration for it). */
  readonly scoresShift?: boolean;
  /** Calibration defaults that depend on the family's raw scale (the pipeline's options override them). */
  readonly calibration?: Partial<LikelihoodParams>;
}
