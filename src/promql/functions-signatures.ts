import type { ValueType } from './ast.js';

/** Argument types, and how many trailing arguments are optional, of every PromQL function (Prometheus 2.x). */
export interface Signature {
  args: ValueType[];
  optional?: number;
  variadic?: boolean;
  returns: ValueType;
}

const v = 'vector' as const;
const m = 'matrix' as const;
const s = 'scalar' as const;
const str = 'string' as const;
const vectorMath = { args: [v], returns: v };
const overTime = { args: [m], returns: v };
const dateFn = { args: [v], optional: 1, returns: v };

export const SIGNATURES: Record<string, Signature> = {
  abs: vectorMath, ceil: vectorMath, floor: vectorMath, exp: vectorMath, ln: vectorMath, log2: vectorMath, log10: vectorMath, sqrt: vectorMath, sgn: vectorMath,
  acos: vectorMath, acosh: vectorMath, asin: vectorMath, asinh: vectorMath, atan: vectorMath, atanh: vectorMath, cos: vectorMath, cosh: vectorMath, sin: vectorMath, sinh: vectorMath, tan: vectorMath, tanh: vectorMath, deg: vectorMath, rad: vectorMath,
  absent: { args: [v], returns: v },
  absent_over_time: overTime, present_over_time: overTime,
  avg_over_time: overTime, count_over_time: overTime, last_over_time: overTime, max_over_time: overTime, min_over_time: overTime, sum_over_time: overTime, stddev_over_time: overTime, stdvar_over_time: overTime,
  quantile_over_time: { args: [s, m], returns: v },
  changes: overTime, resets: overTime, delta: overTime, deriv: overTime, idelta: overTime, increase: overTime, irate: overTime, rate: overTime,
  clamp: { args: [v, s, s], returns: v }, clamp_max: { args: [v, s], returns: v }, clamp_min: { args: [v, s], returns: v },
  round: { args: [v, s], optional: 1, returns: v },
  day_of_month: dateFn, day_of_week: dateFn, day_of_year: dateFn, days_in_month: dateFn, hour: dateFn, minute: dateFn, month: dateFn, year: dateFn,
  histogram_quantile: { args: [s, v], returns: v },
  holt_winters: { args: [m, s, s], returns: v },
  label_join: { args: [v, str, str, str], variadic: true, returns: v },
  label_replace: { args: [v, str, str, str, str], returns: v },
  pi: { args: [], returns: s },
  predict_linear: { args: [m, s], returns: v },
  scalar: { args: [v], returns: s },
  sort: { args: [v], returns: v }, sort_desc: { args: [v], returns: v },
  time: { args: [], returns: s },
  timestamp: { args: [v], returns: v },
  vector: { args: [s], returns: v },
};

export const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile']);
export const PARAMETRIC = new Set(['count_values', 'bottomk', 'topk', 'quantile']);
