import { DEFAULT_HOLT_WINTERS, HoltWintersForecaster } from './holt-winters.js';

/** Model settings, as the `forecast.model` config section gives them (durations already in ms). */
export interface ForecastModelSettings {
  alphas: number[];
  /** Trend windows (ms); 0 adds ensemble members without trend. */
  trendWindows: number[];
  gamma: number;
  seasonality: ('daily' | 'weekly')[];
}

export const DEFAULT_FORECAST_SETTINGS: ForecastModelSettings = {
  alphas: DEFAULT_HOLT_WINTERS.alphas,
  trendWindows: DEFAULT_HOLT_WINTERS.trendWindows,
  gamma: DEFAULT_HOLT_WINTERS.gamma,
  seasonality: ['daily', 'weekly'],
};

/** The forecaster Vigil uses, on a grid of `step` ms, calibrated up to `maxHorizon` steps ahead. */
export function createForecaster(step: number, maxHorizon: number, settings: ForecastModelSettings): HoltWintersForecaster {
  return new HoltWintersForecaster({
    step,
    maxHorizon,
    alphas: settings.alphas,
    trendWindows: settings.trendWindows,
    gamma: settings.gamma,
    daily: settings.seasonality.includes('daily'),
    weekly: settings.seasonality.includes('weekly'),
  });
}
