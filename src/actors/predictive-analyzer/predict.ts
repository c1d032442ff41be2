import type { PredictionEvent } from '../../bus/messages.js';
import type { ForecastConfig, PredictRule, UnattendedWindow } from '../../config/schema.js';
import { timeToThreshold, type HoltWintersForecaster } from '../../models/forecast/index.js';
import { createForecaster, type ForecastModelSettings } from '../../models/forecast/settings.js';
import { unattendedStart } from '../../oncall/unattended.js';
import { parseDuration } from '../../series/duration.js';
import type { Sample } from '../../series/series.js';

const HOUR = 3_600_000;

export interface CompiledPredictRule {
  rule: PredictRule;
  within: number;
}

export function compilePredictRule(rule: PredictRule): CompiledPredictRule {
  return { rule, within: parseDuration(rule.within) };
}

/** True when every `match` label of the rule has the same value on the series. */
export function selects(rule: { metric: string; match?: Record<string, string> }, sample: Pick<Sample, 'name' | 'labels'>): boolean {
  if (rule.metric !== sample.name) return false;
  for (const name in rule.match ?? {}) if (sample.labels[name] !== rule.match?.[name]) return false;
  return true;
}

export function modelSettings(config: ForecastConfig): ForecastModelSettings {
  return {
    alphas: config.model.alphas,
    trendWindows: config.model.trend_windows.map(parseDuration),
    gamma: config.model.gamma,
    seasonality: config.model.seasonality,
  };
}

/**
 * A new forecaster for a series: its intervals are calibrated out to twice the longest horizon a rule
 * asks for (the optimistic edge of a breach lies beyond the horizon), and at least `forecast.history`.
 */
export function newForecaster(config: ForecastConfig, rules: readonly CompiledPredictRule[]): HoltWintersForecaster {
  const step = parseDuration(config.step);
  const longest = Math.max(parseDuration(config.history), ...rules.map((r) => 2 * r.within));
  return createForecaster(step, Math.ceil(longest / step), modelSettings(config));
}

/** The rule's view of the series' forecast: when it crosses the threshold, how sure, how fast, and when to alert. */
export function predict(
  compiled: CompiledPredictRule,
  series: Pick<Sample, 'series' | 'name' | 'labels'>,
  model: HoltWintersForecaster,
  unattended: readonly UnattendedWindow[],
): PredictionEvent | undefined {
  const t = model.lastTime;
  const value = model.lastObserved;
  if (t === undefined || value === undefined) return undefined;
  const { rule, within } = compiled;
  const steps = Math.ceil(within / model.step);
  const outlook = timeToThreshold({ t, value }, model.forecast(2 * steps), rule.threshold, rule.direction, t + within);
  const notifyBy = outlook.breach ? unattendedStart(unattended, outlook.breach.at) : undefined;
  return {
    rule: rule.name,
    series: series.series,
    name: series.name,
    labels: series.labels,
    t,
    value,
    threshold: rule.threshold,
    direction: rule.direction,
    ...(outlook.breach && { breach: outlook.breach }),
    confidence: outlook.confidence,
    ratePerHour: model.slopeAt(steps) * (HOUR / model.step),
    ...(notifyBy !== undefined && { notifyBy }),
  };
}
