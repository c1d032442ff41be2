import { LinearForecaster, SeasonalNaiveForecaster, type LinearState, type SeasonalNaiveState } from './baselines.js';
import type { GridForecaster } from './forecaster.js';
import { HoltWintersForecaster, type HoltWintersState } from './holt-winters.js';

export { timeToThreshold, type Direction } from './breach.js';
export type { ForecastPoint, GridForecaster } from './forecaster.js';
export { HoltWintersForecaster } from './holt-winters.js';
export { LinearForecaster, SeasonalNaiveForecaster } from './baselines.js';

export type ForecasterState = HoltWintersState | SeasonalNaiveState | LinearState;

/** Rebuilds a forecaster from its JSON state (as saved in the model store). */
export function restoreForecaster(state: ForecasterState): GridForecaster {
  switch (state.kind) {
    case 'holt-winters':
      return HoltWintersForecaster.restore(state);
    case 'seasonal-naive':
      return new SeasonalNaiveForecaster(state.step, state.maxHorizon, state);
    case 'linear':
      return new LinearForecaster(state.step, state.maxHorizon, 0, state);
    default:
      throw new Error(`unknown forecaster kind "${String((state as { kind: unknown }).kind)}"`);
  }
}
