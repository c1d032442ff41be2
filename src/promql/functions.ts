import { PromQLError, type Expr } from './ast.js';
import { evaluate, quantile, withoutName, type Evaluation, type Sample, type Series, type Value } from './engine.js';
import { labelsKey, type Labels } from './storage.js';

type Call = Extract<Expr, { type: 'call' }>;

const vectorOf = (v: Value): Sample[] => {
  if (v.type !== 'vector') throw new PromQLError(`expected an instant vector, got ${v.type}`);
  return v.samples;
};
const matrixOf = (v: Value): Series[] => {
  if (v.type !== 'matrix') throw new PromQLError(`expected a range vector, got ${v.type}`);
  return v.series;
};
const scalarOf = (v: Value): number => {
  if (v.type !== 'scalar') throw new PromQLError(`expected a scalar, got ${v.type}`);
  return v.value;
};
const stringOf = (v: Value): string => {
  if (v.type !== 'string') throw new PromQLError(`expected a string, got ${v.type}`);
  return v.value;
};

function mapVector(args: Value[], ev: Evaluation, f: (v: number, s: Sample) => number): Value {
  return { type: 'vector', samples: vectorOf(args[0] as Value).map((s) => ({ labels: withoutName(s.labels), value: f(s.value, s), t: ev.t })) };
}

function overTime(args: Value[], ev: Evaluation, f: (vs: number[], ts: number[]) => number | undefined, keepName = false): Value {
  const out: Sample[] = [];
  for (const s of matrixOf(args[args.length - 1] as Value)) {
    const value = f(s.vs, s.ts);
    if (value !== undefined) out.push({ labels: keepName ? s.labels : withoutName(s.labels), value, t: ev.t });
  }
  return { type: 'vector', samples: out };
}

/** The range a matrix argument covers, for rate's extrapolation: [start, end] of the selector. */
function rangeOf(arg: Expr, ev: Evaluation): { start: number; end: number; range: number } {
  const inner = arg.type === 'paren' ? arg.expr : arg;
  if (inner.type === 'matrix') {
    const at = inner.vector.at === undefined ? ev.t : inner.vector.at === 'start' ? ev.start : inner.vector.at === 'end' ? ev.end : inner.vector.at;
    const end = at - inner.vector.offset;
    return { start: end - inner.range, end, range: inner.range };
  }
  if (inner.type === 'subquery') {
    const at = inner.at === undefined ? ev.t : inner.at === 'start' ? ev.start : inner.at === 'end' ? ev.end : inner.at;
    const end = at - inner.offset;
    return { start: end - inner.range, end, range: inner.range };
  }
  throw new PromQLError('expected a range vector');
}

/** Prometheus 2.x extrapolatedRate: rate, increase and delta. */
function extrapolatedRate(call: Call, args: Value[], ev: Evaluation, isCounter: boolean, isRate: boolean): Value {
  const { start, end, range } = rangeOf(call.args[0] as Expr, ev);
  return overTime(args, ev, (vs, ts) => {
    if (vs.length < 2) return undefined;
    const first = vs[0] as number;
    const last = vs[vs.length - 1] as number;
    let result = last - first;
    if (isCounter) {
      for (let i = 1; i < vs.length; i++) if ((vs[i] as number) < (vs[i - 1] as number)) result += vs[i - 1] as number;
    }
    let durationToStart = ((ts[0] as number) - start) / 1000;
    const durationToEnd = (end - (ts[ts.length - 1] as number)) / 1000;
    const sampledInterval = ((ts[ts.length - 1] as number) - (ts[0] as number)) / 1000;
    const averageBetween = sampledInterval / (vs.length - 1);
    if (isCounter && result > 0 && first >= 0) {
      const durationToZero = sampledInterval * (first / result);
      if (durationToZero < durationToStart) durationToStart = durationToZero;
    }
    const threshold = averageBetween * 1.1;
    let interval = sampledInterval;
    interval += durationToStart < threshold ? durationToStart : averageBetween / 2;
    interval += durationToEnd < threshold ? durationToEnd : averageBetween / 2;
    result *= interval / sampledInterval;
    return isRate ? result / (range / 1000) : result;
  });
}

function instantRate(args: Value[], ev: Evaluation, isRate: boolean): Value {
  return overTime(args, ev, (vs, ts) => {
    if (vs.length < 2) return undefined;
    const last = vs[vs.length - 1] as number;
    const prev = vs[vs.length - 2] as number;
    let result = isRate && last < prev ? last : last - prev;
    if (!isRate) return result;
    const dt = ((ts[ts.length - 1] as number) - (ts[ts.length - 2] as number)) / 1000;
    if (dt === 0) return undefined;
    result /= dt;
    return result;
  });
}

function linearRegression(vs: number[], ts: number[], interceptTime: number): [slope: number, intercept: number] {
  let n = 0;
  let sumX = 0;
  let sumY = 0;
  let sumXY = 0;
  let sumX2 = 0;
  for (let i = 0; i < vs.length; i++) {
    const x = ((ts[i] as number) - interceptTime) / 1000;
    const y = vs[i] as number;
    n++;
    sumX += x;
    sumY += y;
    sumXY += x * y;
    sumX2 += x * x;
  }
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  const intercept = sumY / n - (slope * sumX) / n;
  return [slope, intercept];
}

function bucketQuantile(q: number, buckets: { upper: number; count: number }[]): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  buckets.sort((a, b) => a.upper - b.upper);
  if (buckets.at(-1)?.upper !== Number.POSITIVE_INFINITY) return Number.NaN;
  // Coalesce buckets with the same bound, then force counts to be monotonic.
  const merged: { upper: number; count: number }[] = [];
  for (const b of buckets) {
    const last = merged.at(-1);
    if (last && last.upper === b.upper) last.count += b.count;
    else merged.push({ ...b });
  }
  let max = Number.NEGATIVE_INFINITY;
  for (const b of merged) {
    if (b.count > max) max = b.count;
    else b.count = max;
  }
  if (merged.length < 2) return Number.NaN;
  const observations = (merged.at(-1) as { count: number }).count;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  let b = merged.slice(0, -1).findIndex((x) => x.count >= rank);
  if (b < 0) b = merged.length - 1;
  if (b === merged.length - 1) return (merged[merged.length - 2] as { upper: number }).upper;
  if (b === 0 && (merged[0] as { upper: number }).upper <= 0) return (merged[0] as { upper: number }).upper;
  let bucketStart = 0;
  const bucketEnd = (merged[b] as { upper: number }).upper;
  let count = (merged[b] as { count: number }).count;
  if (b > 0) {
    bucketStart = (merged[b - 1] as { upper: number }).upper;
    count -= (merged[b - 1] as { count: number }).count;
    rank -= (merged[b - 1] as { count: number }).count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}

function absentLabels(arg: Expr): Labels {
  const inner = arg.type === 'paren' ? arg.expr : arg;
  const selector = inner.type === 'vector' ? inner : inner.type === 'matrix' ? inner.vector : undefined;
  const labels: Labels = {};
  if (!selector) return labels;
  const seen = new Set<string>();
  for (const m of selector.matchers) {
    if (m.name === '__name__') continue;
    if (m.op === '=' && !seen.has(m.name)) labels[m.name] = m.value;
    else delete labels[m.name];
    if (m.op === '=') {
      if (seen.has(m.name)) delete labels[m.name];
      seen.add(m.name);
    }
  }
  return labels;
}

function dateFunction(args: Value[], ev: Evaluation, f: (d: Date) => number): Value {
  if (args.length === 0) return { type: 'vector', samples: [{ labels: {}, value: f(new Date(ev.t)), t: ev.t }] };
  return mapVector(args, ev, (v) => f(new Date(v * 1000)));
}

export function callFunction(call: Call, ev: Evaluation): Value {
  const args = call.args.map((a) => evaluate(a, ev));
  const math = (f: (v: number) => number) => mapVector(args, ev, f);
  switch (call.func) {
    case 'abs': return math(Math.abs);
    case 'ceil': return math(Math.ceil);
    case 'floor': return math(Math.floor);
    case 'exp': return math(Math.exp);
    case 'ln': return math(Math.log);
    case 'log2': return math(Math.log2);
    case 'log10': return math(Math.log10);
    case 'sqrt': return math(Math.sqrt);
    case 'sgn': return math(Math.sign);
    case 'acos': return math(Math.acos);
    case 'acosh': return math(Math.acosh);
    case 'asin': return math(Math.asin);
    case 'asinh': return math(Math.asinh);
    case 'atan': return math(Math.atan);
    case 'atanh': return math(Math.atanh);
    case 'cos': return math(Math.cos);
    case 'cosh': return math(Math.cosh);
    case 'sin': return math(Math.sin);
    case 'sinh': return math(Math.sinh);
    case 'tan': return math(Math.tan);
    case 'tanh': return math(Math.tanh);
    case 'deg': return math((v) => (v * 180) / Math.PI);
    case 'rad': return math((v) => (v * Math.PI) / 180);
    case 'round': {
      const to = args[1] ? scalarOf(args[1]) : 1;
      return math((v) => Math.floor(v / to + 0.5) * to);
    }
    case 'clamp': {
      const [lo, hi] = [scalarOf(args[1] as Value), scalarOf(args[2] as Value)];
      if (lo > hi) return { type: 'vector', samples: [] };
      return math((v) => Math.max(lo, Math.min(hi, v)));
    }
    case 'clamp_max': return math((v) => Math.min(v, scalarOf(args[1] as Value)));
    case 'clamp_min': return math((v) => Math.max(v, scalarOf(args[1] as Value)));
    case 'absent': {
      if (vectorOf(args[0] as Value).length > 0) return { type: 'vector', samples: [] };
      return { type: 'vector', samples: [{ labels: absentLabels(call.args[0] as Expr), value: 1, t: ev.t }] };
    }
    case 'absent_over_time': {
      if (matrixOf(args[0] as Value).length > 0) return { type: 'vector', samples: [] };
      return { type: 'vector', samples: [{ labels: absentLabels(call.args[0] as Expr), value: 1, t: ev.t }] };
    }
    case 'present_over_time': return overTime(args, ev, () => 1);
    case 'avg_over_time': return overTime(args, ev, (vs) => vs.reduce((a, b) => a + b, 0) / vs.length);
    case 'count_over_time': return overTime(args, ev, (vs) => vs.length);
    case 'last_over_time': return overTime(args, ev, (vs) => vs[vs.length - 1], true);
    case 'max_over_time': return overTime(args, ev, (vs) => vs.reduce((a, b) => (Number.isNaN(a) || b > a ? b : a)));
    case 'min_over_time': return overTime(args, ev, (vs) => vs.reduce((a, b) => (Number.isNaN(a) || b < a ? b : a)));
    case 'sum_over_time': return overTime(args, ev, (vs) => vs.reduce((a, b) => a + b, 0));
    case 'stddev_over_time':
    case 'stdvar_over_time':
      return overTime(args, ev, (vs) => {
        const mean = vs.reduce((a, b) => a + b, 0) / vs.length;
        const variance = vs.reduce((a, b) => a + (b - mean) ** 2, 0) / vs.length;
        return call.func === 'stddev_over_time' ? Math.sqrt(variance) : variance;
      });
    case 'quantile_over_time': {
      const q = scalarOf(args[0] as Value);
      return overTime(args, ev, (vs) => quantile(q, vs));
    }
    case 'changes': return overTime(args, ev, (vs) => vs.slice(1).filter((v, i) => v !== vs[i] && !(Number.isNaN(v) && Number.isNaN(vs[i] as number))).length);
    case 'resets': return overTime(args, ev, (vs) => vs.slice(1).filter((v, i) => v < (vs[i] as number)).length);
    case 'rate': return extrapolatedRate(call, args, ev, true, true);
    case 'increase': return extrapolatedRate(call, args, ev, true, false);
    case 'delta': return extrapolatedRate(call, args, ev, false, false);
    case 'irate': return instantRate(args, ev, true);
    case 'idelta': return instantRate(args, ev, false);
    case 'deriv': return overTime(args, ev, (vs, ts) => (vs.length < 2 ? undefined : linearRegression(vs, ts, ts[0] as number)[0]));
    case 'predict_linear': {
      const duration = scalarOf(args[1] as Value);
      return overTime([args[0] as Value], ev, (vs, ts) => {
        if (vs.length < 2) return undefined;
        const [slope, intercept] = linearRegression(vs, ts, ev.t);
        return slope * duration + intercept;
      });
    }
    case 'histogram_quantile': {
      const q = scalarOf(args[0] as Value);
      const groups = new Map<string, { labels: Labels; buckets: { upper: number; count: number }[] }>();
      for (const s of vectorOf(args[1] as Value)) {
        const le = s.labels.le;
        if (le === undefined) continue;
        const upper = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
        if (Number.isNaN(upper)) continue;
        const { le: _le, ...rest } = withoutName(s.labels);
        const key = labelsKey(rest);
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { labels: rest, buckets: [] }));
        g.buckets.push({ upper, count: s.value });
      }
      return { type: 'vector', samples: [...groups.values()].map((g) => ({ labels: g.labels, value: bucketQuantile(q, g.buckets), t: ev.t })) };
    }
    case 'label_replace': {
      const [dst, replacement, src, regex] = args.slice(1).map(stringOf) as [string, string, string, string];
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${regex})$`, 's');
      } catch (err) {
        throw new PromQLError(`invalid regular expression in label_replace(): ${regex}: ${(err as Error).message}`);
      }
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(dst)) throw new PromQLError(`invalid destination label name in label_replace(): ${dst}`);
      const samples = vectorOf(args[0] as Value).map((s) => {
        const match = re.exec(s.labels[src] ?? '');
        if (!match) return s;
        const value = expandGoReplacement(replacement, match);
        const labels = { ...s.labels };
        if (value === '') delete labels[dst];
        else labels[dst] = value;
        return { ...s, labels };
      });
      return checkUnique({ type: 'vector', samples }, 'label_replace');
    }
    case 'label_join': {
      const [dst, sep, ...srcs] = args.slice(1).map(stringOf) as [string, string, ...string[]];
      const samples = vectorOf(args[0] as Value).map((s) => {
        const value = srcs.map((n) => s.labels[n] ?? '').join(sep);
        const labels = { ...s.labels };
        if (value === '') delete labels[dst];
        else labels[dst] = value;
        return { ...s, labels };
      });
      return checkUnique({ type: 'vector', samples }, 'label_join');
    }
    case 'pi': return { type: 'scalar', value: Math.PI };
    case 'time': return { type: 'scalar', value: ev.t / 1000 };
    case 'scalar': {
      const v = vectorOf(args[0] as Value);
      return { type: 'scalar', value: v.length === 1 ? (v[0] as Sample).value : Number.NaN };
    }
    case 'vector': return { type: 'vector', samples: [{ labels: {}, value: scalarOf(args[0] as Value), t: ev.t }] };
    case 'sort': return { type: 'vector', samples: [...vectorOf(args[0] as Value)].sort((a, b) => a.value - b.value) };
    case 'sort_desc': return { type: 'vector', samples: [...vectorOf(args[0] as Value)].sort((a, b) => b.value - a.value) };
    case 'timestamp': {
      const inner = call.args[0] as Expr;
      const raw = (inner.type === 'paren' ? inner.expr : inner).type === 'vector';
      return mapVector(args, ev, (_v, s) => (raw ? s.t : ev.t) / 1000);
    }
    case 'day_of_month': return dateFunction(args, ev, (d) => d.getUTCDate());
    case 'day_of_week': return dateFunction(args, ev, (d) => d.getUTCDay());
    case 'day_of_year': return dateFunction(args, ev, (d) => Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1);
    case 'days_in_month': return dateFunction(args, ev, (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate());
    case 'hour': return dateFunction(args, ev, (d) => d.getUTCHours());
    case 'minute': return dateFunction(args, ev, (d) => d.getUTCMinutes());
    case 'month': return dateFunction(args, ev, (d) => d.getUTCMonth() + 1);
    case 'year': return dateFunction(args, ev, (d) => d.getUTCFullYear());
    default:
      throw new PromQLError(`function ${call.func} is not supported by Vigil's evaluator`);
  }
}

/** Go's regexp Expand: $1, ${1}, $name. */
function expandGoReplacement(template: string, match: RegExpExecArray): string {
  return template.replace(/\$(\$|\{(\w+)\}|(\w+))/g, (whole, _all: string, braced: string | undefined, bare: string | undefined) => {
    if (whole === '$$') return '$';
    const name = braced ?? bare ?? '';
    if (/^\d+$/.test(name)) return match[Number(name)] ?? '';
    return match.groups?.[name] ?? '';
  });
}

function checkUnique(v: Extract<Value, { type: 'vector' }>, func: string): Value {
  const seen = new Set<string>();
  for (const s of v.samples) {
    const key = labelsKey(s.labels);
    if (seen.has(key)) throw new PromQLError(`vector cannot contain metrics with the same labelset (${func})`);
    seen.add(key);
  }
  return v;
}
