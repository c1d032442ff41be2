import { describe, expect, it } from 'vitest';
import { PROFILES, probationaryLength, scaledSigmoid, scoreCorpus, sweepFile, type ScoredFile } from '../../src/models/nab/scorer.js';

/** A file of `n` points one minute apart; `hits` maps index -> anomaly score (others 0). */
function file(name: string, n: number, windows: Array<[number, number]>, hits: Record<number, number>): ScoredFile {
  const timestamps = Array.from({ length: n }, (_, i) => i * 60_000);
  return {
    name,
    timestamps,
    scores: timestamps.map((_, i) => hits[i] ?? 0),
    windows: windows.map(([a, b]) => [timestamps[a]!, timestamps[b]!]),
  };
}

const maxTP = 2 / (1 + Math.exp(-5)) - 1; // 0.98661

// Files are long enough (40 points) that the null detector's best threshold is "never": NAB optimises the
// null detector's threshold too, and on a tiny file flagging every point can beat never flagging.

describe('NAB scorer, hand-computed cases', () => {
  it('scaled sigmoid: ~0.987 at a window start, 0 at the end, -1 far behind', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661, 5);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.84828, 5);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(3)).toBe(-1);
  });

  it('probation is 15% of the rows, capped at 750', () => {
    expect(probationaryLength(10)).toBe(1);
    expect(probationaryLength(4032)).toBe(604);
    expect(probationaryLength(22695)).toBe(750);
  });

  it('a detection on the first point of a window earns the full TP weight: 100', () => {
    // 40 points, window at 20..22 (width 3): position -(22-20+1)/3 = -1 -> maxTP/maxTP = 1.
    const r = scoreCorpus([file('a', 40, [[20, 22]], { 20: 1 })], 'standard');
    expect(r.raw).toBeCloseTo(1, 10);
    expect(r.nullScore).toBe(-1);
    expect(r.perfectScore).toBe(1);
    expect(r.normalized).toBeCloseTo(100, 10);
  });

  it('a detection on the last point of a window earns sigmoid(-1/3 position) / maxTP', () => {
    // position -(22-22+1)/3 = -1/3 -> 2/(1+e^(-5/3)) - 1 = 0.68225 -> /maxTP = 0.69151.
    const expected = (2 / (1 + Math.exp(-5 / 3)) - 1) / maxTP;
    const r = scoreCorpus([file('a', 40, [[20, 22]], { 22: 1 })], 'standard');
    expect(r.raw).toBeCloseTo(expected, 10);
    expect(r.normalized).toBeCloseTo((100 * (expected + 1)) / 2, 8); // 84.58
  });

  it('only the best (earliest) detection in a window counts; later ones in the window cost nothing', () => {
    const r = scoreCorpus([file('a', 40, [[20, 22]], { 20: 1, 21: 1, 22: 1 })], 'standard');
    expect(r.raw).toBeCloseTo(1, 10);
  });

  it('a false positive before any window costs the full FP weight, per profile', () => {
    const f = file('a', 40, [[20, 22]], { 10: 1, 20: 1 });
    expect(scoreCorpus([f], 'standard').raw).toBeCloseTo(1 - 0.11, 10); // normalised 94.5
    expect(scoreCorpus([f], 'standard').normalized).toBeCloseTo(94.5, 8);
    expect(scoreCorpus([f], 'reward_low_FP_rate').raw).toBeCloseTo(1 - 0.22, 10); // 89
    expect(scoreCorpus([f], 'reward_low_FP_rate').normalized).toBeCloseTo(89, 8);
    // Low FN: null = -2, perfect = 1 -> 100 * (0.89 + 2) / 3.
    expect(scoreCorpus([f], 'reward_low_FN_rate').normalized).toBeCloseTo((100 * 2.89) / 3, 8);
  });

  it('a false positive after a window is weighted by the sigmoid of its distance past the window', () => {
    // Window 20..22 (width 3), FP at 24: distance |22-24|/(3-1) = 1 -> 2/(1+e^5) - 1 = -0.98661 -> x 0.11.
    const points = sweepFile(file('a', 40, [[20, 22]], {}), PROFILES.standard);
    expect(points[24]!.sweepScore).toBeCloseTo(-maxTP * 0.11, 10);
    // Right after the window (distance 1/2): 2/(1+e^2.5) - 1 = -0.84828.
    expect(points[23]!.sweepScore).toBeCloseTo(-0.84828 * 0.11, 5);
  });

  it('the probationary period is not scored, even for a detection', () => {
    const r = scoreCorpus([file('a', 40, [[20, 22]], { 0: 1, 5: 1 })], 'standard');
    expect(r.raw).toBe(-1); // rows 0..5 are probationary (floor(0.15 * 40) = 6)
    expect(r.threshold).toBe(1.1);
    expect(r.normalized).toBe(0);
  });

  it('one threshold for all files: the corpus optimum, not each file\'s own', () => {
    // File a: FP 0.6 before the window, TP 0.5 -> alone its best is 0.89 at threshold 0.5.
    // File b: TP 0.9, twenty FPs at 0.5 before its window -> alone its best is 1 at threshold 0.9.
    // Together: at 0.9 -> -1 + 1 = 0; at 0.6 -> -1.11 + 1; at 0.5 -> 0.89 + 1 - 2.2 = -0.31. Best 0.
    const a = file('a', 40, [[20, 22]], { 10: 0.6, 20: 0.5 });
    const hits: Record<number, number> = { 30: 0.9 };
    for (let i = 7; i < 27; i++) hits[i] = 0.5;
    const b = file('b', 40, [[30, 32]], hits);
    const r = scoreCorpus([a, b], 'standard');
    expect(r.threshold).toBe(0.9);
    expect(r.raw).toBeCloseTo(0, 10);
    expect(r.normalized).toBeCloseTo(50, 8); // null -2, perfect 2
    expect(r.perFile).toEqual({ a: -1, b: expect.closeTo(1, 10) });
  });

  it('a detector that never fires scores 0, whatever the profile', () => {
    for (const profile of ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const) {
      expect(scoreCorpus([file('a', 20, [[5, 7], [12, 14]], {})], profile).normalized).toBe(0);
    }
  });
});
