import { PromQLError } from './ast.js';

export type TokenKind = 'ident' | 'number' | 'string' | 'duration' | 'op' | 'lbrace' | 'rbrace' | 'lparen' | 'rparen' | 'lbracket' | 'rbracket' | 'comma' | 'colon' | 'at' | 'eof';

export interface Token {
  kind: TokenKind;
  text: string;
  pos: number;
}

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+/;
const NUMBER = /^(0[xX][0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)/;
const IDENT = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const OPERATORS = ['==', '!=', '>=', '<=', '=~', '!~', '+', '-', '*', '/', '%', '^', '>', '<', '='];

/** Splits PromQL into tokens; comments (`# ...`) are skipped. */
export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < input.length && input[i] !== '\n') i++;
      continue;
    }
    const rest = input.slice(i);
    const single: Record<string, TokenKind> = { '{': 'lbrace', '}': 'rbrace', '(': 'lparen', ')': 'rparen', '[': 'lbracket', ']': 'rbracket', ',': 'comma', ':': 'colon', '@': 'at' };
    // A colon starts an identifier only outside brackets (recording rule names); inside `[5m:1m]` it separates.
    if (c === ':' || single[c] !== undefined) {
      if (!(c === ':' && IDENT.test(rest) && tokens.at(-1)?.kind !== 'duration' && !inBrackets(tokens))) {
        tokens.push({ kind: single[c] as TokenKind, text: c, pos: i });
        i++;
        continue;
      }
    }
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      let value = '';
      while (j < input.length && input[j] !== c) {
        if (input[j] === '\\' && c !== '`') {
          const n = input[j + 1];
          const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };
          if (n !== undefined && map[n] !== undefined) {
            value += map[n];
            j += 2;
            continue;
          }
          if (n === 'u' || n === 'x' || n === 'U') {
            const len = n === 'x' ? 2 : n === 'u' ? 4 : 8;
            value += String.fromCodePoint(parseInt(input.slice(j + 2, j + 2 + len), 16));
            j += 2 + len;
            continue;
          }
          // Go keeps unknown escapes as errors; regexes write \\. so this is rare: keep the backslash.
          value += '\\' + (n ?? '');
          j += 2;
          continue;
        }
        value += input[j];
        j++;
      }
      if (j >= input.length) throw new PromQLError(`unterminated string at position ${i}`);
      tokens.push({ kind: 'string', text: value, pos: i });
      i = j + 1;
      continue;
    }
    const duration = DURATION.exec(rest);
    if (duration && !/^[a-zA-Z0-9_.]/.test(rest.slice(duration[0].length))) {
      tokens.push({ kind: 'duration', text: duration[0], pos: i });
      i += duration[0].length;
      continue;
    }
    const number = NUMBER.exec(rest);
    if (number && (c !== '.' || /\d/.test(rest[1] ?? ''))) {
      tokens.push({ kind: 'number', text: number[0], pos: i });
      i += number[0].length;
      continue;
    }
    const ident = IDENT.exec(rest);
    if (ident) {
      tokens.push({ kind: 'ident', text: ident[0], pos: i });
      i += ident[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (op) {
      tokens.push({ kind: 'op', text: op, pos: i });
      i += op.length;
      continue;
    }
    throw new PromQLError(`unexpected character ${JSON.stringify(c)} at position ${i}`);
  }
  tokens.push({ kind: 'eof', text: '', pos: input.length });
  return tokens;
}

function inBrackets(tokens: Token[]): boolean {
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'lbracket') depth++;
    else if (t.kind === 'rbracket') depth--;
  }
  return depth > 0;
}
