/**
 * bench:forecast — forecast quality of the predictive analyzer's model against its baselines.
 *
 *   npm run bench:forecast [-- --data ../shared/nab/data --origins 300 --disks 40 --seed 7]
 *
 * 1. Rolling origin on every NAB series: each file is put on its own step (median gap); the first 20% (at
 *    least 3 days) only trains. From evenly spaced origins after that, each model forecasts 1 hour and
 *    1 day ahead, having seen only the data up to the origin. Scores: MASE (mean absolute error over the
 *    training part's in-sample seasonal-naive error, lag one day), and how often the 80% interval held
 *    the outcome. Holt-Winters ensemble, seasonal naive and linear regression (`predict_linear` over 6h)
 *    see the same points.
 * 2. Time to exhaustion on seeded synthetic disk-fill series (10-minute step, steady fill, daily cycle,
 *    noise, clean-up drops and a fill-rate change in the history): from origins whose true breach of 90%
 *    is 1 to 7 days ahead, the error of the predicted breach time as a fraction of the true remaining time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';
import { LinearForecaster, SeasonalNaiveForecaster, timeToThreshold } from '../../src/models/forecast/index.js';
import type { GridForecaster } from '../../src/models/forecast/forecaster.js';
import { createForecaster, DEFAULT_FORECAST_SETTINGS } from '../../src/models/forecast/settings.js';
import { inferStep, parseSeriesCsv } from '../../src/models/forecast/series-csv.js';
import { mulberry32 } from '../../src/models/random.js';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/nab/data' },
    origins: { type: 'string', default: '300' },
    disks: { type: 'string', default: '40' },
    seed: { type: 'string', default: '7' },
  },
});
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const LR_WINDOW = 6 * HOUR;
const METHODS = ['holt-winters', 'seasonal-naive', 'linear'] as const;
type Method = (typeof METHODS)[number];

function models(step: number, maxHorizon: number): Record<Method, GridForecaster> {
  return {
    'holt-winters': createForecaster(step, maxHorizon, DEFAULT_FORECAST_SETTINGS),
    'seasonal-naive': new SeasonalNaiveForecaster(step, maxHorizon),
    linear: new LinearForecaster(step, maxHorizon, LR_WINDOW),
  };
}

function progress(total: number, label: string): { tick(): void; stop(): void } {
  const tty = process.stderr.isTTY;
  const bar = new SingleBar({ format: `${label} [{bar}] {value}/{total}`, stream: process.stderr }, Presets.shades_classic);
  if (tty) bar.start(total, 0);
  return { tick: () => tty && bar.increment(), stop: () => tty && bar.stop() };
}

// ---------------------------------------------------------------- rolling origin on NAB

interface Score {
  absError: number;
  covered: number;
  n: number;
}

interface FileResult {
  file: string;
  step: number;
  /** Per horizon name, per method. */
  scores: Record<string, Record<Method, Score & { mase: number }>>;
}

function listCsv(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listCsv(join(dir, e.name)) : e.name.endsWith('.csv') ? [join(dir, e.name)] : []));
}

function evaluateFile(file: string, horizonsMs: Record<string, number>, originsWanted: number): FileResult | string {
  const points = parseSeriesCsv(readFileSync(file, 'utf8'));
  const step = inferStep(points);
  const first = Math.floor((points[0] as { t: number }).t / step);
  const n = Math.floor((points.at(-1) as { t: number }).t / step) - first + 1;
  // The grid: bucket means, NaN where no point fell. Used to feed the models step by step and to score.
  const sums = new Float64Array(n);
  const counts = new Uint32Array(n);
  for (const p of points) {
    const k = Math.floor(p.t / step) - first;
    sums[k] = (sums[k] as number) + p.v;
    counts[k] = (counts[k] as number) + 1;
  }
  const y = Float64Array.from(sums, (s, k) => ((counts[k] as number) > 0 ? s / (counts[k] as number) : NaN));
  const period = Math.max(1, Math.round(DAY / step));
  const horizons = Object.fromEntries(Object.entries(horizonsMs).map(([name, ms]) => [name, Math.max(1, Math.round(ms / step))]));
  const maxH = Math.max(...Object.values(horizons));
  const warm = Math.max(3 * period, Math.floor(0.2 * n));
  if (warm + maxH >= n) return `${file}: too short (${n} steps) for a ${maxH}-step horizon after ${warm} training steps`;
  let scaleSum = 0;
  let scaleN = 0;
  for (let k = period; k < warm; k++) {
    if (!Number.isNaN(y[k] as number) && !Number.isNaN(y[k - period] as number)) {
      scaleSum += Math.abs((y[k] as number) - (y[k - period] as number));
      scaleN++;
    }
  }
  const scale = scaleSum / scaleN;
  if (!(scale > 0)) return `${file}: constant over its training part (no seasonal-naive error to scale by)`;

  const ms = models(step, maxH);
  const score: Record<string, Record<Method, Score>> = Object.fromEntries(
    Object.keys(horizons).map((h) => [h, Object.fromEntries(METHODS.map((m) => [m, { absError: 0, covered: 0, n: 0 }])) as Record<Method, Score>]),
  );
  const stride = Math.max(1, Math.floor((n - warm - maxH) / originsWanted));
  for (let k = 0; k < n - 1; k++) {
    const v = y[k] as number;
    if (Number.isNaN(v)) continue;
    for (const m of METHODS) {
      ms[m].observe((first + k) * step, v);
      ms[m].flush();
    }
    if (k < warm || (k - warm) % stride !== 0) continue;
    for (const [name, h] of Object.entries(horizons)) {
      const actual = y[k + h];
      if (actual === undefined || Number.isNaN(actual)) continue;
      for (const m of METHODS) {
        const f = ms[m].forecastAt(h);
        const s = (score[name] as Record<Method, Score>)[m];
        s.absError += Math.abs(actual - f.yhat);
        s.covered += actual >= f.lower && actual <= f.upper ? 1 : 0;
        s.n++;
      }
    }
  }
  const scores = Object.fromEntries(
    Object.entries(score).map(([name, byMethod]) => [
      name,
      Object.fromEntries(METHODS.map((m) => [m, { ...byMethod[m], mase: byMethod[m].absError / byMethod[m].n / scale }])) as Record<Method, Score & { mase: number }>,
    ]),
  );
  return { file, step, scores };
}

// ---------------------------------------------------------------- synthetic disk fill


interface Disk {
  step: number;
  /** Observed values (with noise) and the noise-free signal, per step from t = 0. */
  observed: number[];
  signal: number[];
  /** First step the signal reaches the threshold. */
  breachStep: number;
  /** After this step the fill regime no longer changes (last drop or rate change). */
  settledStep: number;
}

const THRESHOLD = 90;

function generateDisk(random: () => number): Disk | undefined {
  const step = 10 * 60_000;
  const perDay = DAY / step;
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const rate1 = 3 + 9 * random(); // % per day
  const rate2 = rate1 * (0.5 + 1.5 * random());
  const change = Math.round((2 + 4 * random()) * perDay);
  const drops = Array.from({ length: 1 + Math.floor(random() * 2) }, () => ({ at: Math.round((1 + 6 * random()) * perDay), size: 15 + 15 * random() }));
  const amplitude = 0.2 + 0.8 * random();
  const phase = 2 * Math.PI * random();
  const noise = 0.05 + 0.25 * random();
  let level = 20 + 20 * random();
  const observed: number[] = [];
  const signal: number[] = [];
  const settledStep = Math.max(change, ...drops.map((d) => d.at));
  for (let k = 0; k < 40 * perDay; k++) {
    level += (k < change ? rate1 : rate2) / perDay;
    for (const d of drops) if (d.at === k) level = Math.max(5, level - d.size);
    const s = level + amplitude * Math.sin((2 * Math.PI * k) / perDay + phase);
    signal.push(s);
    observed.push(s + noise * gauss());
    if (s >= THRESHOLD) return k > settledStep + 2 * perDay ? { step, observed, signal, breachStep: k, settledStep } : undefined;
  }
  return undefined;
}

interface BreachResult {
  errors: Record<'holt-winters' | 'linear', number[]>;
  origins: number;
}

function evaluateDisks(count: number, seed: number): BreachResult {
  const random = mulberry32(seed);
  const result: BreachResult = { errors: { 'holt-winters': [], linear: [] }, origins: 0 };
  const bar = progress(count, 'disks');
  for (let made = 0; made < count; ) {
    const disk = generateDisk(random);
    if (!disk) continue;
    made++;
    const perDay = DAY / disk.step;
    const maxH = 10 * perDay;
    const hw = createForecaster(disk.step, maxH, DEFAULT_FORECAST_SETTINGS);
    const lr = new LinearForecaster(disk.step, maxH, LR_WINDOW);
    const firstOrigin = disk.settledStep + perDay / 2;
    for (let k = 0; k < disk.breachStep; k++) {
      for (const f of [hw, lr]) {
        f.observe(k * disk.step, disk.observed[k] as number);
        f.flush();
      }
      const remaining = disk.breachStep - k;
      // Origins every 6 hours whose true breach is 1 to 7 days ahead.
      if (k < firstOrigin || remaining < perDay || remaining > 7 * perDay || k % (perDay / 4) !== 0) continue;
      result.origins++;
      for (const [name, f] of [['holt-winters', hw], ['linear', lr]] as const) {
        const from = { t: k * disk.step, value: disk.observed[k] as number };
        const outlook = timeToThreshold(from, f.forecast(maxH), THRESHOLD, 'above', from.t + maxH * disk.step);
        // A breach not seen within 10 days counts as a 100% error.
        const error = outlook.breach ? Math.abs(outlook.breach.at / disk.step - disk.breachStep) / remaining : 1;
        result.errors[name].push(error);
      }
    }
    bar.tick();
  }
  bar.stop();
  return result;
}

// ---------------------------------------------------------------- report

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function main(): void {
  const files = listCsv(args.data).sort();
  const horizons = { '1h': HOUR, '1d': DAY };
  const results: FileResult[] = [];
  const skipped: string[] = [];
  const bar = progress(files.length, 'NAB  ');
  const started = performance.now();
  for (const file of files) {
    const r = evaluateFile(file, horizons, Number(args.origins));
    if (typeof r === 'string') skipped.push(r);
    else results.push(r);
    bar.tick();
  }
  bar.stop();
  const nabSeconds = (performance.now() - started) / 1000;

  console.log(`\nRolling origin on ${results.length} NAB series (${skipped.length} skipped), ${nabSeconds.toFixed(1)} s`);
  for (const s of skipped) console.log(`  skipped ${s}`);
  let allMet = true;
  for (const h of Object.keys(horizons)) {
    console.log(`\nhorizon ${h}          mean MASE  median MASE  geo-mean MASE  80% coverage  forecasts`);
    const summary = Object.fromEntries(
      METHODS.map((m) => {
        const per = results.map((r) => (r.scores[h] as Record<Method, Score & { mase: number }>)[m]);
        const covered = per.reduce((s, x) => s + x.covered, 0);
        const n = per.reduce((s, x) => s + x.n, 0);
        const geoMase = Math.exp(per.reduce((s, x) => s + Math.log(x.mase), 0) / per.length);
        return [m, { mase: per.reduce((s, x) => s + x.mase, 0) / per.length, medianMase: median(per.map((x) => x.mase)), geoMase, coverage: covered / n, n }];
      }),
    ) as Record<Method, { mase: number; medianMase: number; geoMase: number; coverage: number; n: number }>;
    for (const m of METHODS) {
      const s = summary[m];
      console.log(`  ${m.padEnd(16)} ${s.mase.toFixed(3).padStart(9)}  ${s.medianMase.toFixed(3).padStart(11)}  ${s.geoMase.toFixed(3).padStart(13)}  ${pct(s.coverage).padStart(12)}  ${String(s.n).padStart(9)}`);
    }
    const better = Math.min(summary['seasonal-naive'].mase, summary.linear.mase);
    const gain = 1 - summary['holt-winters'].mase / better;
    const cov = summary['holt-winters'].coverage;
    const met = gain >= 0.2 && cov >= 0.75 && cov <= 0.85;
    allMet &&= met;
    console.log(`  holt-winters vs better baseline: ${pct(gain)} lower mean MASE (target >= 20%), coverage ${pct(cov)} (target 75-85%): ${met ? 'met' : 'NOT met'}`);
  }
  if (process.env.BENCH_VERBOSE) {
    for (const r of results) {
      const line = Object.entries(r.scores).map(([h, s]) => `${h} ${METHODS.map((m) => `${s[m].mase.toFixed(2)}/${pct(s[m].covered / s[m].n)}`).join(' ')}`);
      console.log(`  ${r.file.split('/').slice(-1)[0]?.padEnd(45)} ${line.join(' | ')}`);
    }
  }

  const t0 = performance.now();
  const disks = evaluateDisks(Number(args.disks), Number(args.seed));
  console.log(`\nTime to 90% on ${args.disks} synthetic disks (seed ${args.seed}), ${disks.origins} origins 1-7 days before the breach, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  for (const m of ['holt-winters', 'linear'] as const) {
    const e = disks.errors[m];
    console.log(`  ${m.padEnd(16)} median |error| ${pct(median(e))} of remaining time, p90 ${pct([...e].sort((a, b) => a - b)[Math.floor(0.9 * e.length)] as number)}`);
  }
  const breachMet = median(disks.errors['holt-winters']) <= 0.1;
  console.log(`  target median <= 10%: ${breachMet ? 'met' : 'NOT met'}`);
  console.log(`\nall targets ${allMet && breachMet ? 'met' : 'NOT met'}`);
}

main();
