/**
 * Arithmetic over named variables (`used / total * 100`): numbers, + - * /, unary minus and
 * parentheses. Compiled once into a closure over a values array, so evaluating allocates nothing.
 */
export type Compiled = (values: Float64Array) => number;

export class ArithmeticError extends Error {}

export function compileArithmetic(text: string, variables: readonly string[]): Compiled {
  const tokens = text.match(/\s*(\d+(?:\.\d+)?(?:e[+-]?\d+)?|[a-zA-Z_][a-zA-Z0-9_]*|[-+*/()]|\S)/g)?.map((t) => t.trim()) ?? [];
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];

  function primary(): Compiled {
    const token = next();
    if (token === undefined) throw new ArithmeticError('unexpected end of expression');
    if (token === '(') {
      const inner = sum();
      if (next() !== ')') throw new ArithmeticError('missing )');
      return inner;
    }
    if (token === '-') {
      const operand = primary();
      return (v) => -operand(v);
    }
    if (/^\d/.test(token)) {
      const n = Number(token);
      return () => n;
    }
    const index = variables.indexOf(token);
    if (index < 0) throw new ArithmeticError(`unknown variable "${token}" (known: ${variables.join(', ') || 'none'})`);
    return (v) => v[index] as number;
  }
  function product(): Compiled {
    let left = primary();
    while (peek() === '*' || peek() === '/') {
      const op = next();
      const l = left;
      const r = primary();
      left = op === '*' ? (v) => l(v) * r(v) : (v) => l(v) / r(v);
    }
    return left;
  }
  function sum(): Compiled {
    let left = product();
    while (peek() === '+' || peek() === '-') {
      const op = next();
      const l = left;
      const r = product();
      left = op === '+' ? (v) => l(v) + r(v) : (v) => l(v) - r(v);
    }
    return left;
  }
  const compiled = sum();
  if (pos < tokens.length) throw new ArithmeticError(`unexpected "${tokens[pos]}"`);
  return compiled;
}
