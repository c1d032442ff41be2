import { readFileSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import type { ForecastView } from '../api/routes/forecasts.js';
import { timeToThreshold, type Direction } from '../models/forecast/index.js';
import { inferStep, parseSeriesCsv, type Point } from '../models/forecast/series-csv.js';
import { createForecaster, DEFAULT_FORECAST_SETTINGS } from '../models/forecast/settings.js';
import { DURATION_PATTERN, formatDuration } from '../series/duration.js';
import { apiClientFromOptions, reportingApiErrors, withApiOptions, type ApiOptions } from './api-client.js';
import { iso, print, table } from './format.js';

const DAY = 86_400_000;
/** Inputs this long show a progress bar on a terminal. */
const PROGRESS_FROM = 20_000;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new InvalidArgumentError('expected a whole number from 1 to 1000000');
  return n;
}

function finite(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

function duration(value: string): string {
  if (!new RegExp(DURATION_PATTERN).test(value)) throw new InvalidArgumentError('expected a duration such as 12h, 3d or 1w');
  return value;
}

export interface ForecastResult {
  /** `timestamp,yhat,yhat_lower,yhat_upper` rows for the steps after the last input row. */
  csv: string;
  /** The crossing line, when a threshold was given. */
  crossing?: string;
}

/**
 * Forecasts `horizon` steps (the input's own step: its median gap) after the last row of a
 * `timestamp,value` CSV, with the 80% interval, and when a threshold is given, when it is crossed.
 */
export function forecastCsv(text: string, horizon: number, threshold?: { value: number; direction?: Direction }, onProgress?: (done: number, total: number) => void): ForecastResult {
  const points = parseSeriesCsv(text);
  const step = inferStep(points);
  // Calibrated at least a day out, so short horizons still learn from a day's errors.
  const model = createForecaster(step, Math.max(horizon, Math.ceil(DAY / step)), DEFAULT_FORECAST_SETTINGS);
  points.forEach((p, i) => {
    model.observe(p.t, p.v);
    if (i % 1000 === 0) onProgress?.(i, points.length);
  });
  model.flush();
  onProgress?.(points.length, points.length);
  const last = points.at(-1) as Point;
  // The model's grid starts steps at multiples of the step; output times continue the input's own times.
  const offset = last.t - (model.lastTime as number);
  const path = model.forecast(horizon).map((p) => ({ ...p, t: p.t + offset }));
  const rows = path.map((p) => `${new Date(p.t).toISOString()},${p.yhat},${p.lower},${p.upper}`);
  const csv = ['timestamp,yhat,yhat_lower,yhat_upper', ...rows].join('\n') + '\n';
  if (!threshold) return { csv };
  const direction = threshold.direction ?? (threshold.value >= last.v ? 'above' : 'below');
  const end = (path.at(-1) as { t: number }).t;
  const outlook = timeToThreshold({ t: last.t, value: last.v }, path, threshold.value, direction, end);
  const { breach } = outlook;
  const crossing = breach
    ? `${threshold.value} crossed ${direction === 'above' ? 'upwards' : 'downwards'} at ${iso(breach.at)} (in ${formatDuration(Math.round((breach.at - last.t) / 60_000) * 60_000)}; 80% range ${iso(breach.earliest)} to ${iso(breach.latest)}; confidence ${outlook.confidence.toFixed(2)})`
    : `not within horizon (${horizon} steps of ${formatDuration(step)}, to ${iso(end)}; confidence ${outlook.confidence.toFixed(2)})`;
  return { csv, crossing };
}

const csvCell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
const hours = (ms: number) => `${(ms / 3_600_000).toFixed(1)}h`;

/** The capacity report as a table or CSV, soonest breach first. */
export function formatReport(forecasts: readonly ForecastView[], now: number, format: 'table' | 'csv'): string {
  const headers = ['rule', 'series', 'value', 'threshold', 'direction', 'breach_at', 'time_to_breach', 'earliest', 'latest', 'confidence', 'rate_per_hour', 'notify_by'];
  const rows = forecasts.map((f) => [
    f.rule,
    f.series,
    String(Number(f.value.toPrecision(6))),
    String(f.threshold),
    f.direction,
    iso(f.breach.at),
    f.breach.at <= now ? 'overdue' : hours(f.breach.at - now),
    iso(f.breach.earliest),
    iso(f.breach.latest),
    f.confidence.toFixed(2),
    String(Number(f.ratePerHour.toPrecision(4))),
    f.notifyBy === undefined ? '' : iso(f.notifyBy),
  ]);
  if (format === 'csv') return [headers, ...rows].map((r) => r.map(csvCell).join(',')).join('\n');
  if (rows.length === 0) return 'no series predicted to cross a threshold within the horizon';
  return table(
    headers.map((h) => ({ header: h.toUpperCase().replace(/_/g, ' '), max: h === 'series' ? 60 : 24 })),
    rows.map((r) => r.map((c) => c || '-')),
  );
}

export function forecastCommand(): Command {
  const forecast = new Command('forecast')
    // `forecast report --horizon 7d` is the report's horizon (a duration), not the forecast's (steps).
    .enablePositionalOptions()
    .description('Forecast a timestamp,value CSV with an 80% interval (and when it crosses a threshold); `forecast report` lists series the daemon expects to cross their thresholds.')
    .option('--input <file>', 'CSV of timestamp,value rows (header optional; ISO 8601, "YYYY-MM-DD HH:MM:SS" UTC or epoch seconds)')
    .option('--horizon <n>', 'steps to forecast, in the input\'s own step (its median gap)', positiveInt)
    .option('--output <file>', 'where to write timestamp,yhat,yhat_lower,yhat_upper')
    .option('--threshold <x>', 'print when the forecast crosses this value, or "not within horizon"', finite)
    .addOption(new Option('--direction <d>', 'crossing upwards or downwards (default: towards the threshold from the last value)').choices(['above', 'below']))
    .action((opts: { input?: string; horizon?: number; output?: string; threshold?: number; direction?: Direction }) => {
      if (!opts.input || !opts.horizon || !opts.output) {
        process.stderr.write('vigil forecast: --input, --horizon and --output are required (or use `vigil forecast report`)\n');
        process.exitCode = 2;
        return;
      }
      let text: string;
      try {
        text = readFileSync(opts.input, 'utf8');
      } catch (err) {
        process.stderr.write(`vigil forecast: cannot read ${opts.input}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      const bar = process.stderr.isTTY ? new SingleBar({ format: 'learning [{bar}] {value}/{total} rows', stream: process.stderr }, Presets.shades_classic) : undefined;
      let started = false;
      const progress = (done: number, total: number) => {
        if (!bar || total < PROGRESS_FROM) return;
        if (!started) bar.start(total, 0);
        started = true;
        bar.update(done);
      };
      let result: ForecastResult;
      try {
        result = forecastCsv(text, opts.horizon, opts.threshold === undefined ? undefined : { value: opts.threshold, ...(opts.direction && { direction: opts.direction }) }, progress);
      } catch (err) {
        process.stderr.write(`vigil forecast: ${opts.input}: ${(err as Error).message}\n`);
        process.exitCode = 1;
        return;
      } finally {
        if (started) bar?.stop();
      }
      writeFileSync(opts.output, result.csv);
      if (result.crossing) print(result.crossing);
    });

  forecast.addCommand(
    withApiOptions(new Command('report'))
      .description('Series predicted to cross their predict rules\' thresholds within the horizon, soonest first (from the daemon API).')
      .option('--horizon <duration>', 'how far ahead', duration, '7d')
      .addOption(new Option('--format <format>', 'output format').choices(['table', 'csv']).default('table'))
      .action(
        reportingApiErrors(async (opts: ApiOptions & { horizon: string; format: 'table' | 'csv' }) => {
          const { now, forecasts } = await apiClientFromOptions(opts).get<{ now: number; forecasts: ForecastView[] }>(`/api/v1/forecasts?horizon=${encodeURIComponent(opts.horizon)}`);
          print(formatReport(forecasts, now, opts.format));
        }),
      ),
  );
  return forecast;
}
