import type { Metrics } from '../observability/metrics.js';
import { isValidLabelName, isValidMetricName, makeSample, type Sample } from '../series/series.js';

/**
 * Why a sample was refused. A closed set, because it becomes the `reason` label of
 * `vigil_samples_rejected_total` and metric labels must stay bounded.
 */
export type RejectReason =
  | 'malformed'
  | 'invalid_metric_name'
  | 'invalid_label_name'
  | 'invalid_label_value'
  | 'invalid_value'
  | 'non_finite'
  | 'invalid_timestamp'
  | 'timestamp_in_future'
  | 'timestamp_too_old'
  | 'too_large'
  | 'out_of_order'
  | 'duplicate';

export interface Rejection {
  /** Where the sample was: an array index (JSON, 0-based) or a line number (text, 1-based). */
  item: number;
  reason: RejectReason;
  /** For people: what exactly was wrong. */
  detail: string;
}

export interface IngestResult {
  samples: Sample[];
  rejected: Rejection[];
}

export interface IngestLimits {
  /** Whole-body size in bytes; larger bodies throw `IngestError` with code `too_large`. */
  maxBodyBytes: number;
  /** Samples in one body; more throw `IngestError` with code `too_large`. */
  maxSamples: number;
  maxLabels: number;
  maxNameLength: number;
  maxLabelValueLength: number;
  /** Timestamps further ahead of now are rejected `timestamp_in_future` (clock skew allowance). */
  maxFutureMs: number;
  /** Timestamps before this epoch ms are rejected `timestamp_too_old`: usually seconds sent as ms. */
  minTimestampMs: number;
}

export const DEFAULT_LIMITS: IngestLimits = {
  maxBodyBytes: 10 * 1024 * 1024,
  maxSamples: 100_000,
  maxLabels: 32,
  maxNameLength: 256,
  maxLabelValueLength: 2048,
  maxFutureMs: 3_600_000,
  minTimestampMs: Date.UTC(2000, 0, 1),
};

export interface ParseOptions {
  /** Epoch ms: the timestamp of samples without one, and the reference for "in the future". */
  now: number;
  limits?: Partial<IngestLimits>;
}

/** A body that cannot be read at all. `code` lets the API answer 400 or 413. */
export class IngestError extends Error {
  override name = 'IngestError';
  constructor(
    readonly code: 'malformed' | 'too_large',
    readonly format: 'json' | 'prometheus',
    message: string,
    /** 1-based line of the problem, when known. */
    readonly line?: number,
  ) {
    super(`${format} body ${code === 'too_large' ? 'too large' : 'malformed'}: ${message}`);
  }
}

export type Checked = { sample: Sample } | { reason: RejectReason; detail: string };

const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(?:inf|infinity|nan)$/i;

/**
 * Reads a value written as text the way Prometheus does (`1.5e3`, `NaN`, `+Inf`). Returns a number
 * (possibly non-finite) or undefined when the text is not a number at all.
 */
export function parseFloatToken(text: string): number | undefined {
  if (FLOAT.test(text)) return Number(text);
  if (NON_FINITE.test(text)) return text.toLowerCase().includes('nan') ? NaN : text.startsWith('-') ? -Infinity : Infinity;
  return undefined;
}

/**
 * The single validation every sample passes, whatever its origin: names, label sizes, a finite value
 * and a plausible timestamp (`t` in epoch ms).
 */
export function checkSample(name: string, labels: Record<string, string>, t: number, v: number, now: number, limits: IngestLimits = DEFAULT_LIMITS): Checked {
  if (name.length > limits.maxNameLength) return { reason: 'too_large', detail: `metric name longer than ${limits.maxNameLength} characters` };
  if (!isValidMetricName(name)) return { reason: 'invalid_metric_name', detail: `invalid metric name ${JSON.stringify(name)}` };
  const names = Object.keys(labels);
  if (names.length > limits.maxLabels) return { reason: 'too_large', detail: `${names.length} labels, at most ${limits.maxLabels} allowed` };
  for (const label of names) {
    if (!isValidLabelName(label) || label.startsWith('__')) return { reason: 'invalid_label_name', detail: `invalid label name ${JSON.stringify(label)}` };
    const value = labels[label];
    if (typeof value !== 'string') return { reason: 'invalid_label_value', detail: `label ${label} must be a string` };
    if (value.length > limits.maxLabelValueLength) return { reason: 'too_large', detail: `label ${label} longer than ${limits.maxLabelValueLength} characters` };
  }
  if (!Number.isFinite(v)) return { reason: 'non_finite', detail: `value ${v} is not finite` };
  if (!Number.isFinite(t)) return { reason: 'invalid_timestamp', detail: `timestamp ${t} is not a finite number` };
  if (t > now + limits.maxFutureMs) return { reason: 'timestamp_in_future', detail: `timestamp ${new Date(t).toISOString()} is more than ${limits.maxFutureMs / 60_000} min in the future` };
  if (t < limits.minTimestampMs) return { reason: 'timestamp_too_old', detail: `timestamp ${t} is before ${new Date(limits.minTimestampMs).toISOString()} (seconds instead of milliseconds?)` };
  return { sample: makeSample(name, labels, Math.round(t), v) };
}

/** Counts rejections in `vigil_samples_rejected_total{source,reason}`. */
export function recordRejections(metrics: Metrics, source: string, rejected: readonly Pick<Rejection, 'reason'>[]): void {
  for (const r of rejected) metrics.samplesRejected.inc({ source, reason: r.reason });
}
