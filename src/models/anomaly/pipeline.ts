/**
 * A detector = scoring families -> one anomaly likelihood each (and one more for a family's shift
 * statistic, max-combined with its point score) -> combined -> quiet period after an alert.
 * Each family alone is a detector (`robust`, ...); `ensemble` is the default, one configuration for all.
 */
import type { DetectorState, PointScore, StreamingDetector } from './detector.js';
import type { FamilyState, ScoringFamily } from './family.js';
import { AnomalyLikelihood, type LikelihoodParams, type LikelihoodState } from './likelihood.js';
import { ForestFamily } from './iforest.js';
import { NeuralFamily } from './neural.js';
import { RobustFamily } from './robust.js';

/** Score at or above which a point is an anomaly (a tail probability of 1e-2, see likelihood.ts). */
export const DEFAULT_THRESHOLD = 0.5;

const FAMILIES = {
  robust: { create: (params: Record<string, unknown>) => new RobustFamily(params), restore: RobustFamily.restore },
  iforest: { create: (params: Record<string, unknown>) => new ForestFamily(params), restore: ForestFamily.restore },
  neural: { create: (params: Record<string, unknown>) => new NeuralFamily(params), restore: NeuralFamily.restore },
} satisfies Record<string, { create(params: Record<string, unknown>): ScoringFamily; restore(state: FamilyState): ScoringFamily }>;

export type FamilyName = keyof typeof FAMILIES;

const PRESETS = {
  ensemble: ['robust'],
  robust: ['robust'],
  iforest: ['iforest'],
  neural: ['neural'],
} satisfies Record<string, FamilyName[]>;

export type DetectorName = keyof typeof PRESETS;
export const DETECTOR_NAMES = Object.keys(PRESETS) as DetectorName[];

export interface DetectorOptions {
  /** Per-family parameter overrides. */
  families?: Partial<Record<FamilyName, Record<string, unknown>>>;
  likelihood?: Partial<LikelihoodParams>;
  /** Score at which an alert is raised (and the quiet period starts). */
  threshold?: number;
  /** Points after an alert during which the score is held at 0 ... */
  quietPoints?: number;
  /** ... unless it beats the highest score since the alert by this much. */
  quietEscalation?: number;
  /** How family scores combine: their mean (agreement) or their max (any family). */
  combine?: 'mean' | 'max';
}

interface PipelineParams {
  families: FamilyName[];
  familyParams: Partial<Record<FamilyName, Record<string, unknown>>>;
  likelihood: Partial<LikelihoodParams>;
  threshold: number;
  quietPoints: number;
  quietEscalation: number;
  combine: 'mean' | 'max';
}

interface PipelineState {
  points: number;
  quietLeft: number;
  quietLevel: number;
  families: FamilyState[];
  likelihoods: LikelihoodState[];
  /** The calibration of each family's shift statistic; null for a family without one (absent before version 2). */
  shiftLikelihoods?: (LikelihoodState | null)[];
  /** Byte length of each family's weights inside DetectorState.weights. */
  weightSizes: number[];
}

const VERSION = 2;
/** Version 1 states predate the shift statistic: they restore with it starting to learn, not cold. */
const RESTORABLE_VERSIONS = [1, VERSION];
export const DEFAULT_QUIET_POINTS = 100;
export const DEFAULT_QUIET_ESCALATION = 0.3;

class Pipeline implements StreamingDetector {
  private points: number;
  private quietLeft: number;
  private quietLevel: number;

  constructor(
    readonly kind: DetectorName,
    private readonly params: PipelineParams,
    private readonly families: ScoringFamily[],
    private readonly likelihoods: AnomalyLikelihood[],
    private readonly shiftLikelihoods: (AnomalyLikelihood | null)[],
    saved?: { points: number; quietLeft: number; quietLevel: number },
  ) {
    this.points = saved?.points ?? 0;
    this.quietLeft = saved?.quietLeft ?? 0;
    this.quietLevel = saved?.quietLevel ?? 0;
  }

  get retrainDue(): boolean {
    return this.families.some((f) => f.retrainDue === true);
  }

  async retrain(): Promise<void> {
    for (const family of this.families) if (family.retrainDue) await family.retrain?.();
  }

  update(t: number, value: number): PointScore {
    // Reject before learning anything, so one bad sample cannot poison the state.
    if (!Number.isFinite(t) || !Number.isFinite(value)) throw new RangeError(`anomaly detector: point (${t}, ${value}) is not a pair of finite numbers`);
    this.points++;
    const detectors: Record<string, number> = {};
    let combined = 0;
    let expected: PointScore['expected'] | null = null;
    this.families.forEach((family, i) => {
      const { raw, shift, expected: e } = family.observe(t, value);
      let score = (this.likelihoods[i] as AnomalyLikelihood).update(raw);
      const shiftLikelihood = this.shiftLikelihoods[i];
      if (shiftLikelihood && shift !== undefined) score = Math.max(score, shiftLikelihood.update(shift));
      detectors[family.name] = score;
      combined = this.params.combine === 'max' ? Math.max(combined, score) : combined + score / this.families.length;
      expected ??= e;
    });
    if (this.quietLeft > 0) {
      this.quietLeft--;
      // A clearly stronger anomaly still gets through; repeats of the same one do not.
      if (combined >= this.quietLevel + this.params.quietEscalation) this.quietLevel = combined;
      else combined = 0;
    } else if (combined >= this.params.threshold) {
      this.quietLeft = this.params.quietPoints;
      this.quietLevel = combined;
    }
    return { score: combined, expected: expected ?? { value, lower: value, upper: value }, detectors };
  }

  save(): DetectorState {
    const families = this.families.map((f) => f.save());
    const weights = families.map((f) => f.weights ?? new Uint8Array(0));
    const state: PipelineState = {
      points: this.points,
      quietLeft: this.quietLeft,
      quietLevel: this.quietLevel,
      families: families.map(({ params, state: s }) => ({ params, state: s })),
      likelihoods: this.likelihoods.map((l) => l.save()),
      shiftLikelihoods: this.shiftLikelihoods.map((l) => l?.save() ?? null),
      weightSizes: weights.map((w) => w.byteLength),
    };
    const total = weights.reduce((n, w) => n + w.byteLength, 0);
    const out: DetectorState = { kind: this.kind, version: VERSION, params: { ...this.params }, state, points: this.points };
    if (total > 0) out.weights = concatBytes(weights, total);
    return out;
  }
}

export function createPipeline(name: DetectorName, options: DetectorOptions): StreamingDetector {
  const params: PipelineParams = {
    families: PRESETS[name],
    familyParams: options.families ?? {},
    likelihood: options.likelihood ?? {},
    threshold: options.threshold ?? DEFAULT_THRESHOLD,
    quietPoints: options.quietPoints ?? DEFAULT_QUIET_POINTS,
    combine: options.combine ?? 'mean',
    quietEscalation: options.quietEscalation ?? DEFAULT_QUIET_ESCALATION,
  };
  const families: ScoringFamily[] = params.families.map((f) => FAMILIES[f].create(params.familyParams[f] ?? {}));
  const calibration = (f: ScoringFamily) => ({ ...f.calibration, ...params.likelihood });
  return new Pipeline(name, params, families,
    families.map((f) => new AnomalyLikelihood(calibration(f))),
    families.map((f) => (f.scoresShift ? new AnomalyLikelihood(calibration(f)) : null)));
}

export function restorePipeline(saved: DetectorState): StreamingDetector {
  if (!(saved.kind in PRESETS)) throw new Error(`unknown detector kind "${saved.kind}" (known: ${DETECTOR_NAMES.join(', ')})`);
  if (!RESTORABLE_VERSIONS.includes(saved.version)) throw new Error(`detector state version ${saved.version} is not supported (expected one of ${RESTORABLE_VERSIONS.join(', ')})`);
  const params = saved.params as unknown as PipelineParams;
  const state = saved.state as PipelineState;
  let offset = 0;
  const families: ScoringFamily[] = params.families.map((name, i) => {
    const size = state.weightSizes[i] ?? 0;
    const familyState: FamilyState = { ...(state.families[i] as FamilyState) };
    if (size > 0 && saved.weights) familyState.weights = saved.weights.subarray(offset, offset + size);
    offset += size;
    return FAMILIES[name].restore(familyState);
  });
  const calibration = (i: number) => ({ ...families[i]?.calibration, ...params.likelihood });
  const likelihoods = state.likelihoods.map((l, i) => new AnomalyLikelihood(calibration(i), l));
  const shiftLikelihoods = families.map((f, i) => {
    const saved = state.shiftLikelihoods?.[i];
    if (saved) return new AnomalyLikelihood(calibration(i), saved);
    return f.scoresShift ? new AnomalyLikelihood(calibration(i)) : null;
  });
  return new Pipeline(saved.kind as DetectorName, params, families, likelihoods, shiftLikelihoods, state);
}

function concatBytes(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
