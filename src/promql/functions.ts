import type { Call, Expr } from './ast.js';
import type { Evaluation } from './engine.js';
import { isInfinite, nanLast, quantile } from './engine.js';
import { LABEL_NAME_RE, labelsKey, METRIC_NAME, withoutName, type Labels } from './labels.js';
import { anchoredRegex } from './parser.js';
import type { Sample } from './storage.js';
import { PromQLEvalError, type Matrix, type Value, type VectorSample } from './values.js';

type InstantFn = (samples: VectorSample[], args: Value[], t: number) => VectorSample[];
type RangeFn = (points: Sample[], matrix: Matrix, args: Value[], t: number) => number | undefined;

function unwrap(e: Expr): Expr {
  return e.kind === 'paren' ? unwrap(e.expr) : e;
}

function scalarArg(args: Value[], i: number): number {
  const a = args[i];
  return a?.type === 'scalar' ? a.v : NaN;
}

function stringArg(args: Value[], i: number): string {
  const a = args[i];
  return a?.type === 'string' ? a.s : '';
}

/** A function applied to each element's value; the metric name is dropped, as Prometheus does. */
function mapValues(fn: (v: number, args: Value[]) => number): InstantFn {
  return (samples, args) => samples.map((s) => ({ labels: withoutName(s.labels), v: fn(s.v, args) }));
}

function dateFn(fn: (d: Date) => number): InstantFn {
  return (samples) => samples.map((s) => ({ labels: withoutName(s.labels), v: fn(new Date(Math.trunc(s.v) * 1000)) }));
}

const INSTANT_FUNCTIONS: Record<string, InstantFn> = {
  abs: mapValues(Math.abs),
  ceil: mapValues(Math.ceil),
  floor: mapValues(Math.floor),
  exp: mapValues(Math.exp),
  sqrt: mapValues(Math.sqrt),
  ln: mapValues(Math.log),
  log2: mapValues(Math.log2),
  log10: mapValues(Math.log10),
  sgn: mapValues((v) => (v > 0 ? 1 : v < 0 ? -1 : v)),
  deg: mapValues((v) => (v * 180) / Math.PI),
  rad: mapValues((v) => (v * Math.PI) / 180),
  acos: mapValues(Math.acos), acosh: mapValues(Math.acosh), asin: mapValues(Math.asin), asinh: mapValues(Math.asinh),
  atan: mapValues(Math.atan), atanh: mapValues(Math.atanh), cos: mapValues(Math.cos), cosh: mapValues(Math.cosh),
  sin: mapValues(Math.sin), sinh: mapValues(Math.sinh), tan: mapValues(Math.tan), tanh: mapValues(Math.tanh),
  round: mapValues((v, args) => {
    const toNearest = args.length > 1 ? scalarArg(args, 1) : 1;
    const inverse = 1 / toNearest;
    return Math.floor(v * inverse + 0.5) / inverse;
  }),
  clamp: (samples, args) => {
    const [min, max] = [scalarArg(args, 1), scalarArg(args, 2)];
    if (max < min) return [];
    return samples.map((s) => ({ labels: withoutName(s.labels), v: Math.max(min, Math.min(max, s.v)) }));
  },
  clamp_max: mapValues((v, args) => Math.min(v, scalarArg(args, 1))),
  clamp_min: mapValues((v, args) => Math.max(v, scalarArg(args, 1))),
  day_of_month: dateFn((d) => d.getUTCDate()),
  day_of_week: dateFn((d) => d.getUTCDay()),
  day_of_year: dateFn((d) => (Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000 + 1),
  days_in_month: dateFn((d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate()),
  hour: dateFn((d) => d.getUTCHours()),
  minute: dateFn((d) => d.getUTCMinutes()),
  month: dateFn((d) => d.getUTCMonth() + 1),
  year: dateFn((d) => d.getUTCFullYear()),
  timestamp: (samples, _args, t) => samples.map((s) => ({ labels: withoutName(s.labels), v: t / 1000 })),
  sort: (samples) => samples.slice().sort((a, b) => nanLast(a.v, b.v, 1)),
  sort_desc: (samples) => samples.slice().sort((a, b) => nanLast(a.v, b.v, -1)),
  histogram_quantile: histogramQuantile,
  label_replace: labelReplace,
  label_join: labelJoin,
  // These read native histograms only, which this storage does not hold: float series give no result, as in Prometheus.
  histogram_count: () => [],
  histogram_sum: () => [],
  histogram_fraction: () => [],
};

function kahanSumInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  return [t, c];
}

/** Least-squares fit of the points against time in seconds relative to interceptTime (functions.go linearRegression). */
function linearRegression(points: Sample[], interceptTime: number): [slope: number, intercept: number] {
  let n = 0;
  let [sumX, cX, sumY, cY, sumXY, cXY, sumX2, cX2] = [0, 0, 0, 0, 0, 0, 0, 0];
  const initY = points[0]!.v;
  let constY = true;
  points.forEach((p, i) => {
    if (constY && i > 0 && p.v !== initY) constY = false;
    n += 1;
    const x = (p.t - interceptTime) / 1e3;
    [sumX, cX] = kahanSumInc(x, sumX, cX);
    [sumY, cY] = kahanSumInc(p.v, sumY, cY);
    [sumXY, cXY] = kahanSumInc(x * p.v, sumXY, cXY);
    [sumX2, cX2] = kahanSumInc(x * x, sumX2, cX2);
  });
  if (constY) return isInfinite(initY) ? [NaN, NaN] : [0, initY];
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return [slope, sumY / n - (slope * sumX) / n];
}

/** rate, increase and delta: the change over the points, extrapolated towards the window edges (functions.go extrapolatedRate). */
function extrapolatedRate(isCounter: boolean, isRate: boolean): RangeFn {
  return (points, matrix) => {
    if (points.length < 2) return undefined;
    const first = points[0]!;
    const last = points[points.length - 1]!;
    let result = last.v - first.v;
    if (isCounter) {
      let prev = 0;
      for (const p of points) {
        if (p.v < prev) result += prev;
        prev = p.v;
      }
    }
    let durationToStart = (first.t - matrix.rangeStart) / 1000;
    const durationToEnd = (matrix.rangeEnd - last.t) / 1000;
    const sampledInterval = (last.t - first.t) / 1000;
    const averageBetween = sampledInterval / (points.length - 1);
    if (isCounter && result > 0 && first.v >= 0) {
      const durationToZero = sampledInterval * (first.v / result);
      if (durationToZero < durationToStart) durationToStart = durationToZero;
    }
    const threshold = averageBetween * 1.1;
    let extrapolateTo = sampledInterval;
    extrapolateTo += durationToStart < threshold ? durationToStart : averageBetween / 2;
    extrapolateTo += durationToEnd < threshold ? durationToEnd : averageBetween / 2;
    result *= extrapolateTo / sampledInterval;
    if (isRate) result /= matrix.range / 1000;
    return result;
  };
}

function instantValue(isRate: boolean): RangeFn {
  return (points) => {
    if (points.length < 2) return undefined;
    const last = points[points.length - 1]!;
    const prev = points[points.length - 2]!;
    let result = isRate && last.v < prev.v ? last.v : last.v - prev.v;
    const interval = last.t - prev.t;
    if (interval === 0) return undefined;
    if (isRate) result /= interval / 1000;
    return result;
  };
}

function overValues(fn: (values: number[]) => number): RangeFn {
  return (points) => fn(points.map((p) => p.v));
}

const RANGE_FUNCTIONS: Record<string, RangeFn> = {
  rate: extrapolatedRate(true, true),
  increase: extrapolatedRate(true, false),
  delta: extrapolatedRate(false, false),
  irate: instantValue(true),
  idelta: instantValue(false),
  deriv: (points) => (points.length < 2 ? undefined : linearRegression(points, points[0]!.t)[0]),
  predict_linear: (points, _m, args, t) => {
    if (points.length < 2) return undefined;
    const [slope, intercept] = linearRegression(points, t);
    return intercept + slope * scalarArg(args, 1);
  },
  changes: overValues((vs) => vs.reduce((n, v, i) => (i > 0 && v !== vs[i - 1] && !(Number.isNaN(v) && Number.isNaN(vs[i - 1]!)) ? n + 1 : n), 0)),
  resets: overValues((vs) => vs.reduce((n, v, i) => (i > 0 && v < vs[i - 1]! ? n + 1 : n), 0)),
  avg_over_time: overValues((vs) => {
    let [mean, c, count] = [0, 0, 0];
    for (const v of vs) {
      count++;
      if (isInfinite(mean) && ((isInfinite(v) && mean > 0 === v > 0) || Number.isFinite(v))) continue;
      [mean, c] = kahanSumInc(v / count - mean / count, mean, c);
    }
    return isInfinite(mean) ? mean : mean + c;
  }),
  sum_over_time: overValues((vs) => {
    let [sum, c] = [0, 0];
    for (const v of vs) [sum, c] = kahanSumInc(v, sum, c);
    return isInfinite(sum) ? sum : sum + c;
  }),
  count_over_time: overValues((vs) => vs.length),
  min_over_time: overValues((vs) => vs.reduce((min, v) => (v < min || Number.isNaN(min) ? v : min))),
  max_over_time: overValues((vs) => vs.reduce((max, v) => (v > max || Number.isNaN(max) ? v : max))),
  last_over_time: (points) => points[points.length - 1]!.v,
  present_over_time: () => 1,
  quantile_over_time: (points, _m, args) => quantile(scalarArg(args, 0), points.map((p) => p.v)),
  stddev_over_time: overValues((vs) => Math.sqrt(welfordVariance(vs))),
  stdvar_over_time: overValues(welfordVariance),
  holt_winters: (points, _m, args) => {
    const [sf, tf] = [scalarArg(args, 1), scalarArg(args, 2)];
    if (!(sf > 0 && sf < 1)) throw new PromQLEvalError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf}`);
    if (!(tf > 0 && tf < 1)) throw new PromQLEvalError(`invalid trend factor. Expected: 0 < tf < 1, got: ${tf}`);
    if (points.length < 2) return undefined;
    let s0 = 0;
    let s1 = points[0]!.v;
    let b = points[1]!.v - points[0]!.v;
    for (let i = 1; i < points.length; i++) {
      const x = sf * points[i]!.v;
      if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b;
      const y = (1 - sf) * (s1 + b);
      [s0, s1] = [s1, x + y];
    }
    return s1;
  },
};

/** Welford's variance with Kahan-compensated sums, as stddev_over_time / stdvar_over_time compute it. */
function welfordVariance(vs: number[]): number {
  let [count, mean, cMean, aux, cAux] = [0, 0, 0, 0, 0];
  for (const v of vs) {
    count++;
    const delta = v - (mean + cMean);
    [mean, cMean] = kahanSumInc(delta / count, mean, cMean);
    [aux, cAux] = kahanSumInc(delta * (v - (mean + cMean)), aux, cAux);
  }
  return (aux + cAux) / count;
}

/** The labels absent() reports: the selector's equality matchers, except names matched more than once or otherwise. */
function absentLabels(arg: Expr): Labels {
  const e = unwrap(arg);
  const selector = e.kind === 'vector' ? e : e.kind === 'matrix' ? e.selector : undefined;
  const out: Record<string, string> = {};
  const drop: string[] = [];
  for (const m of selector?.matchers ?? []) {
    if (m.name === METRIC_NAME) continue;
    if (m.type === '=' && !(m.name in out)) {
      if (m.value !== '') out[m.name] = m.value;
    } else drop.push(m.name);
  }
  for (const n of drop) delete out[n];
  return out;
}

/** Evaluates a function call at time t. */
export function callFunction(e: Call, t: number, ev: Evaluation): Value {
  switch (e.func) {
    case 'time': return { type: 'scalar', v: t / 1000 };
    case 'pi': return { type: 'scalar', v: Math.PI };
    case 'vector': return { type: 'vector', samples: [{ labels: {}, v: scalarArg([ev.eval(e.args[0]!, t)], 0) }] };
    case 'scalar': {
      const samples = ev.vector(ev.eval(e.args[0]!, t));
      return { type: 'scalar', v: samples.length === 1 ? samples[0]!.v : NaN };
    }
    case 'absent': {
      const samples = ev.vector(ev.eval(e.args[0]!, t));
      return { type: 'vector', samples: samples.length > 0 ? [] : [{ labels: absentLabels(e.args[0]!), v: 1 }] };
    }
    case 'absent_over_time': {
      const m = ev.evalMatrix(e.args[0]!, t);
      return { type: 'vector', samples: m.series.length > 0 ? [] : [{ labels: absentLabels(e.args[0]!), v: 1 }] };
    }
    case 'timestamp': {
      // The sample's own timestamp for a plain selector; otherwise the evaluation time.
      const arg = unwrap(e.args[0]!);
      if (arg.kind === 'vector') return { type: 'vector', samples: ev.selectInstant(arg, t).map(({ labels, sample }) => ({ labels: withoutName(labels), v: sample.t / 1000 })) };
      break;
    }
    default: break;
  }
  const rangeFn = RANGE_FUNCTIONS[e.func];
  if (rangeFn) {
    const matrixIndex = e.args.findIndex((a) => unwrap(a).kind === 'matrix' || unwrap(a).kind === 'subquery');
    const args = e.args.map((a, i) => (i === matrixIndex ? ({ type: 'scalar', v: NaN } as Value) : ev.eval(a, t)));
    const matrix = ev.evalMatrix(e.args[matrixIndex]!, t);
    const samples: VectorSample[] = [];
    for (const series of matrix.series) {
      const v = rangeFn(series.points, matrix, args, t);
      if (v === undefined) continue;
      samples.push({ labels: e.func === 'last_over_time' ? series.labels : withoutName(series.labels), v });
    }
    return { type: 'vector', samples };
  }
  const fn = INSTANT_FUNCTIONS[e.func];
  if (!fn) throw new PromQLEvalError(`function "${e.func}" is not supported`);
  const args = e.args.map((a) => ev.eval(a, t));
  // Date functions without an argument apply to vector(time()).
  const vector = args.find((a) => a.type === 'vector');
  const vectorArg = vector ? ev.vector(vector) : [{ labels: {}, v: t / 1000 }];
  return { type: 'vector', samples: fn(vectorArg, args, t) };
}

interface Bucket {
  upperBound: number;
  count: number;
}

/** histogram_quantile over classic `le` buckets (functions.go funcHistogramQuantile / bucketQuantile). */
function histogramQuantile(samples: VectorSample[], args: Value[]): VectorSample[] {
  const q = scalarArg(args, 0);
  const groups = new Map<string, { labels: Labels; buckets: Bucket[] }>();
  for (const s of samples) {
    const upperBound = parseGoFloat(s.labels.le ?? '');
    if (upperBound === undefined) continue;
    // Grouped by every label but `le`, the metric name included; the output drops both.
    const { le: _le, ...rest } = s.labels;
    const key = labelsKey(rest);
    let g = groups.get(key);
    if (!g) {
      g = { labels: withoutName(rest), buckets: [] };
      groups.set(key, g);
    }
    g.buckets.push({ upperBound, count: s.v });
  }
  return [...groups.values()].map((g) => ({ labels: g.labels, v: bucketQuantile(q, g.buckets) }));
}

function bucketQuantile(q: number, input: Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = input.slice().sort((a, b) => a.upperBound - b.upperBound);
  if (sorted.length === 0 || sorted[sorted.length - 1]!.upperBound !== Infinity) return NaN;
  const buckets: Bucket[] = [];
  for (const b of sorted) {
    const last = buckets[buckets.length - 1];
    if (last && last.upperBound === b.upperBound) last.count += b.count;
    else buckets.push({ ...b });
  }
  let max = -Infinity;
  for (const b of buckets) {
    if (b.count > max) max = b.count;
    else if (b.count < max) b.count = max;
  }
  if (buckets.length < 2) return NaN;
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0) return NaN;
  let rank = q * observations;
  let b = buckets.length - 1;
  for (let i = 0; i < buckets.length - 1; i++) {
    if (buckets[i]!.count >= rank) {
      b = i;
      break;
    }
  }
  if (b === buckets.length - 1) return buckets[buckets.length - 2]!.upperBound;
  if (b === 0 && buckets[0]!.upperBound <= 0) return buckets[0]!.upperBound;
  let bucketStart = 0;
  const bucketEnd = buckets[b]!.upperBound;
  let count = buckets[b]!.count;
  if (b > 0) {
    bucketStart = buckets[b - 1]!.upperBound;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}

/** Go's strconv.ParseFloat, or undefined when the text is not a number. */
export function parseGoFloat(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (/^[+-]?(inf|infinity)$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (t === 'nan') return NaN;
  if (/^[+-]?0x[0-9a-f]+$/.test(t)) return (t.startsWith('-') ? -1 : 1) * parseInt(t.replace(/^[+-]?0x/, ''), 16);
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return Number(t);
  return undefined;
}

function labelReplace(samples: VectorSample[], args: Value[]): VectorSample[] {
  const [dst, replacement, src, pattern] = [1, 2, 3, 4].map((i) => stringArg(args, i)) as [string, string, string, string];
  let re: RegExp;
  try {
    re = anchoredRegex(pattern);
  } catch (err) {
    throw new PromQLEvalError(`invalid regular expression in label_replace(): ${pattern}`, { cause: err });
  }
  if (!LABEL_NAME_RE.test(dst)) throw new PromQLEvalError(`invalid destination label name in label_replace(): ${dst}`);
  return samples.map((s) => {
    const match = re.exec(s.labels[src] ?? '');
    if (!match) return s;
    const value = expandTemplate(replacement, match);
    const labels: Record<string, string> = { ...s.labels };
    if (value === '') delete labels[dst];
    else labels[dst] = value;
    return { labels, v: s.v };
  });
}

/** Go's regexp.Expand: $1, ${1}, $name, ${name}, $$. */
function expandTemplate(template: string, match: RegExpExecArray): string {
  return template.replace(/\$(\$|\{([a-zA-Z0-9_]+)\}|([a-zA-Z0-9_]+))/g, (_all, whole: string, braced?: string, bare?: string) => {
    if (whole === '$') return '$';
    const name = braced ?? bare ?? '';
    if (/^\d+$/.test(name)) return match[Number(name)] ?? '';
    return match.groups?.[name] ?? '';
  });
}

function labelJoin(samples: VectorSample[], args: Value[]): VectorSample[] {
  const dst = stringArg(args, 1);
  const sep = stringArg(args, 2);
  const srcs = args.slice(3).map((a) => (a.type === 'string' ? a.s : ''));
  for (const src of srcs) if (!LABEL_NAME_RE.test(src)) throw new PromQLEvalError(`invalid source label name in label_join(): ${src}`);
  if (!LABEL_NAME_RE.test(dst)) throw new PromQLEvalError(`invalid destination label name in label_join(): ${dst}`);
  return samples.map((s) => {
    const value = srcs.map((n) => s.labels[n] ?? '').join(sep);
    const labels: Record<string, string> = { ...s.labels };
    if (value === '') delete labels[dst];
    else labels[dst] = value;
    return { labels, v: s.v };
  });
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64): shortest digits, never an exponent. */
export function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const [mantissa, expText] = Math.abs(v).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const dp = Number(expText) + 1;
  let out: string;
  if (dp <= 0) out = `0.${'0'.repeat(-dp)}${digits}`;
  else if (dp >= digits.length) out = digits + '0'.repeat(dp - digits.length);
  else out = `${digits.slice(0, dp)}.${digits.slice(dp)}`;
  return (v < 0 || Object.is(v, -0) ? '-' : '') + out;
}
