import { partitionOf } from '../../series/series.js';

/**
 * A message key that lands on partition `p` of an inbox with `partitions` partitions: messages meant
 * for a whole partition (its tick, "retrain everything") carry it. The first `anomaly-p<p>-<i>` that
 * hashes to p; deterministic, so every process picks the same key.
 */
export function partitionKey(p: number, partitions: number): string {
  for (let i = 0; ; i++) {
    const key = `anomaly-p${p}-${i}`;
    if (partitionOf(key, partitions) === p) return key;
  }
}

/** Partitions of the anomaly-detector inbox, as the transport is configured. */
export function detectorPartitions(partitions: Record<string, number>): number {
  return partitions['anomaly-detector'] ?? 1;
}
