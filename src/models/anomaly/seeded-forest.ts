/**
 * ml-isolation-forest draws from Math.random; training it under a seeded generator makes a forest
 * reproducible, so a restored model rebuilt from its training set and seed scores exactly as before.
 */
import { IsolationForest } from 'ml-isolation-forest';

export function trainSeededForest(samples: number[][], trees: number, seed: number): IsolationForest {
  const forest = new IsolationForest({ nEstimators: trees });
  const original = Math.random;
  Math.random = mulberry32(seed);
  try {
    forest.train(samples);
  } finally {
    Math.random = original;
  }
  return forest;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
