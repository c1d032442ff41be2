/**
 * A watched series as a stored model. The store's meta carries what people and `vigil models` read
 * (hyper-parameters, training window, version, quality figures, normalisation); the bytes carry the
 * full streaming state (JSON) followed by the detector's binary weights, so a restart resumes exactly.
 */
import type { DetectorState } from '../../models/anomaly/detector.js';
import type { ModelRecord, StoredModel } from '../../store/store.js';
import type { SavedWatch, WatchState } from './series-watch.js';

/** Bump when the byte layout changes; an unknown layout is discarded (the series starts cold), never misread. */
const LAYOUT = 1;

export interface ModelIdentity {
  id: string;
  name: string;
  labels: Record<string, string>;
}

export interface DecodedModel extends ModelIdentity {
  saved: SavedWatch;
}

export function encodeModel(who: ModelIdentity, saved: SavedWatch, now: number): StoredModel {
  const { weights, ...detector } = saved.detector;
  const json = Buffer.from(JSON.stringify({ layout: LAYOUT, detector, watch: saved.watch }));
  const header = Buffer.alloc(4);
  header.writeUInt32BE(json.byteLength);
  const bytes = Buffer.concat([header, json, weights ? Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength) : Buffer.alloc(0)]);
  const w = saved.watch;
  const last = w.recent.v.length;
  const meta: ModelRecord = {
    id: who.id,
    seriesId: who.id,
    kind: saved.detector.kind,
    version: w.generation,
    createdAt: now,
    params: {
      name: who.name,
      labels: who.labels,
      stateVersion: saved.detector.version,
      hyperParameters: saved.detector.params,
      points: saved.detector.points,
      lastPointAt: w.lastT,
      ...(last > 0 && { normalisation: recentSpread(w.recent.v) }),
      ...(w.trainedAt > 0 && { trainedAt: w.trainedAt }),
      ...(w.trainingWindow && { trainingWindow: w.trainingWindow }),
      ...(w.quality && { quality: w.quality }),
      anomalous: w.verdict.anomalous,
      bytes: bytes.byteLength,
    },
  };
  return { meta, weights: bytes };
}

export function decodeModel(stored: StoredModel): DecodedModel {
  const bytes = stored.weights;
  const length = bytes.readUInt32BE(0);
  const parsed = JSON.parse(bytes.subarray(4, 4 + length).toString('utf8')) as { layout: number; detector: Omit<DetectorState, 'weights'>; watch: WatchState };
  if (parsed.layout !== LAYOUT) throw new Error(`model ${stored.meta.id}: byte layout ${parsed.layout} is not supported (expected ${LAYOUT})`);
  const weights = bytes.subarray(4 + length);
  const detector: DetectorState = weights.byteLength > 0 ? { ...parsed.detector, weights: new Uint8Array(weights) } : parsed.detector;
  const params = stored.meta.params as { name?: string; labels?: Record<string, string> };
  return { id: stored.meta.id, name: params.name ?? stored.meta.id, labels: params.labels ?? {}, saved: { detector, watch: parsed.watch } };
}

/** Median and median absolute deviation of the recent values: the scale a person reads the scores against. */
function recentSpread(values: readonly number[]): { median: number; mad: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  const deviations = sorted.map((v) => Math.abs(v - median)).sort((a, b) => a - b);
  return { median, mad: deviations[Math.floor(deviations.length / 2)] as number };
}
