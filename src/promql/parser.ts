import { parser as lezer } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import type {
  AggregateOp, AtModifier, BinaryOp, Call, Expr, Matcher, MatchType, Subquery, ValueType, VectorMatching, VectorSelector,
} from './ast.js';
import { COMPARISON_OPS, SET_OPS } from './ast.js';

/** A PromQL expression that does not parse or does not type-check; the message follows Prometheus' wording. */
export class PromQLParseError extends Error {
  constructor(message: string, readonly position?: number) {
    super(message);
    this.name = 'PromQLParseError';
  }
}

interface FunctionSignature {
  args: ValueType[];
  /** 0: fixed arity; n > 0: the last argument may be left out or repeated up to n times; -1: repeated without limit. */
  variadic: number;
  returns: ValueType;
}

const v: ValueType = 'vector';
const m: ValueType = 'matrix';
const s: ValueType = 'scalar';
const str: ValueType = 'string';

/** Functions Prometheus 2.42 knows (promql/parser/functions.go), with their argument types. */
const FUNCTION_SIGNATURES: Readonly<Record<string, FunctionSignature>> = {
  abs: { args: [v], variadic: 0, returns: v },
  absent: { args: [v], variadic: 0, returns: v },
  absent_over_time: { args: [m], variadic: 0, returns: v },
  acos: { args: [v], variadic: 0, returns: v },
  acosh: { args: [v], variadic: 0, returns: v },
  asin: { args: [v], variadic: 0, returns: v },
  asinh: { args: [v], variadic: 0, returns: v },
  atan: { args: [v], variadic: 0, returns: v },
  atanh: { args: [v], variadic: 0, returns: v },
  avg_over_time: { args: [m], variadic: 0, returns: v },
  ceil: { args: [v], variadic: 0, returns: v },
  changes: { args: [m], variadic: 0, returns: v },
  clamp: { args: [v, s, s], variadic: 0, returns: v },
  clamp_max: { args: [v, s], variadic: 0, returns: v },
  clamp_min: { args: [v, s], variadic: 0, returns: v },
  cos: { args: [v], variadic: 0, returns: v },
  cosh: { args: [v], variadic: 0, returns: v },
  count_over_time: { args: [m], variadic: 0, returns: v },
  days_in_month: { args: [v], variadic: 1, returns: v },
  day_of_month: { args: [v], variadic: 1, returns: v },
  day_of_week: { args: [v], variadic: 1, returns: v },
  day_of_year: { args: [v], variadic: 1, returns: v },
  deg: { args: [v], variadic: 0, returns: v },
  delta: { args: [m], variadic: 0, returns: v },
  deriv: { args: [m], variadic: 0, returns: v },
  exp: { args: [v], variadic: 0, returns: v },
  floor: { args: [v], variadic: 0, returns: v },
  histogram_count: { args: [v], variadic: 0, returns: v },
  histogram_sum: { args: [v], variadic: 0, returns: v },
  histogram_fraction: { args: [s, s, v], variadic: 0, returns: v },
  histogram_quantile: { args: [s, v], variadic: 0, returns: v },
  holt_winters: { args: [m, s, s], variadic: 0, returns: v },
  hour: { args: [v], variadic: 1, returns: v },
  idelta: { args: [m], variadic: 0, returns: v },
  increase: { args: [m], variadic: 0, returns: v },
  irate: { args: [m], variadic: 0, returns: v },
  label_replace: { args: [v, str, str, str, str], variadic: 0, returns: v },
  label_join: { args: [v, str, str, str], variadic: -1, returns: v },
  last_over_time: { args: [m], variadic: 0, returns: v },
  ln: { args: [v], variadic: 0, returns: v },
  log10: { args: [v], variadic: 0, returns: v },
  log2: { args: [v], variadic: 0, returns: v },
  max_over_time: { args: [m], variadic: 0, returns: v },
  min_over_time: { args: [m], variadic: 0, returns: v },
  minute: { args: [v], variadic: 1, returns: v },
  month: { args: [v], variadic: 1, returns: v },
  pi: { args: [], variadic: 0, returns: s },
  predict_linear: { args: [m, s], variadic: 0, returns: v },
  present_over_time: { args: [m], variadic: 0, returns: v },
  quantile_over_time: { args: [s, m], variadic: 0, returns: v },
  rad: { args: [v], variadic: 0, returns: v },
  rate: { args: [m], variadic: 0, returns: v },
  resets: { args: [m], variadic: 0, returns: v },
  round: { args: [v, s], variadic: 1, returns: v },
  scalar: { args: [v], variadic: 0, returns: s },
  sgn: { args: [v], variadic: 0, returns: v },
  sin: { args: [v], variadic: 0, returns: v },
  sinh: { args: [v], variadic: 0, returns: v },
  sort: { args: [v], variadic: 0, returns: v },
  sort_desc: { args: [v], variadic: 0, returns: v },
  sqrt: { args: [v], variadic: 0, returns: v },
  stddev_over_time: { args: [m], variadic: 0, returns: v },
  stdvar_over_time: { args: [m], variadic: 0, returns: v },
  sum_over_time: { args: [m], variadic: 0, returns: v },
  tan: { args: [v], variadic: 0, returns: v },
  tanh: { args: [v], variadic: 0, returns: v },
  time: { args: [], variadic: 0, returns: s },
  timestamp: { args: [v], variadic: 0, returns: v },
  vector: { args: [s], variadic: 0, returns: v },
  year: { args: [v], variadic: 1, returns: v },
};

const TYPE_NAMES: Record<ValueType, string> = { scalar: 'scalar', vector: 'instant vector', matrix: 'range vector', string: 'string' };

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const DURATION_UNITS_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];

/** Prometheus' model.ParseDuration ("1h30m", "5m", "0"), in milliseconds. */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  const match = text === '' ? null : DURATION_RE.exec(text);
  if (!match) throw new PromQLParseError(text === '' ? 'empty duration string' : `not a valid duration string: "${text}"`);
  return DURATION_UNITS_MS.reduce((ms, unit, i) => ms + Number(match[i + 1] ?? 0) * unit, 0);
}

/** Go's strconv.ParseFloat for PromQL number literals: decimal, hex, Inf and NaN. */
export function parseNumber(text: string): number {
  const t = text.toLowerCase();
  const sign = t.startsWith('-') ? -1 : 1;
  const body = t.replace(/^[+-]/, '');
  if (body === 'inf' || body === 'infinity') return sign * Infinity;
  if (body === 'nan') return NaN;
  if (/^0x[0-9a-f]+$/.test(body)) return sign * parseInt(body.slice(2), 16);
  if (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(body)) return sign * Number(body);
  throw new PromQLParseError(`bad number or duration syntax: "${text}"`);
}

/** Go's strconv.Unquote for the three PromQL string forms: "…" and '…' with escapes, `…` raw. */
function unquoteString(text: string): string {
  const quote = text[0];
  if (text.length < 2 || text[text.length - 1] !== quote) throw new PromQLParseError(`unterminated quoted string ${text}`);
  const body = text.slice(1, -1);
  if (quote === '`') return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };
    if (e !== undefined && e in simple) {
      if ((e === '"' && quote === "'") || (e === "'" && quote === '"')) throw new PromQLParseError(`invalid syntax in string ${text}`);
      out += simple[e];
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw new PromQLParseError(`invalid escape in string ${text}`);
      out += String.fromCodePoint(parseInt(hex, 16));
      i += len;
    } else if (e !== undefined && /[0-7]/.test(e)) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) throw new PromQLParseError(`invalid escape in string ${text}`);
      out += String.fromCharCode(parseInt(oct, 8));
      i += 2;
    } else {
      throw new PromQLParseError(`unknown escape sequence in string ${text}`);
    }
  }
  return out;
}

/** Compiles a label regex the way Prometheus does: fully anchored. */
export function anchoredRegex(pattern: string): RegExp {
  try {
    // RE2 spells named groups (?P<name>…); JavaScript (?<name>…). A leading (?i) / (?s) / (?m) becomes a flag.
    const inline = /^\(\?([ims]+)\)/.exec(pattern);
    const body = (inline ? pattern.slice(inline[0].length) : pattern).replace(/\(\?P</g, '(?<');
    return new RegExp(`^(?:${body})$`, inline?.[1] ?? '');
  } catch (err) {
    throw new PromQLParseError(`error parsing regexp: ${(err as Error).message}`);
  }
}

/** Syntax the Lezer grammar knows from Prometheus 3 that 2.42 rejects. */
const PROMETHEUS_3_SYNTAX: Record<string, string> = {
  AnchoredExpr: 'the anchored modifier',
  SmoothedExpr: 'the smoothed modifier',
  FillModifier: 'fill() in vector matching',
  QuotedLabelName: 'a quoted label name',
  QuotedLabelMatcher: 'a quoted label name',
  DurationStep: 'step() in durations',
  DurationRange: 'range() in durations',
  DurationMinOf: 'min() in durations',
  DurationMaxOf: 'max() in durations',
};

const BINARY_OPS: Record<string, BinaryOp> = {
  Add: '+', Sub: '-', Mul: '*', Div: '/', Mod: '%', Pow: '^', Atan2: 'atan2',
  Eql: '==', Neq: '!=', Gtr: '>', Lss: '<', Gte: '>=', Lte: '<=', And: 'and', Or: 'or', Unless: 'unless',
};

const AGGREGATE_OPS = new Set<AggregateOp>(['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group']);

/** Parses and type-checks a PromQL expression as Prometheus 2.42 does. */
export function parseExpr(input: string): Expr {
  const tree = lezer.parse(input);
  const root = tree.topNode;
  let error: SyntaxNode | undefined;
  let newer: SyntaxNode | undefined;
  tree.iterate({
    enter(n) {
      if (error || newer) return false;
      if (n.type.isError) error = n.node;
      else if (n.name in PROMETHEUS_3_SYNTAX) newer = n.node;
      return undefined;
    },
  });
  if (newer) throw new PromQLParseError(`${PROMETHEUS_3_SYNTAX[newer.name]} is not supported by Prometheus 2.42: ${JSON.stringify(input.slice(newer.from, newer.to))}`, newer.from);
  if (error) {
    const at = error.from;
    const near = input.slice(at, at + 10);
    throw new PromQLParseError(at >= input.trimEnd().length ? `1:${at + 1}: parse error: unexpected end of input` : `1:${at + 1}: parse error: unexpected ${JSON.stringify(near)}`, at);
  }
  let top = root.firstChild;
  while (top?.name === 'LineComment') top = top.nextSibling;
  if (!top) throw new PromQLParseError('no expression found in input');
  const expr = new Converter(input).expr(top);
  checkTypes(expr);
  return expr;
}

class Converter {
  constructor(private readonly input: string) {}

  private text(n: SyntaxNode): string {
    return this.input.slice(n.from, n.to);
  }

  private children(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) if (c.name !== 'LineComment') out.push(c);
    return out;
  }

  private child(n: SyntaxNode, name: string): SyntaxNode | undefined {
    return this.children(n).find((c) => c.name === name);
  }

  expr(n: SyntaxNode): Expr {
    switch (n.name) {
      case 'NumberDurationLiteral': {
        // The grammar folds a leading sign into the literal, whitespace included ("- 1").
        const text = this.text(n).replace(/\s+/g, '');
        if (/^[0-9]+(ms|[smhdwy])/.test(text) && !/^0x/i.test(text)) throw new PromQLParseError(`unexpected duration "${text}"`);
        return { kind: 'number', value: parseNumber(text) };
      }
      case 'StringLiteral':
        return { kind: 'string', value: unquoteString(this.text(n)) };
      case 'ParenExpr':
        return { kind: 'paren', expr: this.expr(this.children(n)[0]!) };
      case 'UnaryExpr': {
        const [op, operand] = this.children(n);
        return { kind: 'unary', op: this.text(op!) === '-' ? '-' : '+', expr: this.expr(operand!) };
      }
      case 'VectorSelector':
        return this.vectorSelector(n);
      case 'MatrixSelector': {
        const [sel, range] = this.children(n);
        const selector = this.expr(sel!);
        if (selector.kind !== 'vector' || selector.offset !== 0 || selector.at !== undefined) throw new PromQLParseError('ranges only allowed for vector selectors');
        return { kind: 'matrix', selector, range: this.duration(range!) };
      }
      case 'SubqueryExpr': {
        const [inner, range, step] = this.children(n);
        return this.postfix(this.expr(inner!), (e) => {
          const sq: Subquery = { kind: 'subquery', expr: e, range: this.duration(range!), step: step ? this.duration(step) : 0, offset: 0 };
          return sq;
        });
      }
      case 'OffsetExpr': {
        const kids = this.children(n);
        const durNode = kids[kids.length - 1]!;
        const neg = kids.some((k) => k.name === 'Sub') || /^\s*-/.test(this.text(durNode));
        const magnitude = this.duration(durNode);
        return this.postfix(this.expr(kids[0]!), (e) => this.setOffset(e, neg ? -magnitude : magnitude));
      }
      case 'StepInvariantExpr': {
        const kids = this.children(n);
        const atNode = kids[kids.length - 1]!;
        let at: AtModifier;
        if (atNode.name === 'AtModifierPreprocessors') at = this.child(atNode, 'AtStart') ? 'start' : 'end';
        else {
          const seconds = parseNumber(this.text(atNode));
          if (!Number.isFinite(seconds)) throw new PromQLParseError(`timestamp out of bounds for @ modifier: ${seconds}`);
          at = Math.round(seconds * 1000);
        }
        return this.postfix(this.expr(kids[0]!), (e) => this.setAt(e, at));
      }
      case 'BinaryExpr':
        return this.binary(n);
      case 'AggregateExpr':
        return this.aggregate(n);
      case 'FunctionCall':
        return this.call(n);
      default:
        throw new PromQLParseError(`unsupported expression ${JSON.stringify(this.text(n))}`);
    }
  }

  /**
   * Applies a postfix modifier (subquery range, offset, @). The Lezer grammar binds these looser than
   * Prometheus' yacc grammar does (`a + b[5m:]` comes out as `(a + b)[5m:]`), so push the modifier down to
   * the rightmost operand of an unparenthesised binary or unary expression, as Prometheus parses it.
   */
  private postfix(e: Expr, apply: (e: Expr) => Expr): Expr {
    if (e.kind === 'binary') return { ...e, rhs: this.postfix(e.rhs, apply) };
    if (e.kind === 'unary') return { ...e, expr: this.postfix(e.expr, apply) };
    return apply(e);
  }

  private setOffset(e: Expr, offset: number): Expr {
    const target = e.kind === 'matrix' ? e.selector : e;
    if (target.kind !== 'vector' && target.kind !== 'subquery') throw new PromQLParseError('offset modifier must be preceded by an instant vector selector or range vector selector or a subquery');
    if (target.offset !== 0) throw new PromQLParseError('offset may not be set multiple times');
    target.offset = offset;
    return e;
  }

  private setAt(e: Expr, at: AtModifier): Expr {
    const target = e.kind === 'matrix' ? e.selector : e;
    if (target.kind !== 'vector' && target.kind !== 'subquery') throw new PromQLParseError('@ modifier must be preceded by an instant vector selector or range vector selector or a subquery');
    if (target.at !== undefined) throw new PromQLParseError('@ <timestamp> may not be set multiple times');
    target.at = at;
    return e;
  }

  private duration(n: SyntaxNode): number {
    const text = this.text(n).trim().replace(/^-/, '');
    try {
      return parseDuration(text);
    } catch {
      throw new PromQLParseError(`bad duration syntax: "${text}"`);
    }
  }

  private vectorSelector(n: SyntaxNode): VectorSelector {
    const id = this.child(n, 'Identifier');
    const matchers: Matcher[] = [];
    const list = this.child(n, 'LabelMatchers');
    const name = id ? this.text(id) : undefined;
    for (const mn of list ? this.children(list) : []) {
      const [labelNode, opNode, valueNode] = this.children(mn);
      const type = this.text(opNode!) as MatchType;
      const value = unquoteString(this.text(valueNode!));
      matchers.push({ name: this.text(labelNode!), type, value, ...(type === '=~' || type === '!~' ? { re: anchoredRegex(value) } : {}) });
    }
    if (name !== undefined) {
      if (matchers.some((x) => x.name === '__name__')) throw new PromQLParseError(`metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(matchers.find((x) => x.name === '__name__')!.value)}`);
      matchers.push({ name: '__name__', type: '=', value: name });
    }
    if (!matchers.some((x) => !matchesEmpty(x))) throw new PromQLParseError('vector selector must contain at least one non-empty matcher');
    return { kind: 'vector', ...(name !== undefined ? { name } : {}), matchers, offset: 0 };
  }

  private grouping(n: SyntaxNode | undefined): string[] {
    if (!n) return [];
    return this.children(n).map((c) => this.text(c));
  }

  private binary(n: SyntaxNode): Expr {
    const kids = this.children(n);
    const lhs = this.expr(kids[0]!);
    const rhs = this.expr(kids[kids.length - 1]!);
    const opNode = kids[1]!;
    const op = BINARY_OPS[opNode.name];
    if (!op) throw new PromQLParseError(`unknown binary operator ${this.text(opNode)}`);
    // The grammar reads `-1 ^ 2` as (-1) ^ 2; in Prometheus unary minus binds looser than ^: -(1 ^ 2).
    const sign = /^\s*([+-])/.exec(this.text(kids[0]!))?.[1];
    if (op === '^' && kids[0]!.name === 'NumberDurationLiteral' && sign && lhs.kind === 'number') {
      return { kind: 'unary', op: sign as '-' | '+', expr: { kind: 'binary', op, lhs: { kind: 'number', value: Math.abs(lhs.value) }, rhs, returnBool: false } };
    }
    const bool = kids.some((k) => k.name === 'BoolModifier');
    const clause = kids.find((k) => k.name === 'MatchingModifierClause');
    let matching: VectorMatching | undefined;
    if (clause) {
      const parts = this.children(clause);
      const on = parts.some((p) => p.name === 'On');
      const labelLists = parts.filter((p) => p.name === 'GroupingLabels');
      const groupLeft = parts.some((p) => p.name === 'GroupLeft');
      const groupRight = parts.some((p) => p.name === 'GroupRight');
      matching = {
        card: groupLeft ? 'many-to-one' : groupRight ? 'one-to-many' : 'one-to-one',
        on,
        labels: this.grouping(labelLists[0]),
        include: this.grouping(labelLists[1]),
      };
    }
    return { kind: 'binary', op, lhs, rhs, returnBool: bool, ...(matching ? { matching } : {}) };
  }

  private aggregate(n: SyntaxNode): Expr {
    const opNode = this.child(n, 'AggregateOp')!;
    const op = this.text(opNode).toLowerCase() as AggregateOp;
    if (!AGGREGATE_OPS.has(op)) throw new PromQLParseError(`unknown aggregation operator ${op}`);
    const modifier = this.child(n, 'AggregateModifier');
    const body = this.child(n, 'FunctionCallBody')!;
    const args = this.children(body).map((c) => this.expr(c));
    const needsParam = op === 'topk' || op === 'bottomk' || op === 'quantile' || op === 'count_values';
    if (args.length !== (needsParam ? 2 : 1)) {
      throw new PromQLParseError(needsParam ? `wrong number of arguments for aggregate expression provided, expected 2, got ${args.length}` : `wrong number of arguments for aggregate expression provided, expected 1, got ${args.length}`);
    }
    return {
      kind: 'aggregate',
      op,
      expr: args[args.length - 1]!,
      ...(needsParam ? { param: args[0]! } : {}),
      grouping: this.grouping(modifier ? this.child(modifier, 'GroupingLabels') : undefined),
      without: modifier ? Boolean(this.child(modifier, 'Without')) : false,
    };
  }

  private call(n: SyntaxNode): Call {
    const func = this.text(this.child(n, 'FunctionIdentifier')!);
    const body = this.child(n, 'FunctionCallBody');
    const args = body ? this.children(body).map((c) => this.expr(c)) : [];
    return { kind: 'call', func, args };
  }
}

function matchesEmpty(x: Matcher): boolean {
  switch (x.type) {
    case '=': return x.value === '';
    case '!=': return x.value !== '';
    case '=~': return x.re!.test('');
    case '!~': return !x.re!.test('');
  }
}

/** The value type an expression evaluates to (parser.Expr.Type()). */
function typeOf(e: Expr): ValueType {
  switch (e.kind) {
    case 'vector': return 'vector';
    case 'matrix': case 'subquery': return 'matrix';
    case 'number': return 'scalar';
    case 'string': return 'string';
    case 'paren': case 'unary': return typeOf(e.expr);
    case 'binary': return typeOf(e.lhs) === 'scalar' && typeOf(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'aggregate': return 'vector';
    case 'call': return FUNCTION_SIGNATURES[e.func]?.returns ?? 'vector';
  }
}

/** Prometheus' checkAST: operand types, modifiers allowed per operator, function arities. */
function checkTypes(e: Expr): void {
  const expect = (x: Expr, want: ValueType, context: string): void => {
    const got = typeOf(x);
    if (got !== want) throw new PromQLParseError(`expected type ${TYPE_NAMES[want]} in ${context}, got ${TYPE_NAMES[got]}`);
  };
  switch (e.kind) {
    case 'paren': checkTypes(e.expr); return;
    case 'unary': {
      checkTypes(e.expr);
      const t = typeOf(e.expr);
      if (t !== 'scalar' && t !== 'vector') throw new PromQLParseError(`unary expression only allowed on expressions of type scalar or instant vector, got "${TYPE_NAMES[t]}"`);
      return;
    }
    case 'subquery': {
      checkTypes(e.expr);
      const t = typeOf(e.expr);
      if (t !== 'vector') throw new PromQLParseError(`subquery is only allowed on instant vector, got ${TYPE_NAMES[t]} instead`);
      return;
    }
    case 'aggregate': {
      checkTypes(e.expr);
      expect(e.expr, 'vector', 'aggregation expression');
      if (e.param) {
        checkTypes(e.param);
        expect(e.param, e.op === 'count_values' ? 'string' : 'scalar', 'aggregation parameter');
      }
      return;
    }
    case 'binary': {
      checkTypes(e.lhs);
      checkTypes(e.rhs);
      const lt = typeOf(e.lhs);
      const rt = typeOf(e.rhs);
      const opName = e.op;
      if (e.returnBool && !COMPARISON_OPS.has(e.op)) throw new PromQLParseError('bool modifier can only be used on comparison operators');
      if (COMPARISON_OPS.has(e.op) && lt === 'scalar' && rt === 'scalar' && !e.returnBool) throw new PromQLParseError('comparisons between scalars must use BOOL modifier');
      for (const t of [lt, rt]) if (t !== 'scalar' && t !== 'vector') throw new PromQLParseError(`binary expression must contain only scalar and instant vector types`);
      if (SET_OPS.has(e.op)) {
        if (lt === 'scalar' || rt === 'scalar') throw new PromQLParseError(`set operator "${opName}" not allowed in binary scalar expression`);
        if (e.matching && e.matching.card !== 'one-to-one') throw new PromQLParseError(`no grouping allowed for "${opName}" operation`);
        e.matching = { card: 'many-to-many', on: e.matching?.on ?? false, labels: e.matching?.labels ?? [], include: [] };
      } else if (lt === 'vector' && rt === 'vector') {
        e.matching ??= { card: 'one-to-one', on: false, labels: [], include: [] };
        if (e.matching.on) {
          for (const l of e.matching.include) if (e.matching.labels.includes(l)) throw new PromQLParseError(`label "${l}" must not occur in ON and GROUP clause at once`);
        }
      } else if (e.matching) {
        throw new PromQLParseError('vector matching only allowed between instant vectors');
      }
      return;
    }
    case 'call': {
      const sig = FUNCTION_SIGNATURES[e.func];
      if (!sig) throw new PromQLParseError(`unknown function with name "${e.func}"`);
      const n = e.args.length;
      // As checkAST: a variadic function may leave out its last argument; -1 repeats it without limit.
      const min = sig.variadic === 0 ? sig.args.length : sig.args.length - 1;
      const max = sig.variadic === 0 ? sig.args.length : sig.variadic > 0 ? sig.args.length - 1 + sig.variadic : Infinity;
      if (sig.variadic === 0 && n !== min) throw new PromQLParseError(`expected ${min} argument(s) in call to "${e.func}", got ${n}`);
      if (n < min) throw new PromQLParseError(`expected at least ${min} argument(s) in call to "${e.func}", got ${n}`);
      if (n > max) throw new PromQLParseError(`expected at most ${max} argument(s) in call to "${e.func}", got ${n}`);
      e.args.forEach((a, i) => {
        checkTypes(a);
        const want = sig.args[Math.min(i, sig.args.length - 1)]!;
        expect(a, want, `call to function "${e.func}"`);
      });
      return;
    }
    case 'matrix': case 'vector': case 'number': case 'string': return;
  }
}

/** Parses a series description `metric{l="v"}` (promtool input series, exp_samples labels). */
export function parseMetric(input: string): Record<string, string> {
  if (/^\s*(\{\s*\})?\s*$/.test(input)) return {};
  const expr = parseSeriesSelector(input);
  const labels: Record<string, string> = {};
  for (const x of expr.matchers) labels[x.name] = x.value;
  return labels;
}

function parseSeriesSelector(input: string): VectorSelector {
  let expr: Expr;
  try {
    expr = parseExpr(input);
  } catch (err) {
    throw new PromQLParseError(`parse error in series ${JSON.stringify(input)}: ${(err as Error).message}`);
  }
  if (expr.kind !== 'vector' || expr.offset !== 0 || expr.at !== undefined || expr.matchers.some((x) => x.type !== '=')) {
    throw new PromQLParseError(`expected a series description, got ${JSON.stringify(input)}`);
  }
  return expr;
}
