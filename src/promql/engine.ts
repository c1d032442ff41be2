import type { AggregateExpr, AtModifier, BinaryExpr, BinaryOp, Call, Expr, VectorMatching, VectorSelector } from './ast.js';
import { COMPARISON_OPS } from './ast.js';
import { callFunction, formatGoFloat } from './functions.js';
import { labelsKey, METRIC_NAME, signature, withoutName, type Labels } from './labels.js';
import { parseExpr } from './parser.js';
import { lastIndexAtOrBefore, type Sample, type SeriesStorage } from './storage.js';
import { PromQLEvalError, type Matrix, type RangeSeries, type Value, type VectorSample } from './values.js';

export interface EngineOptions {
  /** How far back an instant selector looks for a sample; Prometheus' default is 5m. */
  lookbackDelta?: number;
  /** Step of subqueries written without one (`x[5m:]`); the rule evaluation interval. */
  defaultSubqueryStep?: number;
}

/**
 * Evaluates PromQL instant queries over a SeriesStorage with Prometheus 2.42 semantics (promql/engine.go):
 * closed range windows [t - range, t], a lookback delta for instant selectors, staleness markers.
 */
export class Engine {
  readonly lookbackDelta: number;
  readonly defaultSubqueryStep: number;

  constructor(private readonly storage: SeriesStorage, options: EngineOptions = {}) {
    this.lookbackDelta = options.lookbackDelta ?? 5 * 60_000;
    this.defaultSubqueryStep = options.defaultSubqueryStep ?? 60_000;
  }

  /** Evaluates `query` at time `t` (ms). Throws PromQLParseError or PromQLEvalError. */
  instantQuery(query: string | Expr, t: number): Value {
    const expr = typeof query === 'string' ? parseExpr(query) : query;
    return new Evaluation(this, this.storage, t).eval(expr, t);
  }
}

class Evaluation {
  constructor(private readonly engine: Engine, private readonly storage: SeriesStorage, private readonly queryTime: number) {}

  private atTime(at: AtModifier | undefined, t: number): number {
    if (at === undefined) return t;
    return at === 'start' || at === 'end' ? this.queryTime : at;
  }

  eval(e: Expr, t: number): Value {
    switch (e.kind) {
      case 'number': return { type: 'scalar', v: e.value };
      case 'string': return { type: 'string', s: e.value };
      case 'paren': return this.eval(e.expr, t);
      case 'unary': {
        const val = this.eval(e.expr, t);
        if (e.op === '+') return val;
        if (val.type === 'scalar') return { type: 'scalar', v: -val.v };
        const negated = this.vector(val).map((s) => ({ labels: withoutName(s.labels), v: -s.v }));
        assertUniqueLabelSets(negated);
        return { type: 'vector', samples: negated };
      }
      case 'vector': return { type: 'vector', samples: this.selectInstant(e, t).map(({ labels, sample }) => ({ labels, v: sample.v })) };
      case 'matrix': case 'subquery': return this.evalMatrix(e, t);
      case 'binary': return this.binary(e, t);
      case 'aggregate': return this.aggregate(e, t);
      case 'call': return this.call(e, t);
    }
  }

  vector(v: Value): VectorSample[] {
    if (v.type !== 'vector') throw new PromQLEvalError(`expected instant vector, got ${v.type}`);
    return v.samples;
  }

  private scalar(v: Value): number {
    if (v.type !== 'scalar') throw new PromQLEvalError(`expected scalar, got ${v.type}`);
    return v.v;
  }

  /** The latest non-stale sample of each matching series within the lookback window [ref - delta, ref]. */
  selectInstant(sel: VectorSelector, t: number): Array<{ labels: Labels; sample: Sample }> {
    const ref = this.atTime(sel.at, t) - sel.offset;
    const out: Array<{ labels: Labels; sample: Sample }> = [];
    for (const series of this.storage.select(sel.matchers)) {
      const i = lastIndexAtOrBefore(series.samples, ref);
      const sample = series.samples[i];
      if (!sample || sample.stale || sample.t < ref - this.engine.lookbackDelta) continue;
      out.push({ labels: series.labels, sample });
    }
    return out;
  }

  evalMatrix(e: Expr, t: number): Matrix {
    if (e.kind === 'paren') return this.evalMatrix(e.expr, t);
    if (e.kind === 'matrix') {
      const ref = this.atTime(e.selector.at, t) - e.selector.offset;
      const start = ref - e.range;
      const series: RangeSeries[] = [];
      for (const s of this.storage.select(e.selector.matchers)) {
        const end = lastIndexAtOrBefore(s.samples, ref);
        const points: Sample[] = [];
        for (let i = end; i >= 0 && s.samples[i]!.t >= start; i--) if (!s.samples[i]!.stale) points.push(s.samples[i]!);
        if (points.length > 0) series.push({ labels: s.labels, points: points.reverse() });
      }
      return { type: 'matrix', series, rangeStart: start, rangeEnd: ref, range: e.range };
    }
    if (e.kind === 'subquery') {
      const ref = this.atTime(e.at, t) - e.offset;
      const step = e.step || this.engine.defaultSubqueryStep;
      const from = ref - e.range;
      // The first step-aligned time at or after the window start (Go's truncating division, as engine.go).
      let first = Math.trunc(from / step) * step;
      if (first < from) first += step;
      const byKey = new Map<string, RangeSeries>();
      for (let ts = first; ts <= ref; ts += step) {
        for (const s of this.vector(this.eval(e.expr, ts))) {
          const key = labelsKey(s.labels);
          let rs = byKey.get(key);
          if (!rs) {
            rs = { labels: s.labels, points: [] };
            byKey.set(key, rs);
          }
          rs.points.push({ t: ts, v: s.v });
        }
      }
      return { type: 'matrix', series: [...byKey.values()], rangeStart: from, rangeEnd: ref, range: e.range };
    }
    throw new PromQLEvalError(`expected range vector, got ${e.kind}`);
  }

  private call(e: Call, t: number): Value {
    const result = callFunction(e, t, this);
    if (result.type === 'vector') assertUniqueLabelSets(result.samples);
    return result;
  }

  private binary(e: BinaryExpr, t: number): Value {
    const lhs = this.eval(e.lhs, t);
    const rhs = this.eval(e.rhs, t);
    if (lhs.type === 'scalar' && rhs.type === 'scalar') {
      const [value, keep] = binop(e.op, lhs.v, rhs.v);
      return { type: 'scalar', v: e.returnBool ? (keep ? 1 : 0) : value };
    }
    let out: VectorSample[];
    if (lhs.type === 'vector' && rhs.type === 'vector') {
      const matching = e.matching!;
      switch (e.op) {
        case 'and': out = setAnd(lhs.samples, rhs.samples, matching); break;
        case 'or': out = setOr(lhs.samples, rhs.samples, matching); break;
        case 'unless': out = setUnless(lhs.samples, rhs.samples, matching); break;
        default: out = vectorBinop(e.op, lhs.samples, rhs.samples, matching, e.returnBool);
      }
    } else if (lhs.type === 'vector') {
      out = vectorScalarBinop(e.op, lhs.samples, this.scalar(rhs), false, e.returnBool);
    } else {
      out = vectorScalarBinop(e.op, this.vector(rhs), this.scalar(lhs), true, e.returnBool);
    }
    assertUniqueLabelSets(out);
    return { type: 'vector', samples: out };
  }

  private aggregate(e: AggregateExpr, t: number): Value {
    const input = this.vector(this.eval(e.expr, t));
    const param = e.param ? this.eval(e.param, t) : undefined;
    return { type: 'vector', samples: aggregate(e, input, param) };
  }
}

function assertUniqueLabelSets(samples: readonly VectorSample[]): void {
  const seen = new Set<string>();
  for (const s of samples) {
    const key = labelsKey(s.labels);
    if (seen.has(key)) throw new PromQLEvalError('vector cannot contain metrics with the same labelset');
    seen.add(key);
  }
}

/** vectorElemBinop: the arithmetic result, or for comparisons the lhs value and whether the comparison holds. */
function binop(op: BinaryOp, l: number, r: number): [number, boolean] {
  switch (op) {
    case '+': return [l + r, true];
    case '-': return [l - r, true];
    case '*': return [l * r, true];
    case '/': return [l / r, true];
    case '^': return [goPow(l, r), true];
    case '%': return [l % r, true];
    case 'atan2': return [Math.atan2(l, r), true];
    case '==': return [l, l === r];
    case '!=': return [l, l !== r];
    case '>': return [l, l > r];
    case '<': return [l, l < r];
    case '>=': return [l, l >= r];
    case '<=': return [l, l <= r];
    default: throw new PromQLEvalError(`operator "${op}" not allowed for scalar operations`);
  }
}

/** Go's math.Pow differs from JS for x^±0 and 1^y: both give 1. */
function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  return Math.pow(x, y);
}

function dropsName(op: BinaryOp): boolean {
  return op === '+' || op === '-' || op === '*' || op === '/' || op === '%' || op === '^';
}

function vectorScalarBinop(op: BinaryOp, vec: readonly VectorSample[], scalar: number, scalarOnLeft: boolean, returnBool: boolean): VectorSample[] {
  const out: VectorSample[] = [];
  for (const s of vec) {
    let [l, r] = [s.v, scalar];
    if (scalarOnLeft) [l, r] = [r, l];
    let [value, keep] = binop(op, l, r);
    // A comparison keeps the vector element's value even when the scalar is on the left.
    if (COMPARISON_OPS.has(op) && scalarOnLeft) value = r;
    if (returnBool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (keep) out.push({ labels: dropsName(op) || returnBool ? withoutName(s.labels) : s.labels, v: value });
  }
  return out;
}

function vectorBinop(op: BinaryOp, lhsIn: readonly VectorSample[], rhsIn: readonly VectorSample[], matching: VectorMatching, returnBool: boolean): VectorSample[] {
  const sig = (l: Labels): string => signature(l, matching.on, matching.labels);
  // One-to-many is many-to-one with the sides swapped; values are swapped back below.
  const oneToMany = matching.card === 'one-to-many';
  const [lhs, rhs] = oneToMany ? [rhsIn, lhsIn] : [lhsIn, rhsIn];
  const rightSigs = new Map<string, VectorSample>();
  for (const rs of rhs) {
    const key = sig(rs.labels);
    const dup = rightSigs.get(key);
    if (dup) {
      throw new PromQLEvalError(`found duplicate series for the match group ${formatMatchLabels(rs.labels, matching)} on the ${oneToMany ? 'left' : 'right'} hand-side of the operation: [${formatMetric(rs.labels)}, ${formatMetric(dup.labels)}];many-to-many matching not allowed: matching labels must be unique on one side`);
    }
    rightSigs.set(key, rs);
  }
  const matched = new Map<string, Set<string> | null>();
  const out: VectorSample[] = [];
  for (const ls of lhs) {
    const key = sig(ls.labels);
    const rs = rightSigs.get(key);
    if (!rs) continue;
    const [vl, vr] = oneToMany ? [rs.v, ls.v] : [ls.v, rs.v];
    const [result, keep] = binop(op, vl, vr);
    if (!returnBool && !keep) continue;
    const value = returnBool ? (keep ? 1 : 0) : result;
    let metric = resultMetric(ls.labels, rs.labels, op, matching);
    if (returnBool) metric = withoutName(metric);
    const inserted = matched.get(key);
    if (matching.card === 'one-to-one') {
      if (inserted !== undefined) throw new PromQLEvalError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      matched.set(key, null);
    } else {
      const metricKey = labelsKey(metric);
      const set = inserted ?? new Set<string>();
      if (set.has(metricKey)) throw new PromQLEvalError('multiple matches for labels: grouping labels must ensure unique matches');
      set.add(metricKey);
      matched.set(key, set);
    }
    out.push({ labels: metric, v: value });
  }
  return out;
}

function resultMetric(lhs: Labels, rhs: Labels, op: BinaryOp, matching: VectorMatching): Labels {
  let out: Record<string, string> = { ...lhs };
  if (dropsName(op)) delete out[METRIC_NAME];
  if (matching.card === 'one-to-one') {
    if (matching.on) {
      const kept: Record<string, string> = {};
      for (const n of matching.labels) if (out[n] !== undefined) kept[n] = out[n]!;
      out = kept;
    } else {
      for (const n of matching.labels) delete out[n];
    }
  }
  for (const n of matching.include) {
    const value = rhs[n];
    if (value) out[n] = value;
    else delete out[n];
  }
  return out;
}

function formatMetric(labels: Labels): string {
  const names = Object.keys(labels).sort();
  return `{${names.map((n) => `${n}=${JSON.stringify(labels[n])}`).join(', ')}}`;
}

function formatMatchLabels(labels: Labels, matching: VectorMatching): string {
  const picked: Record<string, string> = {};
  for (const n of Object.keys(labels)) {
    const inOn = matching.labels.includes(n);
    if (matching.on ? inOn : !inOn && n !== METRIC_NAME) picked[n] = labels[n]!;
  }
  return formatMetric(picked);
}

function setAnd(lhs: readonly VectorSample[], rhs: readonly VectorSample[], matching: VectorMatching): VectorSample[] {
  const right = new Set(rhs.map((s) => signature(s.labels, matching.on, matching.labels)));
  return lhs.filter((s) => right.has(signature(s.labels, matching.on, matching.labels)));
}

function setOr(lhs: readonly VectorSample[], rhs: readonly VectorSample[], matching: VectorMatching): VectorSample[] {
  const left = new Set(lhs.map((s) => signature(s.labels, matching.on, matching.labels)));
  return [...lhs, ...rhs.filter((s) => !left.has(signature(s.labels, matching.on, matching.labels)))];
}

function setUnless(lhs: readonly VectorSample[], rhs: readonly VectorSample[], matching: VectorMatching): VectorSample[] {
  const right = new Set(rhs.map((s) => signature(s.labels, matching.on, matching.labels)));
  return lhs.filter((s) => !right.has(signature(s.labels, matching.on, matching.labels)));
}

interface Group {
  labels: Labels;
  count: number;
  value: number;
  mean: number;
  samples: VectorSample[];
}

/** Aggregation operators as engine.go's aggregation(), including its incremental mean and Welford variance. */
function aggregate(e: AggregateExpr, input: readonly VectorSample[], param: Value | undefined): VectorSample[] {
  let k = 0;
  let q = 0;
  let valueLabel = '';
  if (e.op === 'topk' || e.op === 'bottomk') {
    const p = param?.type === 'scalar' ? param.v : NaN;
    if (!Number.isFinite(p)) throw new PromQLEvalError(`Scalar value ${formatGoFloat(p)} overflows int64`);
    k = Math.trunc(p);
    if (k < 1) return [];
  } else if (e.op === 'quantile') {
    q = param?.type === 'scalar' ? param.v : NaN;
  } else if (e.op === 'count_values') {
    valueLabel = param?.type === 'string' ? param.s : '';
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(valueLabel)) throw new PromQLEvalError(`invalid label name ${JSON.stringify(valueLabel)}`);
  }
  const groups = new Map<string, Group>();
  const order: Group[] = [];
  for (const s of input) {
    let groupLabels = groupingLabels(s.labels, e.grouping, e.without);
    if (e.op === 'count_values') groupLabels = { ...groupLabels, [valueLabel]: formatGoFloat(s.v) };
    const key = labelsKey(groupLabels);
    const g = groups.get(key);
    if (!g) {
      const created: Group = { labels: groupLabels, count: 1, value: s.v, mean: s.v, samples: [s] };
      if (e.op === 'stddev' || e.op === 'stdvar') created.value = 0;
      if (e.op === 'count' || e.op === 'count_values' || e.op === 'group') created.value = 1;
      groups.set(key, created);
      order.push(created);
      continue;
    }
    g.samples.push(s);
    switch (e.op) {
      case 'sum': g.value += s.v; break;
      case 'avg': {
        g.count++;
        // Once the mean is infinite, only an infinity of the other sign or a NaN can change it (engine.go).
        if (isInfinite(g.mean) && ((isInfinite(s.v) && g.mean > 0 === s.v > 0) || Number.isFinite(s.v))) break;
        g.mean += s.v / g.count - g.mean / g.count;
        break;
      }
      case 'max': if (g.value < s.v || Number.isNaN(g.value)) g.value = s.v; break;
      case 'min': if (g.value > s.v || Number.isNaN(g.value)) g.value = s.v; break;
      case 'count': case 'count_values': g.value++; break;
      case 'group': break;
      case 'stddev': case 'stdvar': {
        g.count++;
        const delta = s.v - g.mean;
        g.mean += delta / g.count;
        g.value += delta * (s.v - g.mean);
        break;
      }
      default: break;
    }
  }
  const out: VectorSample[] = [];
  for (const g of order) {
    switch (e.op) {
      case 'avg': out.push({ labels: g.labels, v: g.mean }); break;
      case 'stddev': out.push({ labels: g.labels, v: Math.sqrt(g.value / g.count) }); break;
      case 'stdvar': out.push({ labels: g.labels, v: g.value / g.count }); break;
      case 'topk': case 'bottomk': {
        const direction = e.op === 'topk' ? -1 : 1;
        const sorted = g.samples.slice().sort((a, b) => nanLast(a.v, b.v, direction));
        out.push(...sorted.slice(0, k));
        break;
      }
      case 'quantile': out.push({ labels: g.labels, v: quantile(q, g.samples.map((s) => s.v)) }); break;
      default: out.push({ labels: g.labels, v: g.value });
    }
  }
  return out;
}

/** Ascending (1) or descending (-1) with NaN last, as topk/bottomk select and sort/sort_desc order. */
export function nanLast(a: number, b: number, direction: 1 | -1): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return direction * (a - b);
}

export function isInfinite(x: number): boolean {
  return x === Infinity || x === -Infinity;
}

function groupingLabels(labels: Labels, grouping: readonly string[], without: boolean): Labels {
  const out: Record<string, string> = {};
  if (without) {
    for (const [n, val] of Object.entries(labels)) if (n !== METRIC_NAME && !grouping.includes(n)) out[n] = val;
  } else {
    for (const n of grouping) if (labels[n] !== undefined && labels[n] !== '') out[n] = labels[n]!;
  }
  return out;
}

/** The φ-quantile of values with linear interpolation (engine's quantile()). */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = values.slice().sort((a, b) => (Number.isNaN(a) ? -1 : Number.isNaN(b) ? 1 : a - b));
  const n = sorted.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
}

export type { Evaluation };
