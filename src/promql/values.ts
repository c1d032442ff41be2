import type { Labels } from './labels.js';
import type { Sample } from './storage.js';

/** One element of an instant vector. */
export interface VectorSample {
  labels: Labels;
  v: number;
}

export interface RangeSeries {
  labels: Labels;
  /** Points in the window, stale markers dropped. */
  points: Sample[];
}

/** A range vector with the window it was selected over (rate/increase extrapolate to its edges). */
export interface Matrix {
  type: 'matrix';
  series: RangeSeries[];
  rangeStart: number;
  rangeEnd: number;
  range: number;
}

export type Value =
  | { type: 'scalar'; v: number }
  | { type: 'string'; s: string }
  | { type: 'vector'; samples: VectorSample[] }
  | Matrix;

/** An error raised while evaluating (many-to-many matching, duplicate label sets); a rule evaluation error. */
export class PromQLEvalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PromQLEvalError';
  }
}
