import { LinearForecaster, SeasonalNaiveForecaster, type LinearState, type SeasonalNaiveState } from './baselines.js';
import type { GridForecaster, GridState } from './forecaster.js';
import { HoltWintersForecaster, type HoltWintersState } from './holt-winters.js';

export { timeToThreshold, type Breach, type Direction } from './breach.js';
export type { ForecastPoint, ForecasterKind, GridForecaster, GridState } from './forecaster.js';
export { DEFAULT_HOLT_WINTERS, HoltWintersForecaster, type HoltWintersOptions } from './holt-winters.js';
export { LinearForecaster, SeasonalNaiveForecaster } from './baselines.js';

export type ForecasterState = HoltWintersState | SeasonalNaiveState | LinearState;

/** Rebuilds a forecaster from its JSON state (as saved in the model store). */
export function restoreForecaster(state: GridState): GridForecaster {
  switch (state.kind) {
    case 'holt-winters':
      return HoltWintersForecaster.restore(state as HoltWintersState);
    case 'seasonal-naive':
      return new SeasonalNaiveForecaster(state.step, state.maxHorizon, state as SeasonalNaiveState);
    case 'linear':
      return new LinearForecaster(state.step, state.maxHorizon, 0, state as LinearState);
    default:
      throw new Error(`unknown forecaster kind "${String((state as { kind: unknown }).kind)}"`);
  }
}
