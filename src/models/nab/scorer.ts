/**
 * NAB v1.1 scoring (numenta/NAB nab/sweeper.py and runner.py): sweep scores per point, one threshold
 * swept over all files together, normalised so the null detector scores 0 and the perfect one 100.
 */
export interface CostProfile {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

export const PROFILES = {
  standard: { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 },
  reward_low_FP_rate: { tpWeight: 1, fpWeight: 0.22, fnWeight: 1 },
  reward_low_FN_rate: { tpWeight: 1, fpWeight: 0.11, fnWeight: 2 },
} satisfies Record<string, CostProfile>;

export type ProfileName = keyof typeof PROFILES;

export interface ScoredFile {
  name: string;
  /** Epoch milliseconds, ascending. */
  timestamps: number[];
  scores: number[];
  /** Labelled anomaly windows [start, end] in epoch milliseconds, inclusive. */
  windows: Array<[number, number]>;
}

/** One point after the sweep: its anomaly score and what it would earn if it were a detection. */
export interface SweepPoint {
  anomalyScore: number;
  sweepScore: number;
  /** The window it lies in, null outside windows, 'probationary' in the first 15%. */
  window: string | null;
}

export const PROBATION_PERCENT = 0.15;

/** 2·sigmoid(-5x) - 1: ~0.987 at a window's left edge (x = -1), 0 at its right edge, -1 far behind it. */
export function scaledSigmoid(x: number): number {
  return x >= 3 ? -1 : 2 / (1 + Math.exp(5 * x)) - 1;
}

export function probationaryLength(rows: number, percent = PROBATION_PERCENT): number {
  return Math.min(Math.floor(percent * rows), percent * 5000);
}

/** Index of each window's first and last point; NAB windows start and end on data timestamps. */
function windowIndices(file: ScoredFile): Array<{ name: string; left: number; right: number }> {
  return file.windows.map(([start, end]) => {
    const left = file.timestamps.findIndex((t) => t >= start);
    let right = -1;
    for (let i = file.timestamps.length - 1; i >= 0; i--) if ((file.timestamps[i] as number) <= end) { right = i; break; }
    if (left < 0 || right < left) throw new Error(`${file.name}: window [${new Date(start).toISOString()}, ${new Date(end).toISOString()}] holds no data point`);
    return { name: `${file.name}|${start}`, left, right };
  });
}

export function sweepFile(file: ScoredFile, profile: CostProfile, probationPercent = PROBATION_PERCENT): SweepPoint[] {
  if (file.scores.length !== file.timestamps.length) throw new Error(`${file.name}: ${file.scores.length} scores for ${file.timestamps.length} timestamps`);
  const windows = windowIndices(file);
  const maxTP = scaledSigmoid(-1);
  const probation = probationaryLength(file.timestamps.length, probationPercent);
  const out: SweepPoint[] = [];
  let next = 0;
  let current: { name: string; left: number; right: number } | null = null;
  let previous: { right: number; width: number } | null = null;
  for (let i = 0; i < file.timestamps.length; i++) {
    if (current === null && next < windows.length && windows[next]!.left === i) current = windows[next++]!;
    let sweepScore: number;
    if (current !== null) {
      const width = current.right - current.left + 1;
      // NAB's position: -(right - i + 1)/width, so the right edge itself sits at -1/width.
      sweepScore = (scaledSigmoid(-(current.right - i + 1) / width) * profile.tpWeight) / maxTP;
    } else {
      const past = previous === null ? 3 : Math.abs(previous.right - i) / (previous.width - 1);
      sweepScore = scaledSigmoid(past) * profile.fpWeight;
    }
    out.push({ anomalyScore: file.scores[i] as number, sweepScore, window: i >= probation ? (current?.name ?? null) : 'probationary' });
    if (current !== null && i === current.right) {
      previous = { right: i, width: current.right - current.left + 1 };
      current = null;
    }
  }
  return out;
}

export interface ThresholdScore {
  threshold: number;
  score: number;
}

/**
 * Total score for every distinct threshold, from 1.1 (nothing detected) down: a point is a detection
 * when its anomaly score >= threshold; a window earns its best (earliest) detection, every false
 * positive costs its weight, every window without detection costs the FN weight.
 */
export function scoresByThreshold(points: SweepPoint[], profile: CostProfile): ThresholdScore[] {
  const scorable = points.filter((p) => p.window !== 'probationary').sort((a, b) => b.anomalyScore - a.anomalyScore);
  const windowBest = new Map<string, number>();
  for (const p of scorable) if (p.window !== null) windowBest.set(p.window, -profile.fnWeight);
  let windowsTotal = -profile.fnWeight * windowBest.size;
  let fp = 0;
  const out: ThresholdScore[] = [];
  let threshold = 1.1;
  for (const p of scorable) {
    if (p.anomalyScore !== threshold) {
      out.push({ threshold, score: fp + windowsTotal });
      threshold = p.anomalyScore;
    }
    if (p.window === null) fp += p.sweepScore;
    else {
      const best = windowBest.get(p.window) as number;
      if (p.sweepScore > best) {
        windowsTotal += p.sweepScore - best;
        windowBest.set(p.window, p.sweepScore);
      }
    }
  }
  out.push({ threshold, score: fp + windowsTotal });
  return out;
}

export function bestThreshold(points: SweepPoint[], profile: CostProfile): ThresholdScore {
  return scoresByThreshold(points, profile).reduce((best, s) => (s.score > best.score ? s : best));
}

/** Raw score of one file's sweep points at a fixed threshold. */
export function scoreAtThreshold(points: SweepPoint[], profile: CostProfile, threshold: number): number {
  const windows = new Map<string, number>();
  let fp = 0;
  for (const p of points) {
    if (p.window === 'probationary') continue;
    if (p.window !== null && !windows.has(p.window)) windows.set(p.window, -profile.fnWeight);
    if (p.anomalyScore < threshold) continue;
    if (p.window === null) fp += p.sweepScore;
    else windows.set(p.window, Math.max(windows.get(p.window) as number, p.sweepScore));
  }
  let total = fp;
  for (const v of windows.values()) total += v;
  return total;
}

export interface CorpusScore {
  profile: ProfileName;
  threshold: number;
  raw: number;
  /** 100 · (raw - null) / (perfect - null). */
  normalized: number;
  nullScore: number;
  perfectScore: number;
  /** Raw score of each file at the corpus threshold. */
  perFile: Record<string, number>;
}

/** Scores a set of files under one profile with one threshold for all of them (NAB's optimiser). */
export function scoreCorpus(files: ScoredFile[], profileName: ProfileName, probationPercent = PROBATION_PERCENT): CorpusScore {
  const profile = PROFILES[profileName];
  const swept = files.map((f) => sweepFile(f, profile, probationPercent));
  const best = bestThreshold(swept.flat(), profile);
  const nullSwept = files.map((f) => sweepFile({ ...f, scores: f.scores.map(() => 0) }, profile, probationPercent));
  const nullScore = bestThreshold(nullSwept.flat(), profile).score;
  const perfectScore = files.reduce((n, f) => n + f.windows.length, 0) * profile.tpWeight;
  const perFile: Record<string, number> = {};
  files.forEach((f, i) => (perFile[f.name] = scoreAtThreshold(swept[i]!, profile, best.threshold)));
  const normalized = perfectScore === nullScore ? 100 : (100 * (best.score - nullScore)) / (perfectScore - nullScore);
  return { profile: profileName, threshold: best.threshold, raw: best.score, normalized, nullScore, perfectScore, perFile };
}

/** Normalised score of a subset of files (e.g. one category) at a threshold chosen on the whole corpus. */
export function scoreSubsetAt(files: ScoredFile[], profileName: ProfileName, threshold: number, probationPercent = PROBATION_PERCENT): number {
  const profile = PROFILES[profileName];
  const raw = files.reduce((n, f) => n + scoreAtThreshold(sweepFile(f, profile, probationPercent), profile, threshold), 0);
  const nullSwept = files.flatMap((f) => sweepFile({ ...f, scores: f.scores.map(() => 0) }, profile, probationPercent));
  const nullScore = bestThreshold(nullSwept, profile).score;
  const perfectScore = files.reduce((n, f) => n + f.windows.length, 0) * profile.tpWeight;
  return perfectScore === nullScore ? 100 : (100 * (raw - nullScore)) / (perfectScore - nullScore);
}
