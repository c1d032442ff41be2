import { describe, expect, it } from 'vitest';
import { LinearForecaster, restoreForecaster, SeasonalNaiveForecaster, timeToThreshold, type ForecasterState } from '../../src/models/forecast/index.js';
import { inferStep, parseSeriesCsv } from '../../src/models/forecast/series-csv.js';
import { createForecaster, DEFAULT_FORECAST_SETTINGS } from '../../src/models/forecast/settings.js';
import type { HoltWintersForecaster } from '../../src/models/forecast/holt-winters.js';
import { mulberry32 } from '../../src/models/random.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const STEP = 10 * MINUTE;
const PER_DAY = DAY / STEP;
const T0 = Date.UTC(2026, 0, 5); // a Monday

/** A seeded PRNG (mulberry32) and its normal draws: the same series on every run. */
function noise(seed: number): () => number {
  const uniform = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Feeds value(k) at every step k in [from, to) (skipping NaN: missing points). */
function feed(model: { observe(t: number, v: number): boolean; flush(): void }, from: number, to: number, value: (k: number) => number): void {
  for (let k = from; k < to; k++) {
    const v = value(k);
    if (!Number.isNaN(v)) model.observe(T0 + k * STEP, v);
  }
  model.flush();
}

function breachOf(model: HoltWintersForecaster, threshold: number, horizon: number) {
  const t = model.lastTime as number;
  return timeToThreshold({ t, value: model.lastObserved as number }, model.forecast(Math.ceil((2 * horizon) / STEP)), threshold, 'above', t + horizon);
}

describe('Holt-Winters ensemble', () => {
  it('predicts when a filling disk with a daily cycle and noise reaches 90%, within 10% of the remaining time', () => {
    const z = noise(1);
    const signal = (k: number) => 10 + (4 * k) / PER_DAY + 1.5 * Math.sin((2 * Math.PI * k) / PER_DAY);
    const model = createForecaster(STEP, 14 * PER_DAY, DEFAULT_FORECAST_SETTINGS);
    feed(model, 0, 15 * PER_DAY, (k) => signal(k) + 0.2 * z());
    // The noise-free signal first reaches 90 about 5 days ahead, at a peak of its daily cycle.
    let k = 15 * PER_DAY;
    while (signal(k) < 90) k++;
    const trueAt = T0 + k * STEP;
    const outlook = breachOf(model, 90, 7 * DAY);
    const remaining = trueAt - (model.lastTime as number);
    expect(outlook.breach).toBeDefined();
    expect(Math.abs((outlook.breach?.at as number) - trueAt)).toBeLessThan(0.1 * remaining);
    expect(outlook.breach?.earliest).toBeLessThanOrEqual(outlook.breach?.at as number);
    expect(outlook.breach?.latest).toBeGreaterThanOrEqual(outlook.breach?.at as number);
    // Two weeks of history: intervals still carry the errors of the first days' rough trend.
    expect(outlook.confidence).toBeGreaterThan(0.7);
    expect(model.slopeAt(PER_DAY) * PER_DAY).toBeCloseTo(4, 0);
  });

  it('re-anchors after a clean-up empties the disk and keeps the fill rate', () => {
    const z = noise(2);
    let level = 40;
    const values = Array.from({ length: 9 * PER_DAY }, (_, k) => {
      level += 5 / PER_DAY;
      if (k === 6 * PER_DAY) level -= 35; // the clean-up
      return level + 0.1 * z();
    });
    const model = createForecaster(STEP, 10 * PER_DAY, DEFAULT_FORECAST_SETTINGS);
    feed(model, 0, values.length, (k) => values[k] as number);
    const remaining = ((90 - level) / 5) * DAY;
    const outlook = breachOf(model, 90, 10 * DAY);
    expect(model.forecastAt(1).yhat).toBeCloseTo(level, 0);
    expect(Math.abs((outlook.breach?.at as number) - ((model.lastTime as number) + remaining))).toBeLessThan(0.1 * remaining);
  });

  it('does not carry a passing anomaly (a day without its daytime peak) into tomorrow', () => {
    const z = noise(5);
    // 20 at night, 75 from 09:00 to 18:00; on day 8 the peak does not come.
    const peak = (k: number) => {
      const hour = ((k % PER_DAY) * STEP) / HOUR;
      return hour >= 9 && hour < 18 && Math.floor(k / PER_DAY) !== 8;
    };
    const model = createForecaster(STEP, 2 * PER_DAY, DEFAULT_FORECAST_SETTINGS);
    const naive = new SeasonalNaiveForecaster(STEP, 2 * PER_DAY);
    const now = 8 * PER_DAY + 14 * (HOUR / STEP); // 14:00 on the odd day, 5 hours into it
    for (const m of [model, naive]) feed(m, 0, now, (k) => (peak(k) ? 75 : 20) + z());
    // Tomorrow at 14:00 the peak is back: yesterday's copy says 20, the ensemble keeps the usual day.
    expect(naive.forecastAt(PER_DAY).yhat).toBeLessThan(25);
    expect(model.forecastAt(PER_DAY).yhat).toBeGreaterThan(70);
    // The next hour is still the odd day's level.
    expect(model.forecastAt(HOUR / STEP).yhat).toBeLessThan(30);
  });

  it('gives a flat noisy series near the threshold no confident breach', () => {
    const z = noise(3);
    const model = createForecaster(STEP, 6 * PER_DAY, DEFAULT_FORECAST_SETTINGS);
    feed(model, 0, 10 * PER_DAY, () => 89 + 0.5 * z());
    const outlook = breachOf(model, 91, 3 * DAY);
    expect(outlook.confidence).toBeLessThan(0.8);
    expect(outlook.breach).toBeUndefined();
  });

  it('carries its state through missing points', () => {
    const model = createForecaster(STEP, PER_DAY, DEFAULT_FORECAST_SETTINGS);
    // Every third point missing, and a 6-hour outage.
    feed(model, 0, 4 * PER_DAY, (k) => (k % 3 === 0 || (k > 2 * PER_DAY && k < 2 * PER_DAY + 36) ? NaN : 50 + k / PER_DAY));
    expect(model.lastTime).toBe(T0 + (4 * PER_DAY - 1) * STEP);
    const f = model.forecastAt(PER_DAY);
    expect(f.yhat).toBeGreaterThan(53);
    expect(f.yhat).toBeLessThan(56);
    expect(f.lower).toBeLessThanOrEqual(f.yhat);
    expect(f.upper).toBeGreaterThanOrEqual(f.yhat);
  });

  it('refuses a non-finite sample and drops late ones', () => {
    const model = createForecaster(STEP, PER_DAY, DEFAULT_FORECAST_SETTINGS);
    expect(() => model.observe(T0, Number.NaN)).toThrow(/finite/);
    expect(model.observe(T0 + STEP, 1)).toBe(true);
    expect(model.observe(T0, 1)).toBe(false);
    expect(model.late).toBe(1);
  });

  it('round-trips through its JSON state: the restored model forecasts and learns exactly as the original', () => {
    const z = noise(4);
    const original = createForecaster(STEP, 3 * PER_DAY, DEFAULT_FORECAST_SETTINGS);
    feed(original, 0, 3 * PER_DAY, (k) => 30 + k / PER_DAY + Math.sin((2 * Math.PI * k) / PER_DAY) + 0.3 * z());
    const restored = restoreForecaster(JSON.parse(JSON.stringify(original.toJSON())) as ForecasterState) as HoltWintersForecaster;
    expect(restored.toJSON()).toEqual(original.toJSON());
    expect(restored.forecast(2 * PER_DAY)).toEqual(original.forecast(2 * PER_DAY));
    for (const m of [original, restored]) feed(m, 3 * PER_DAY, 4 * PER_DAY, (k) => 30 + k / PER_DAY + Math.sin((2 * Math.PI * k) / PER_DAY));
    expect(restored.forecast(PER_DAY)).toEqual(original.forecast(PER_DAY));
    // A state saved before the seasonal-median member existed still restores, and forecasts without it.
    const { median: _median, ...older } = original.toJSON();
    expect(Number.isFinite(restoreForecaster(older as ForecasterState).forecastAt(PER_DAY).yhat)).toBe(true);
  });
});

describe('baselines', () => {
  it('seasonal naive repeats yesterday; linear extrapolates the fitted line', () => {
    const sn = new SeasonalNaiveForecaster(STEP, PER_DAY);
    const lr = new LinearForecaster(STEP, PER_DAY, 6 * HOUR);
    feed(sn, 0, 2 * PER_DAY, (k) => (k % PER_DAY) * 2);
    feed(lr, 0, 2 * PER_DAY, (k) => 3 + 0.5 * k);
    expect(sn.forecastAt(5).yhat).toBe(4 * 2);
    expect(lr.forecastAt(10).yhat).toBeCloseTo(3 + 0.5 * (2 * PER_DAY - 1 + 10), 6);
    const back = restoreForecaster(JSON.parse(JSON.stringify(lr.toJSON())) as ForecasterState);
    expect(back.forecastAt(10).yhat).toBeCloseTo(lr.forecastAt(10).yhat, 9);
  });
});

describe('timeToThreshold', () => {
  const path = [1, 2, 3, 4].map((h) => ({ t: h * HOUR, yhat: 80 + 5 * h, lower: 78 + 4 * h, upper: 82 + 6 * h }));
  it('interpolates the crossing of the expected path and of both interval edges', () => {
    const o = timeToThreshold({ t: 0, value: 80 }, path, 90, 'above', 4 * HOUR);
    expect(o.breach).toEqual({ at: 2 * HOUR, earliest: (4 / 3) * HOUR, latest: 3 * HOUR });
    expect(o.confidence).toBeGreaterThan(0.9);
  });
  it('reports no breach past the horizon, and reads falling series with direction below', () => {
    expect(timeToThreshold({ t: 0, value: 80 }, path, 101, 'above', 4 * HOUR).breach).toBeUndefined();
    const falling = path.map((p) => ({ ...p, yhat: 200 - p.yhat, lower: 200 - p.upper, upper: 200 - p.lower }));
    expect(timeToThreshold({ t: 0, value: 120 }, falling, 110, 'below', 4 * HOUR).breach?.at).toBe(2 * HOUR);
  });
});

describe('series CSV', () => {
  it('reads timestamps in several forms and infers the step', () => {
    const points = parseSeriesCsv('timestamp,value\n2026-01-05 00:10:00,2\n2026-01-05T00:00:00Z,1\n1767572400,3\n');
    expect(points.map((p) => p.v)).toEqual([1, 2, 3]);
    expect(inferStep(points)).toBe(10 * MINUTE);
  });
  it('names the line of a bad row', () => {
    expect(() => parseSeriesCsv('timestamp,value\n2026-01-05 00:00:00,1\n2026-01-05 00:05:00,abc\n')).toThrow(/line 3: value "abc"/);
    expect(() => parseSeriesCsv('yesterday,1\n')).toThrow(/line 1: cannot read "yesterday"/);
  });
});
