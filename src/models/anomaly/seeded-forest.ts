/**
 * ml-isolation-forest draws from Math.random; training it under a seeded generator makes a forest
 * reproducible, so a restored model rebuilt from its training set and seed scores exactly as before.
 */
import { IsolationForest } from 'ml-isolation-forest';
import { mulberry32 } from '../random.js';

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
