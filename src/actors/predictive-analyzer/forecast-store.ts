import type { PredictionEvent } from '../../bus/messages.js';
import { HoltWintersForecaster, restoreForecaster, type ForecasterState } from '../../models/forecast/index.js';
import { hashKey } from '../../series/series.js';
import type { ModelStore } from '../../store/store.js';

/**
 * Forecast state in the store's model collection: each series' forecaster (kind `forecast`, its JSON
 * state as the weights) and each rule's latest prediction for it (kind `forecast.prediction`, the
 * event as params), which the capacity report reads.
 */
export const FORECASTER_KIND = 'forecast';
export const PREDICTION_KIND = 'forecast.prediction';
const VERSION = 1;

const idPart = (text: string) => `${hashKey(text).toString(16)}-${text.length}`;
export const forecasterId = (series: string) => `forecast-${idPart(series)}`;
export const predictionId = (rule: string, series: string) => `prediction-${rule}-${idPart(series)}`;

export async function saveForecaster(models: ModelStore, series: string, model: HoltWintersForecaster, now: number): Promise<void> {
  const meta = { id: forecasterId(series), seriesId: series, kind: FORECASTER_KIND, version: VERSION, createdAt: now, params: { step: model.step, maxHorizon: model.maxHorizon, lastTime: model.lastTime ?? null } };
  await models.save(meta, Buffer.from(JSON.stringify(model.toJSON())));
}

/** Every stored forecaster by series; one that cannot be read is reported and skipped (it starts over). */
export async function loadForecasters(models: ModelStore, onError: (series: string, err: Error) => void): Promise<Map<string, HoltWintersForecaster>> {
  const loaded = new Map<string, HoltWintersForecaster>();
  for (const meta of await models.list({ where: { kind: FORECASTER_KIND } })) {
    try {
      const stored = await models.load(meta.id);
      if (!stored) continue;
      const model = restoreForecaster(JSON.parse(stored.weights.toString('utf8')) as ForecasterState);
      if (!(model instanceof HoltWintersForecaster)) throw new Error(`unexpected forecaster kind ${model.kind}`);
      loaded.set(meta.seriesId, model);
    } catch (err) {
      onError(meta.seriesId, err as Error);
    }
  }
  return loaded;
}

export async function savePrediction(models: ModelStore, prediction: PredictionEvent, now: number): Promise<void> {
  const meta = { id: predictionId(prediction.rule, prediction.series), seriesId: prediction.series, kind: PREDICTION_KIND, version: VERSION, createdAt: now, params: { ...prediction } };
  await models.save(meta, Buffer.alloc(0));
}

export async function listPredictions(models: ModelStore): Promise<PredictionEvent[]> {
  return (await models.list({ where: { kind: PREDICTION_KIND } })).map((m) => m.params as unknown as PredictionEvent);
}
