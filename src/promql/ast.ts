/** PromQL syntax tree. Durations and times are in milliseconds. */

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

export interface Matcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
  /** Anchored regular expression for =~ and !~. */
  re?: RegExp;
}

/** `@ <time>`, `@ start()` or `@ end()`. */
export type At = number | 'start' | 'end';

export interface VectorSelector {
  type: 'vector';
  name?: string;
  matchers: Matcher[];
  offset: number;
  at?: At;
}

export interface VectorMatching {
  card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  on: boolean;
  labels: string[];
  include: string[];
}

export type Expr =
  | { type: 'number'; value: number }
  | { type: 'string'; value: string }
  | VectorSelector
  | { type: 'matrix'; vector: VectorSelector; range: number }
  | { type: 'subquery'; expr: Expr; range: number; step: number; offset: number; at?: At }
  | { type: 'call'; func: string; args: Expr[] }
  | { type: 'aggregate'; op: string; expr: Expr; param?: Expr; grouping: string[]; without: boolean }
  | { type: 'binary'; op: string; lhs: Expr; rhs: Expr; bool: boolean; matching?: VectorMatching }
  | { type: 'unary'; op: '-' | '+'; expr: Expr }
  | { type: 'paren'; expr: Expr };

export class PromQLError extends Error {}
