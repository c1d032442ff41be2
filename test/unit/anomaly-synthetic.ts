/** Synthetic series for detector tests: 5-minute steps, a daily cycle plus seeded Gaussian noise. */
import { mulberry32 } from '../../src/models/random.js';

export const STEP_MS = 300_000;
export const START = Date.UTC(2024, 0, 1);
export const DAY_POINTS = 288;

/** Uniform in [-1, 1) from a seed (mulberry32). */
export function uniformNoise(seed: number): () => number {
  const uniform = mulberry32(seed);
  return () => uniform() * 2 - 1;
}

/**
 * Level 50, daily amplitude 10, bounded noise of +-2 (like NAB's artificial series); `change(i, v)` alters
 * point i. Bounded noise: with Gaussian noise a 1-in-100 value is a genuine rare event, which the default
 * threshold (a tail of 1e-2) flags, at most once per quiet period.
 */
export function seasonal(n: number, seed: number, change: (i: number, v: number) => number = (_i, v) => v): Array<[number, number]> {
  const noise = uniformNoise(seed);
  return Array.from({ length: n }, (_, i) => {
    const v = 50 + 10 * Math.sin((2 * Math.PI * i) / DAY_POINTS) + 2 * noise();
    return [START + i * STEP_MS, change(i, v)] as [number, number];
  });
}
