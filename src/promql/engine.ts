import { PromQLError, type At, type Expr, type VectorMatching, type VectorSelector } from './ast.js';
import { callFunction } from './functions.js';
import { COMPARISON_OPS, SET_OPS } from './parser.js';
import { labelsKey, lastIndexAtOrBefore, type Labels, type MemoryStorage } from './storage.js';

export interface Sample {
  labels: Labels;
  value: number;
  /** The sample's own time for raw selections (what `timestamp()` reports), else the evaluation time. */
  t: number;
}
export interface Series {
  labels: Labels;
  ts: number[];
  vs: number[];
}
export type Value =
  | { type: 'scalar'; value: number }
  | { type: 'string'; value: string }
  | { type: 'vector'; samples: Sample[] }
  | { type: 'matrix'; series: Series[] };

export interface EvalOptions {
  /** Ignore samples after this time (promtool feeds samples up to each evaluation). */
  maxT?: number;
  lookbackMs?: number;
  subqueryStepMs?: number;
}

/** What one evaluation step sees. */
export interface Evaluation {
  storage: MemoryStorage;
  t: number;
  start: number;
  end: number;
  lookbackMs: number;
  maxT: number;
  /** Step of subqueries written without one (`[5m:]`): the evaluation interval. */
  subqueryStepMs: number;
}

const DEFAULT_LOOKBACK = 5 * 60_000;

/** Evaluates `expr` as an instant query at `t` (ms), with Prometheus 2.x semantics (closed lookback and range windows). */
export function evaluateInstant(expr: Expr, storage: MemoryStorage, t: number, options: EvalOptions = {}): Value {
  return evaluate(expr, { storage, t, start: t, end: t, lookbackMs: options.lookbackMs ?? DEFAULT_LOOKBACK, maxT: options.maxT ?? Number.POSITIVE_INFINITY, subqueryStepMs: options.subqueryStepMs ?? 60_000 });
}

export function withoutName(labels: Labels): Labels {
  if (!('__name__' in labels)) return labels;
  const { __name__: _name, ...rest } = labels;
  return rest;
}

function atTime(at: At | undefined, ev: Evaluation): number {
  if (at === undefined) return ev.t;
  if (at === 'start') return ev.start;
  if (at === 'end') return ev.end;
  return at;
}

function selectInstant(sel: VectorSelector, ev: Evaluation): Sample[] {
  const ref = atTime(sel.at, ev) - sel.offset;
  const out: Sample[] = [];
  for (const s of ev.storage.select(sel.matchers)) {
    const i = lastIndexAtOrBefore(s.ts, Math.min(ref, ev.maxT));
    if (i < 0 || s.stale[i]) continue;
    const st = s.ts[i] as number;
    if (st < ref - ev.lookbackMs) continue;
    out.push({ labels: s.labels, value: s.vs[i] as number, t: st });
  }
  return out;
}

function selectRange(sel: VectorSelector, range: number, ev: Evaluation): Series[] {
  const end = atTime(sel.at, ev) - sel.offset;
  const start = end - range;
  const out: Series[] = [];
  for (const s of ev.storage.select(sel.matchers)) {
    const ts: number[] = [];
    const vs: number[] = [];
    const last = lastIndexAtOrBefore(s.ts, Math.min(end, ev.maxT));
    for (let i = last; i >= 0 && (s.ts[i] as number) >= start; i--) {
      if (s.stale[i]) continue;
      ts.push(s.ts[i] as number);
      vs.push(s.vs[i] as number);
    }
    if (ts.length === 0) continue;
    ts.reverse();
    vs.reverse();
    out.push({ labels: s.labels, ts, vs });
  }
  return out;
}

function subquery(e: Extract<Expr, { type: 'subquery' }>, ev: Evaluation): Series[] {
  const end = atTime(e.at, ev) - e.offset;
  const step = e.step || ev.subqueryStepMs;
  // Steps are aligned to multiples of the step, as Prometheus does.
  let t = Math.floor((end - e.range) / step) * step;
  if (t < end - e.range) t += step;
  const bySeries = new Map<string, Series>();
  for (; t <= end; t += step) {
    const value = evaluate(e.expr, { ...ev, t });
    if (value.type !== 'vector') throw new PromQLError('subquery of a non-vector');
    for (const s of value.samples) {
      const key = labelsKey(s.labels);
      let series = bySeries.get(key);
      if (!series) bySeries.set(key, (series = { labels: s.labels, ts: [], vs: [] }));
      series.ts.push(t);
      series.vs.push(s.value);
    }
  }
  return [...bySeries.values()];
}

export function evaluate(expr: Expr, ev: Evaluation): Value {
  switch (expr.type) {
    case 'number':
      return { type: 'scalar', value: expr.value };
    case 'string':
      return { type: 'string', value: expr.value };
    case 'paren':
      return evaluate(expr.expr, ev);
    case 'vector':
      return { type: 'vector', samples: selectInstant(expr, ev) };
    case 'matrix':
      return { type: 'matrix', series: selectRange(expr.vector, expr.range, ev) };
    case 'subquery':
      return { type: 'matrix', series: subquery(expr, ev) };
    case 'unary': {
      const v = evaluate(expr.expr, ev);
      if (expr.op === '+') return v;
      if (v.type === 'scalar') return { type: 'scalar', value: -v.value };
      if (v.type === 'vector') return { type: 'vector', samples: v.samples.map((s) => ({ labels: withoutName(s.labels), value: -s.value, t: ev.t })) };
      throw new PromQLError('unary minus on a non-numeric value');
    }
    case 'call':
      return callFunction(expr, ev);
    case 'aggregate':
      return aggregate(expr, ev);
    case 'binary':
      return binary(expr, ev);
  }
}

// ---------- binary operators ----------

function arithmetic(op: string, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '^':
      return a ** b;
    case 'atan2':
      return Math.atan2(a, b);
  }
  throw new PromQLError(`unknown operator ${op}`);
}

function compare(op: string, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
  throw new PromQLError(`unknown comparison ${op}`);
}

function signature(labels: Labels, m: VectorMatching | undefined): string {
  const on = m?.on ?? false;
  const names = m?.labels ?? [];
  const keep: Labels = {};
  if (on) {
    for (const n of names) if (labels[n] !== undefined && labels[n] !== '') keep[n] = labels[n];
  } else {
    for (const [k, v] of Object.entries(labels)) if (k !== '__name__' && !names.includes(k)) keep[k] = v;
  }
  return labelsKey(keep);
}

function formatLabels(labels: Labels): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`)
    .join(', ')}}`;
}

function binary(e: Extract<Expr, { type: 'binary' }>, ev: Evaluation): Value {
  const lhs = evaluate(e.lhs, ev);
  const rhs = evaluate(e.rhs, ev);
  const isComparison = COMPARISON_OPS.has(e.op);
  if (lhs.type === 'scalar' && rhs.type === 'scalar') {
    const value = isComparison ? Number(compare(e.op, lhs.value, rhs.value)) : arithmetic(e.op, lhs.value, rhs.value);
    return { type: 'scalar', value };
  }
  if (lhs.type === 'vector' && rhs.type === 'vector') {
    if (SET_OPS.has(e.op)) return setOperation(e.op, lhs.samples, rhs.samples, e.matching, ev);
    return vectorVector(e, lhs.samples, rhs.samples, ev);
  }
  // Vector and scalar.
  const vectorOnLeft = lhs.type === 'vector';
  const vector = (vectorOnLeft ? lhs : rhs) as Extract<Value, { type: 'vector' }>;
  const scalar = (vectorOnLeft ? rhs : lhs) as Extract<Value, { type: 'scalar' }>;
  const out: Sample[] = [];
  for (const s of vector.samples) {
    const [a, b] = vectorOnLeft ? [s.value, scalar.value] : [scalar.value, s.value];
    if (isComparison) {
      const ok = compare(e.op, a, b);
      if (e.bool) out.push({ labels: withoutName(s.labels), value: Number(ok), t: ev.t });
      else if (ok) out.push({ labels: s.labels, value: s.value, t: ev.t });
    } else out.push({ labels: withoutName(s.labels), value: arithmetic(e.op, a, b), t: ev.t });
  }
  return { type: 'vector', samples: out };
}

function vectorVector(e: Extract<Expr, { type: 'binary' }>, lhs: Sample[], rhs: Sample[], ev: Evaluation): Value {
  const m = e.matching ?? { card: 'one-to-one' as const, on: false, labels: [], include: [] };
  const isComparison = COMPARISON_OPS.has(e.op);
  // For one-to-many, swap sides so the "many" side is always on the left.
  const swapped = m.card === 'one-to-many';
  const [many, one] = swapped ? [rhs, lhs] : [lhs, rhs];
  const oneBySig = new Map<string, Sample>();
  for (const s of one) {
    const sig = signature(s.labels, m);
    if (oneBySig.has(sig)) {
      const side = swapped ? 'left' : 'right';
      throw new PromQLError(`found duplicate series for the match group ${formatLabels(signatureLabels(s.labels, m))} on the ${side} hand-side of the operation: [${formatLabels(oneBySig.get(sig)!.labels)}, ${formatLabels(s.labels)}];many-to-many matching not allowed: matching labels must be unique on one side`);
    }
    oneBySig.set(sig, s);
  }
  const out: Sample[] = [];
  const seenOneToOne = new Set<string>();
  const resultKeys = new Set<string>();
  for (const s of many) {
    const sig = signature(s.labels, m);
    const other = oneBySig.get(sig);
    if (!other) continue;
    if (m.card === 'one-to-one') {
      if (seenOneToOne.has(sig)) throw new PromQLError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      seenOneToOne.add(sig);
    }
    const [l, r] = swapped ? [other, s] : [s, other];
    let value: number;
    let keep = true;
    if (isComparison) {
      keep = compare(e.op, l.value, r.value);
      value = e.bool ? Number(keep) : l.value;
      if (e.bool) keep = true;
    } else value = arithmetic(e.op, l.value, r.value);
    if (!keep) continue;
    const labels = resultLabels(s.labels, other.labels, m, isComparison && !e.bool);
    const key = labelsKey(labels);
    if (m.card !== 'one-to-one' && resultKeys.has(key)) throw new PromQLError('multiple matches for labels: grouping labels must ensure unique matches');
    resultKeys.add(key);
    out.push({ labels, value, t: ev.t });
  }
  return { type: 'vector', samples: out };
}

function signatureLabels(labels: Labels, m: VectorMatching): Labels {
  const keep: Labels = {};
  for (const [k, v] of Object.entries(labels)) if (m.on ? m.labels.includes(k) : k !== '__name__' && !m.labels.includes(k)) keep[k] = v;
  return keep;
}

/** Labels of a vector-vector result: the "many" side's, reduced for one-to-one, plus `include` labels from the other side. */
function resultLabels(many: Labels, one: Labels, m: VectorMatching, keepName: boolean): Labels {
  let labels: Labels = keepName ? { ...many } : withoutName(many);
  if (m.card === 'one-to-one') {
    if (m.on) {
      const kept: Labels = {};
      for (const n of m.labels) if (labels[n] !== undefined) kept[n] = labels[n];
      labels = kept;
    } else {
      labels = { ...labels };
      for (const n of m.labels) delete labels[n];
    }
  }
  if (m.include.length) {
    labels = { ...labels };
    for (const n of m.include) {
      if (one[n] !== undefined && one[n] !== '') labels[n] = one[n];
      else delete labels[n];
    }
  }
  return labels;
}

function setOperation(op: string, lhs: Sample[], rhs: Sample[], m: VectorMatching | undefined, ev: Evaluation): Value {
  const rhsSigs = new Set(rhs.map((s) => signature(s.labels, m)));
  if (op === 'and') return { type: 'vector', samples: lhs.filter((s) => rhsSigs.has(signature(s.labels, m))).map((s) => ({ ...s, t: ev.t })) };
  if (op === 'unless') return { type: 'vector', samples: lhs.filter((s) => !rhsSigs.has(signature(s.labels, m))).map((s) => ({ ...s, t: ev.t })) };
  const lhsSigs = new Set(lhs.map((s) => signature(s.labels, m)));
  return { type: 'vector', samples: [...lhs, ...rhs.filter((s) => !lhsSigs.has(signature(s.labels, m)))].map((s) => ({ ...s, t: ev.t })) };
}

// ---------- aggregation ----------

function groupLabels(labels: Labels, grouping: string[], without: boolean): Labels {
  const out: Labels = {};
  if (without) {
    for (const [k, v] of Object.entries(labels)) if (k !== '__name__' && !grouping.includes(k)) out[k] = v;
  } else for (const n of grouping) if (labels[n] !== undefined && labels[n] !== '') out[n] = labels[n];
  return out;
}

function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = q * (sorted.length - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(sorted.length - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return (sorted[lower] as number) * (1 - weight) + (sorted[upper] as number) * weight;
}
export { quantile };

function aggregate(e: Extract<Expr, { type: 'aggregate' }>, ev: Evaluation): Value {
  const input = evaluate(e.expr, ev);
  if (input.type !== 'vector') throw new PromQLError('aggregation over a non-vector');
  const param = e.param ? evaluate(e.param, ev) : undefined;
  const groups = new Map<string, { labels: Labels; samples: Sample[] }>();
  for (const s of input.samples) {
    const labels = groupLabels(s.labels, e.grouping, e.without);
    const key = labelsKey(labels);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels, samples: [] }));
    g.samples.push(s);
  }
  const out: Sample[] = [];
  for (const g of groups.values()) {
    const values = g.samples.map((s) => s.value);
    const push = (value: number, labels = g.labels) => out.push({ labels, value, t: ev.t });
    switch (e.op) {
      case 'sum':
        push(values.reduce((a, b) => a + b, 0));
        break;
      case 'avg':
        push(values.reduce((a, b) => a + b, 0) / values.length);
        break;
      case 'count':
        push(values.length);
        break;
      case 'group':
        push(1);
        break;
      case 'min':
        push(values.reduce((a, b) => (Number.isNaN(a) || b < a ? b : a)));
        break;
      case 'max':
        push(values.reduce((a, b) => (Number.isNaN(a) || b > a ? b : a)));
        break;
      case 'stddev':
      case 'stdvar': {
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
        push(e.op === 'stddev' ? Math.sqrt(variance) : variance);
        break;
      }
      case 'quantile':
        push(quantile((param as { value: number }).value, values));
        break;
      case 'topk':
      case 'bottomk': {
        const k = Math.floor((param as { value: number }).value);
        const sorted = [...g.samples].sort((a, b) => (e.op === 'topk' ? b.value - a.value : a.value - b.value));
        for (const s of sorted.slice(0, Math.max(0, k))) out.push({ labels: s.labels, value: s.value, t: ev.t });
        break;
      }
      case 'count_values': {
        const label = (param as { value: string }).value;
        const counts = new Map<string, number>();
        for (const v of values) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
        for (const [v, n] of counts) push(n, { ...g.labels, [label]: v });
        break;
      }
      default:
        throw new PromQLError(`unknown aggregation ${e.op}`);
    }
  }
  return { type: 'vector', samples: out };
}
