/** PromQL syntax tree, the shape Prometheus 2.42's parser produces (promql/parser/ast.go). Times in milliseconds. */

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

export type MatchType = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  type: MatchType;
  value: string;
  /** Anchored regex for =~ and !~. */
  re?: RegExp;
}

/** `@ t` with t in ms, or `@ start()` / `@ end()` (both the evaluation time for instant queries). */
export type AtModifier = number | 'start' | 'end';

export interface VectorSelector {
  kind: 'vector';
  name?: string;
  matchers: Matcher[];
  offset: number;
  at?: AtModifier;
}

export interface MatrixSelector {
  kind: 'matrix';
  selector: VectorSelector;
  range: number;
}

export interface Subquery {
  kind: 'subquery';
  expr: Expr;
  range: number;
  /** 0 means the default step (the evaluation interval). */
  step: number;
  offset: number;
  at?: AtModifier;
}

export interface NumberLiteral {
  kind: 'number';
  value: number;
}

export interface StringLiteral {
  kind: 'string';
  value: string;
}

export interface ParenExpr {
  kind: 'paren';
  expr: Expr;
}

export interface UnaryExpr {
  kind: 'unary';
  op: '-' | '+';
  expr: Expr;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2' | '==' | '!=' | '>' | '<' | '>=' | '<=' | 'and' | 'or' | 'unless';

export interface VectorMatching {
  card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  /** true for on(...), false for ignoring(...) or no modifier. */
  on: boolean;
  labels: string[];
  /** Extra labels taken from the "one" side with group_left/group_right. */
  include: string[];
}

export interface BinaryExpr {
  kind: 'binary';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  returnBool: boolean;
  /** Present when both sides are instant vectors. */
  matching?: VectorMatching;
}

export type AggregateOp = 'sum' | 'avg' | 'min' | 'max' | 'count' | 'stddev' | 'stdvar' | 'topk' | 'bottomk' | 'quantile' | 'count_values' | 'group';

export interface AggregateExpr {
  kind: 'aggregate';
  op: AggregateOp;
  expr: Expr;
  param?: Expr;
  grouping: string[];
  without: boolean;
}

export interface Call {
  kind: 'call';
  func: string;
  args: Expr[];
}

export type Expr = VectorSelector | MatrixSelector | Subquery | NumberLiteral | StringLiteral | ParenExpr | UnaryExpr | BinaryExpr | AggregateExpr | Call;

export const COMPARISON_OPS: ReadonlySet<BinaryOp> = new Set(['==', '!=', '>', '<', '>=', '<=']);
export const SET_OPS: ReadonlySet<BinaryOp> = new Set(['and', 'or', 'unless']);
