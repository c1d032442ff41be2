import { PromQLError, type At, type Expr, type Matcher, type ValueType, type VectorMatching, type VectorSelector } from './ast.js';
import { AGGREGATIONS, PARAMETRIC, SIGNATURES } from './functions-signatures.js';
import { tokenize, type Token } from './lexer.js';

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** A Prometheus duration (`1h30m`) in milliseconds. */
export function parsePromDuration(text: string): number {
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(n) * (UNITS[unit as string] as number);
  return total;
}

/** Binary operator precedence, lowest first; `^` is right-associative. */
const PRECEDENCE: Record<string, number> = { or: 1, and: 2, unless: 2, '==': 3, '!=': 3, '<=': 3, '<': 3, '>=': 3, '>': 3, '+': 4, '-': 4, '*': 5, '/': 5, '%': 5, atan2: 5, '^': 6 };
export const COMPARISON_OPS = new Set(['==', '!=', '<=', '<', '>=', '>']);
export const SET_OPS = new Set(['and', 'or', 'unless']);

function anchored(op: Matcher['op'], value: string): RegExp | undefined {
  if (op !== '=~' && op !== '!~') return undefined;
  try {
    // Go's RE2 syntax is close to JavaScript's for what rules use; (?s) lets . match newlines as in Prometheus.
    return new RegExp(`^(?:${value})$`, 's');
  } catch (err) {
    throw new PromQLError(`invalid regular expression ${JSON.stringify(value)}: ${(err as Error).message}`);
  }
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)] as Token;
  }
  private next(): Token {
    return this.tokens[this.pos++] as Token;
  }
  private fail(message: string, token = this.peek()): never {
    throw new PromQLError(`${message} at position ${token.pos}${token.kind === 'eof' ? ' (end of input)' : ` near ${JSON.stringify(token.text)}`}`);
  }
  private expect(kind: Token['kind'], what: string): Token {
    if (this.peek().kind !== kind) this.fail(`expected ${what}`);
    return this.next();
  }
  private isWord(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'ident' && t.text.toLowerCase() === word;
  }

  parseAll(): Expr {
    const expr = this.expression(0);
    if (this.peek().kind !== 'eof') this.fail('unexpected token');
    return expr;
  }

  private binaryOperator(): string | undefined {
    const t = this.peek();
    if (t.kind === 'op' && PRECEDENCE[t.text] !== undefined) return t.text;
    if (t.kind === 'ident' && ['and', 'or', 'unless', 'atan2'].includes(t.text.toLowerCase())) return t.text.toLowerCase();
    return undefined;
  }

  private expression(minPrecedence: number): Expr {
    let lhs = this.unary();
    for (;;) {
      const op = this.binaryOperator();
      if (op === undefined) break;
      const precedence = PRECEDENCE[op] as number;
      if (precedence < minPrecedence) break;
      this.next();
      let bool = false;
      if (this.isWord('bool')) {
        if (!COMPARISON_OPS.has(op)) this.fail('bool modifier can only be used on comparison operators');
        this.next();
        bool = true;
      }
      const matching = this.vectorMatching(op);
      const rhs = this.expression(op === '^' ? precedence : precedence + 1);
      lhs = this.checkBinary({ type: 'binary', op, lhs, rhs, bool, ...(matching ? { matching } : {}) });
    }
    return lhs;
  }

  private vectorMatching(op: string): VectorMatching | undefined {
    let matching: VectorMatching | undefined = SET_OPS.has(op) ? { card: 'many-to-many', on: false, labels: [], include: [] } : undefined;
    if (this.isWord('on') || this.isWord('ignoring')) {
      const on = this.next().text.toLowerCase() === 'on';
      matching = { card: SET_OPS.has(op) ? 'many-to-many' : 'one-to-one', on, labels: this.labelList(), include: [] };
      if (this.isWord('group_left') || this.isWord('group_right')) {
        if (SET_OPS.has(op)) this.fail('no grouping allowed for set operations');
        const left = this.next().text.toLowerCase() === 'group_left';
        matching.card = left ? 'many-to-one' : 'one-to-many';
        matching.include = this.peek().kind === 'lparen' ? this.labelList() : [];
      }
    }
    return matching;
  }

  private labelList(): string[] {
    this.expect('lparen', '(');
    const labels: string[] = [];
    while (this.peek().kind !== 'rparen') {
      const t = this.next();
      if (t.kind !== 'ident' && t.kind !== 'string') this.fail('expected a label name', t);
      labels.push(t.text);
      if (this.peek().kind === 'comma') this.next();
      else if (this.peek().kind !== 'rparen') this.fail('expected , or )');
    }
    this.next();
    return labels;
  }

  private unary(): Expr {
    const t = this.peek();
    if (t.kind === 'op' && (t.text === '-' || t.text === '+')) {
      this.next();
      // Unary minus binds looser than ^: -2^2 is -(2^2).
      const operand = this.expression(PRECEDENCE['^'] as number);
      const type = typeOf(operand);
      if (type !== 'scalar' && type !== 'vector') this.fail(`unary expression only allowed on expressions of type scalar or instant vector, got ${type}`, t);
      if (operand.type === 'number') return { type: 'number', value: t.text === '-' ? -operand.value : operand.value };
      return { type: 'unary', op: t.text as '-' | '+', expr: operand };
    }
    return this.postfix(this.primary());
  }

  private postfix(expr: Expr): Expr {
    for (;;) {
      const t = this.peek();
      if (t.kind === 'lbracket') {
        this.next();
        const range = parsePromDuration(this.expect('duration', 'a duration').text);
        if (this.peek().kind === 'colon') {
          this.next();
          const step = this.peek().kind === 'duration' ? parsePromDuration(this.next().text) : 0;
          this.expect('rbracket', ']');
          const type = typeOf(expr);
          if (type !== 'vector') this.fail(`subquery is only allowed on instant vector, got ${type}`, t);
          expr = { type: 'subquery', expr, range, step, offset: 0 };
          continue;
        }
        this.expect('rbracket', ']');
        if (expr.type !== 'vector') this.fail('ranges only allowed for vector selectors', t);
        expr = { type: 'matrix', vector: expr, range };
        continue;
      }
      if (this.isWord('offset')) {
        this.next();
        let sign = 1;
        if (this.peek().kind === 'op' && (this.peek().text === '-' || this.peek().text === '+')) sign = this.next().text === '-' ? -1 : 1;
        const offset = sign * parsePromDuration(this.expect('duration', 'a duration').text);
        const target = selectorOf(expr);
        if (!target) this.fail('offset modifier must be preceded by an instant vector selector or range vector selector or a subquery', t);
        target.offset = offset;
        continue;
      }
      if (t.kind === 'at') {
        this.next();
        let at: At;
        if (this.isWord('start') || this.isWord('end')) {
          at = this.next().text.toLowerCase() as 'start' | 'end';
          this.expect('lparen', '(');
          this.expect('rparen', ')');
        } else {
          let sign = 1;
          if (this.peek().kind === 'op' && (this.peek().text === '-' || this.peek().text === '+')) sign = this.next().text === '-' ? -1 : 1;
          at = sign * Math.round(Number(this.expect('number', 'a timestamp').text) * 1000);
        }
        const target = selectorOf(expr);
        if (!target) this.fail('@ modifier must be preceded by an instant vector selector or range vector selector or a subquery', t);
        target.at = at;
        continue;
      }
      return expr;
    }
  }

  private primary(): Expr {
    const t = this.peek();
    switch (t.kind) {
      case 'number':
        this.next();
        return { type: 'number', value: t.text.startsWith('0x') || t.text.startsWith('0X') ? parseInt(t.text, 16) : Number(t.text) };
      case 'duration':
        this.fail('unexpected duration');
        break;
      case 'string':
        this.next();
        return { type: 'string', value: t.text };
      case 'lparen': {
        this.next();
        const expr = this.expression(0);
        this.expect('rparen', ')');
        return { type: 'paren', expr };
      }
      case 'lbrace':
        return this.selector(undefined);
      case 'ident': {
        const word = t.text;
        const lower = word.toLowerCase();
        if (lower === 'inf' || lower === 'nan') {
          this.next();
          return { type: 'number', value: lower === 'inf' ? Number.POSITIVE_INFINITY : Number.NaN };
        }
        if (AGGREGATIONS.has(lower) && (this.peek(1).kind === 'lparen' || ((this.isWord('by', 1) || this.isWord('without', 1)) && this.peek(2).kind === 'lparen'))) return this.aggregate();
        if (this.peek(1).kind === 'lparen') return this.call();
        this.next();
        return this.selector(word);
      }
      default:
        this.fail('unexpected token');
    }
  }

  private aggregate(): Expr {
    const op = this.next().text.toLowerCase();
    let grouping: string[] = [];
    let without = false;
    let grouped = false;
    const modifier = () => {
      if (this.isWord('by') || this.isWord('without')) {
        if (grouped) this.fail('aggregation modifier given twice');
        without = this.next().text.toLowerCase() === 'without';
        grouping = this.labelList();
        grouped = true;
      }
    };
    modifier();
    this.expect('lparen', '(');
    let param: Expr | undefined;
    if (PARAMETRIC.has(op)) {
      param = this.expression(0);
      this.expect('comma', ',');
    }
    const expr = this.expression(0);
    this.expect('rparen', ')');
    modifier();
    const type = typeOf(expr);
    if (type !== 'vector') this.fail(`expected type instant vector in aggregation expression, got ${type}`);
    if (param) {
      const want = op === 'count_values' ? 'string' : 'scalar';
      if (typeOf(param) !== want) this.fail(`expected type ${want} in aggregation parameter, got ${typeOf(param)}`);
    }
    return { type: 'aggregate', op, expr, grouping, without, ...(param ? { param } : {}) };
  }

  private call(): Expr {
    const nameToken = this.next();
    const func = nameToken.text;
    const signature = SIGNATURES[func];
    if (!signature) this.fail(`unknown function with name ${JSON.stringify(func)}`, nameToken);
    this.expect('lparen', '(');
    const args: Expr[] = [];
    while (this.peek().kind !== 'rparen') {
      args.push(this.expression(0));
      if (this.peek().kind === 'comma') this.next();
      else if (this.peek().kind !== 'rparen') this.fail('expected , or )');
    }
    this.next();
    const min = signature.args.length - (signature.optional ?? 0);
    if (args.length < min || (!signature.variadic && args.length > signature.args.length)) {
      this.fail(`expected ${min === signature.args.length ? min : `${min} to ${signature.args.length}`} argument(s) in call to ${JSON.stringify(func)}, got ${args.length}`, nameToken);
    }
    args.forEach((arg, i) => {
      const want = signature.args[Math.min(i, signature.args.length - 1)] as ValueType;
      const got = typeOf(arg);
      if (got !== want) this.fail(`expected type ${typeName(want)} in call to function ${JSON.stringify(func)}, got ${typeName(got)}`, nameToken);
    });
    return { type: 'call', func, args };
  }

  private selector(name: string | undefined): VectorSelector {
    const matchers: Matcher[] = [];
    if (this.peek().kind === 'lbrace') {
      this.next();
      while (this.peek().kind !== 'rbrace') {
        const label = this.next();
        if (label.kind !== 'ident' && label.kind !== 'string') this.fail('expected a label matcher', label);
        const op = this.next();
        if (op.kind !== 'op' || !['=', '!=', '=~', '!~'].includes(op.text)) this.fail('expected a label matching operator', op);
        const value = this.expect('string', 'a quoted label value').text;
        const re = anchored(op.text as Matcher['op'], value);
        matchers.push({ name: label.text, op: op.text as Matcher['op'], value, ...(re ? { re } : {}) });
        if (this.peek().kind === 'comma') this.next();
        else if (this.peek().kind !== 'rbrace') this.fail('expected , or }');
      }
      this.next();
    }
    if (name !== undefined) {
      if (matchers.some((mm) => mm.name === '__name__')) this.fail('metric name must not be set twice');
      matchers.unshift({ name: '__name__', op: '=', value: name });
    }
    if (matchers.length === 0) this.fail('vector selector must contain at least one non-empty matcher');
    if (!matchers.some((mm) => !(mm.re ? mm.re.test('') : (mm.op === '=') === (mm.value === '')))) {
      this.fail('vector selector must contain at least one non-empty matcher');
    }
    return { type: 'vector', ...(name === undefined ? {} : { name }), matchers, offset: 0 };
  }

  private checkBinary(expr: Extract<Expr, { type: 'binary' }>): Expr {
    const lt = typeOf(expr.lhs);
    const rt = typeOf(expr.rhs);
    for (const t of [lt, rt]) if (t !== 'scalar' && t !== 'vector') this.fail(`binary expression must contain only scalar and instant vector types`);
    if (SET_OPS.has(expr.op) && (lt !== 'vector' || rt !== 'vector')) this.fail(`set operator "${expr.op}" not allowed in binary scalar expression`);
    if (COMPARISON_OPS.has(expr.op) && lt === 'scalar' && rt === 'scalar' && !expr.bool) this.fail('comparisons between scalars must use BOOL modifier');
    if (expr.matching && (lt !== 'vector' || rt !== 'vector') && !SET_OPS.has(expr.op)) this.fail('vector matching only allowed between instant vectors');
    return expr;
  }
}

function typeName(t: ValueType): string {
  return t === 'vector' ? 'instant vector' : t === 'matrix' ? 'range vector' : t;
}

function selectorOf(expr: Expr): { offset: number; at?: At } | undefined {
  if (expr.type === 'vector' || expr.type === 'subquery') return expr;
  if (expr.type === 'matrix') return expr.vector;
  return undefined;
}

export function typeOf(expr: Expr): ValueType {
  switch (expr.type) {
    case 'number':
      return 'scalar';
    case 'string':
      return 'string';
    case 'vector':
      return 'vector';
    case 'matrix':
    case 'subquery':
      return 'matrix';
    case 'call':
      return SIGNATURES[expr.func]?.returns ?? 'vector';
    case 'aggregate':
      return 'vector';
    case 'binary':
      return typeOf(expr.lhs) === 'scalar' && typeOf(expr.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'unary':
    case 'paren':
      return typeOf(expr.expr);
  }
}

/** Parses a PromQL expression; throws PromQLError saying what and where. */
export function parsePromQL(text: string): Expr {
  return new Parser(tokenize(text)).parseAll();
}

/** Parses a series selector as written in unit tests: `name{a="b"}`. */
export function parseSeriesSelector(text: string): VectorSelector {
  const expr = parsePromQL(text);
  if (expr.type !== 'vector') throw new PromQLError(`expected a series selector, got ${JSON.stringify(text)}`);
  return expr;
}
