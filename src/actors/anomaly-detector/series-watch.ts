import type { DetectorState, PointScore, StreamingDetector } from '../../models/anomaly/detector.js';
import { initialVerdict, judgePoint, judgeSilence, type SettleRule, type VerdictState } from './verdict.js';

/** Everything about one watched series besides its detector: verdicts, drift, training record, recent points. */
export interface WatchState {
  lastT: number;
  lastValue: number;
  verdict: VerdictState;
  /** Consecutive points outside the expected band: a sustained level change when it reaches drift_points. */
  outside: number;
  driftDetected: boolean;
  /** Trainings of this model, 0 for one that has only learned online. */
  generation: number;
  trainedAt: number;
  trainingWindow?: { from: number; to: number; points: number };
  quality?: Record<string, number>;
  /** The most recent points, oldest first, to relearn from. */
  recent: { t: number[]; v: number[] };
}

export interface SavedWatch {
  detector: DetectorState;
  watch: WatchState;
}

export type Observation = { skipped: 'out_of_order' | 'detector_error'; error?: unknown } | { score: PointScore; verdict: 'anomalous' | 'normal' | undefined };

export interface WatchRules extends SettleRule {
  driftPoints: number;
}

/** A fixed-size ring of recent points, kept in typed arrays (16 bytes a point). */
class RecentPoints {
  private readonly t: Float64Array;
  private readonly v: Float64Array;
  private head = 0;
  private count = 0;

  constructor(readonly size: number, saved?: { t: number[]; v: number[] }) {
    this.t = new Float64Array(size);
    this.v = new Float64Array(size);
    const from = saved ? Math.max(0, saved.t.length - size) : 0;
    for (let i = from; i < (saved?.t.length ?? 0); i++) this.push(saved!.t[i]!, saved!.v[i]!);
  }

  push(t: number, v: number): void {
    this.t[this.head] = t;
    this.v[this.head] = v;
    this.head = (this.head + 1) % this.size;
    this.count = Math.min(this.count + 1, this.size);
  }

  points(): { t: number[]; v: number[] } {
    const out = { t: [] as number[], v: [] as number[] };
    const start = (this.head - this.count + this.size) % this.size;
    for (let i = 0; i < this.count; i++) {
      const j = (start + i) % this.size;
      out.t.push(this.t[j]!);
      out.v.push(this.v[j]!);
    }
    return out;
  }
}

/** One series under watch: its streaming detector and the state around it. Owned by one partition. */
export class SeriesWatch {
  /** Changed since it was last saved. */
  dirty: boolean;
  private readonly recent: RecentPoints;
  private readonly s: Omit<WatchState, 'recent'>;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly labels: Record<string, string>,
    public detector: StreamingDetector,
    window: number,
    saved?: WatchState,
  ) {
    const { recent, ...rest } = saved ?? { lastT: -Infinity, lastValue: NaN, verdict: initialVerdict(), outside: 0, driftDetected: false, generation: 0, trainedAt: 0, recent: undefined };
    this.s = structuredClone(rest);
    this.recent = new RecentPoints(window, recent);
    this.dirty = saved === undefined;
  }

  get state(): Readonly<Omit<WatchState, 'recent'>> {
    return this.s;
  }

  observe(t: number, value: number, rules: WatchRules): Observation {
    if (!(t > this.s.lastT)) return { skipped: 'out_of_order' };
    let score: PointScore;
    try {
      score = this.detector.update(t, value);
    } catch (error) {
      return { skipped: 'detector_error', error };
    }
    this.dirty = true;
    this.s.lastT = t;
    this.s.lastValue = value;
    this.recent.push(t, value);
    const outside = value < score.expected.lower || value > score.expected.upper;
    this.s.outside = outside ? this.s.outside + 1 : 0;
    if (rules.driftPoints > 0 && this.s.outside >= rules.driftPoints) {
      this.s.driftDetected = true;
      this.s.outside = 0;
    }
    return { score, verdict: judgePoint(this.s.verdict, t, score.score, rules) };
  }

  settleIfSilent(now: number, rules: SettleRule): 'normal' | undefined {
    const verdict = judgeSilence(this.s.verdict, now, rules);
    if (verdict) this.dirty = true;
    return verdict;
  }

  recentPoints(): { t: number[]; v: number[] } {
    return this.recent.points();
  }

  /** Swaps in a newly trained detector. */
  trained(detector: StreamingDetector, at: number, window: { from: number; to: number; points: number }, quality: Record<string, number>): void {
    this.detector = detector;
    this.s.generation++;
    this.s.trainedAt = at;
    this.s.trainingWindow = window;
    this.s.quality = quality;
    this.s.driftDetected = false;
    this.dirty = true;
  }

  /** The detector retrained itself (batch families): recorded like any training. */
  retrainedInPlace(at: number): void {
    this.s.generation++;
    this.s.trainedAt = at;
    this.dirty = true;
  }

  save(): SavedWatch {
    return { detector: this.detector.save(), watch: { ...structuredClone(this.s), recent: this.recent.points() } };
  }
}
