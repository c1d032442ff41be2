import { formatValue } from './go-format.js';

/**
 * The part of Go's text/template that alerting rules use: text and actions with `{{-`/`-}}` trimming,
 * comments, pipelines (`$value | humanize`), variables (`$x := ...`), fields (`$labels.job`, `.Labels`),
 * if / else if / else, with, range, and functions supplied by the caller. Parsed once, executed per alert.
 */

export class TemplateError extends Error {}

export type TemplateFunction = (...args: unknown[]) => unknown;

type Operand =
  | { kind: 'literal'; value: unknown }
  | { kind: 'dot'; fields: string[] }
  | { kind: 'variable'; name: string; fields: string[] }
  | { kind: 'pipeline'; pipeline: Pipeline; fields: string[] }
  | { kind: 'function'; name: string };
type Command = Operand[];
interface Pipeline {
  declare?: string[];
  assign?: boolean;
  commands: Command[];
}
type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipeline: Pipeline }
  | { kind: 'if' | 'with'; pipeline: Pipeline; then: Node[]; else?: Node[] }
  | { kind: 'range'; pipeline: Pipeline; body: Node[]; else?: Node[] };

// ---------- lexing actions ----------

interface Tok {
  t: 'word' | 'var' | 'field' | 'dot' | 'string' | 'number' | 'pipe' | 'lparen' | 'rparen' | 'declare' | 'assign' | 'comma' | 'bool';
  v: string;
}

function lexAction(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    const rest = src.slice(i);
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    let m: RegExpExecArray | null;
    if (c === '"') {
      m = /^"(?:[^"\\]|\\.)*"/.exec(rest);
      if (!m) throw new TemplateError('unterminated quoted string');
      toks.push({ t: 'string', v: JSON.parse(m[0]) as string });
    } else if (c === '`') {
      m = /^`[^`]*`/.exec(rest);
      if (!m) throw new TemplateError('unterminated raw string');
      toks.push({ t: 'string', v: m[0].slice(1, -1) });
    } else if ((m = /^:=/.exec(rest))) toks.push({ t: 'declare', v: ':=' });
    else if ((m = /^=/.exec(rest))) toks.push({ t: 'assign', v: '=' });
    else if ((m = /^\|/.exec(rest))) toks.push({ t: 'pipe', v: '|' });
    else if ((m = /^\(/.exec(rest))) toks.push({ t: 'lparen', v: '(' });
    else if ((m = /^\)/.exec(rest))) toks.push({ t: 'rparen', v: ')' });
    else if ((m = /^,/.exec(rest))) toks.push({ t: 'comma', v: ',' });
    else if ((m = /^\$[a-zA-Z0-9_]*/.exec(rest))) toks.push({ t: 'var', v: m[0] });
    else if ((m = /^\.[a-zA-Z_][a-zA-Z0-9_]*/.exec(rest))) toks.push({ t: 'field', v: m[0].slice(1) });
    else if ((m = /^\./.exec(rest))) toks.push({ t: 'dot', v: '.' });
    else if ((m = /^[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+|0x[0-9a-fA-F]+)/.exec(rest))) toks.push({ t: 'number', v: m[0] });
    else if ((m = /^'(\\.|[^'])'/.exec(rest))) toks.push({ t: 'number', v: String(m[1]!.codePointAt(0)) });
    else if ((m = /^(true|false)\b/.exec(rest))) toks.push({ t: 'bool', v: m[0] });
    else if ((m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(rest))) toks.push({ t: 'word', v: m[0] });
    else throw new TemplateError(`unexpected ${JSON.stringify(c)} in action`);
    i += m[0].length;
  }
  return toks;
}

class ActionParser {
  private i = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly functions: Record<string, TemplateFunction>,
  ) {}
  done() {
    return this.i >= this.toks.length;
  }
  pipeline(): Pipeline {
    const p: Pipeline = { commands: [] };
    // `$x := pipeline`, `$i, $v := pipeline` (range), `$x = pipeline`
    const save = this.i;
    const vars: string[] = [];
    while (this.toks[this.i]?.t === 'var') {
      vars.push(this.toks[this.i]!.v);
      this.i++;
      if (this.toks[this.i]?.t === 'comma') this.i++;
      else break;
    }
    const op = this.toks[this.i]?.t;
    if (vars.length && (op === 'declare' || op === 'assign')) {
      this.i++;
      p.declare = vars;
      p.assign = op === 'assign';
    } else this.i = save;
    for (;;) {
      p.commands.push(this.command());
      if (this.toks[this.i]?.t === 'pipe') this.i++;
      else break;
    }
    return p;
  }
  private command(): Command {
    const cmd: Command = [];
    while (this.i < this.toks.length && this.toks[this.i]!.t !== 'pipe' && this.toks[this.i]!.t !== 'rparen') cmd.push(this.operand());
    if (cmd.length === 0) throw new TemplateError('missing value for command');
    return cmd;
  }
  private fields(): string[] {
    const fields: string[] = [];
    while (this.toks[this.i]?.t === 'field') fields.push(this.toks[this.i++]!.v);
    return fields;
  }
  private operand(): Operand {
    const tok = this.toks[this.i++] as Tok;
    switch (tok.t) {
      case 'string':
        return { kind: 'literal', value: tok.v };
      case 'number':
        return { kind: 'literal', value: Number(tok.v) };
      case 'bool':
        return { kind: 'literal', value: tok.v === 'true' };
      case 'dot':
        return { kind: 'dot', fields: this.fields() };
      case 'field':
        return { kind: 'dot', fields: [tok.v, ...this.fields()] };
      case 'var':
        return { kind: 'variable', name: tok.v, fields: this.fields() };
      case 'lparen': {
        const pipeline = this.pipeline();
        if (this.toks[this.i++]?.t !== 'rparen') throw new TemplateError('unclosed left paren');
        return { kind: 'pipeline', pipeline, fields: this.fields() };
      }
      case 'word':
        if (tok.v === 'nil') return { kind: 'literal', value: undefined };
        if (!(tok.v in this.functions) && !BUILTINS.has(tok.v)) throw new TemplateError(`function "${tok.v}" not defined`);
        return { kind: 'function', name: tok.v };
      default:
        throw new TemplateError(`unexpected "${tok.v}" in operand`);
    }
  }
}

const BUILTINS = new Set(['and', 'or', 'not', 'len', 'index', 'print', 'printf', 'println', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'html', 'js', 'urlquery', 'slice', 'call']);

// ---------- parsing the template ----------

interface Compiled {
  nodes: Node[];
}

export function parseTemplate(text: string, functions: Record<string, TemplateFunction>): Compiled {
  const parts: ({ kind: 'text'; text: string } | { kind: 'action'; src: string })[] = [];
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf('{{', pos);
    if (open < 0) {
      parts.push({ kind: 'text', text: text.slice(pos) });
      break;
    }
    let chunk = text.slice(pos, open);
    let start = open + 2;
    if (text.startsWith('- ', start) || text.startsWith('-\t', start) || text.startsWith('-\n', start)) {
      chunk = chunk.replace(/\s+$/, '');
      start += 1;
    }
    if (chunk) parts.push({ kind: 'text', text: chunk });
    const close = findClose(text, start);
    if (close < 0) throw new TemplateError('unclosed action');
    let src = text.slice(start, close);
    pos = close + 2;
    if (/\s-$/.test(src)) {
      src = src.slice(0, -1);
      const ws = /^\s*/.exec(text.slice(pos)) as RegExpExecArray;
      pos += ws[0].length;
    }
    parts.push({ kind: 'action', src: src.trim() });
  }
  let k = 0;
  const block = (terminators: string[]): { nodes: Node[]; end: string; rest?: string } => {
    const nodes: Node[] = [];
    while (k < parts.length) {
      const part = parts[k++]!;
      if (part.kind === 'text') {
        nodes.push(part);
        continue;
      }
      const src = part.src;
      if (src.startsWith('/*')) continue;
      const keyword = /^(if|else|end|with|range|define|template|block)\b/.exec(src)?.[1];
      if (keyword === 'end' || keyword === 'else') {
        if (!terminators.includes(keyword)) throw new TemplateError(`unexpected {{${keyword}}}`);
        return { nodes, end: keyword, rest: src.slice(keyword.length).trim() };
      }
      if (keyword === 'if' || keyword === 'with' || keyword === 'range') {
        nodes.push(control(keyword, src.slice(keyword.length)));
        continue;
      }
      if (keyword === 'define' || keyword === 'template' || keyword === 'block') throw new TemplateError(`{{${keyword}}} is not supported`);
      const parser = new ActionParser(lexAction(src), functions);
      const pipeline = parser.pipeline();
      if (!parser.done()) throw new TemplateError(`unexpected tokens in {{${src}}}`);
      nodes.push({ kind: 'action', pipeline });
    }
    if (terminators.length) throw new TemplateError('unexpected EOF');
    return { nodes, end: 'eof' };
  };
  const control = (keyword: 'if' | 'with' | 'range', src: string): Node => {
    const parser = new ActionParser(lexAction(src), functions);
    const pipeline = parser.pipeline();
    const body = block(['else', 'end']);
    let elseNodes: Node[] | undefined;
    if (body.end === 'else') {
      // `{{else if ...}}` is an if nested in the else branch that shares the {{end}}.
      if (body.rest && /^(if|with)\b/.test(body.rest)) {
        const nested = /^(if|with)/.exec(body.rest)![1] as 'if' | 'with';
        elseNodes = [control(nested, body.rest.slice(nested.length))];
      } else {
        elseNodes = block(['end']).nodes;
      }
    }
    if (keyword === 'range') return { kind: 'range', pipeline, body: body.nodes, ...(elseNodes ? { else: elseNodes } : {}) };
    return { kind: keyword, pipeline, then: body.nodes, ...(elseNodes ? { else: elseNodes } : {}) };
  };
  return { nodes: block([]).nodes };
}

function findClose(text: string, from: number): number {
  let i = from;
  let quote: string | undefined;
  for (; i < text.length - 1; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === '`') quote = c;
    else if (c === '}' && text[i + 1] === '}') return i;
  }
  return -1;
}

// ---------- execution ----------

function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function field(value: unknown, name: string): unknown {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object') {
    const map = value as Record<string, unknown>;
    if (name in map) return map[name];
    // Prometheus runs templates with missingkey=zero: a missing label is the empty string.
    return Object.values(map).every((v) => typeof v === 'string') ? '' : undefined;
  }
  throw new TemplateError(`can't evaluate field ${name} in type ${typeof value}`);
}

interface Scope {
  vars: Map<string, unknown>[];
  dot: unknown;
}

export class Template {
  private readonly compiled: Compiled;
  constructor(
    readonly text: string,
    private readonly functions: Record<string, TemplateFunction>,
  ) {
    this.compiled = parseTemplate(text, functions);
  }

  execute(dot: unknown, variables: Record<string, unknown> = {}): string {
    const scope: Scope = { vars: [new Map(Object.entries(variables).map(([k, v]) => [`$${k}`, v]))], dot };
    scope.vars[0]!.set('$', dot);
    let out = '';
    const run = (nodes: Node[]) => {
      for (const node of nodes) {
        switch (node.kind) {
          case 'text':
            out += node.text;
            break;
          case 'action': {
            const value = this.pipeline(node.pipeline, scope);
            if (!node.pipeline.declare) out += formatValue(value);
            break;
          }
          case 'if':
          case 'with': {
            scope.vars.push(new Map());
            const value = this.pipeline(node.pipeline, scope);
            if (truthy(value)) {
              const saved = scope.dot;
              if (node.kind === 'with') scope.dot = value;
              run(node.then);
              scope.dot = saved;
            } else if (node.else) run(node.else);
            scope.vars.pop();
            break;
          }
          case 'range': {
            scope.vars.push(new Map());
            const value = this.pipeline({ ...node.pipeline, declare: undefined }, scope);
            const entries: [unknown, unknown][] = Array.isArray(value)
              ? value.map((v, i) => [i, v])
              : value && typeof value === 'object'
                ? Object.keys(value).sort().map((k) => [k, (value as Record<string, unknown>)[k]])
                : [];
            if (entries.length === 0) {
              if (node.else) run(node.else);
            } else {
              const saved = scope.dot;
              for (const [k, v] of entries) {
                const names = node.pipeline.declare ?? [];
                if (names.length === 1) scope.vars.at(-1)!.set(names[0]!, v);
                if (names.length === 2) {
                  scope.vars.at(-1)!.set(names[0]!, k);
                  scope.vars.at(-1)!.set(names[1]!, v);
                }
                scope.dot = v;
                run(node.body);
              }
              scope.dot = saved;
            }
            scope.vars.pop();
            break;
          }
        }
      }
    };
    run(this.compiled.nodes);
    return out;
  }

  private lookup(name: string, scope: Scope): unknown {
    for (let i = scope.vars.length - 1; i >= 0; i--) if (scope.vars[i]!.has(name)) return scope.vars[i]!.get(name);
    throw new TemplateError(`undefined variable "${name}"`);
  }

  private pipeline(p: Pipeline, scope: Scope): unknown {
    let value: unknown;
    let first = true;
    for (const cmd of p.commands) {
      value = this.command(cmd, scope, first ? [] : [value]);
      first = false;
    }
    if (p.declare) {
      const name = p.declare[0]!;
      if (p.assign) {
        for (let i = scope.vars.length - 1; i >= 0; i--) if (scope.vars[i]!.has(name)) scope.vars[i]!.set(name, value);
      } else scope.vars.at(-1)!.set(name, value);
    }
    return value;
  }

  private operand(op: Operand, scope: Scope): unknown {
    switch (op.kind) {
      case 'literal':
        return op.value;
      case 'dot':
        return op.fields.reduce(field, scope.dot);
      case 'variable':
        return op.fields.reduce(field, this.lookup(op.name, scope));
      case 'pipeline':
        return op.fields.reduce(field, this.pipeline(op.pipeline, scope));
      case 'function':
        return this.call(op.name, [], scope);
    }
  }

  private command(cmd: Command, scope: Scope, piped: unknown[]): unknown {
    const [head, ...rest] = cmd as [Operand, ...Operand[]];
    if (head.kind === 'function') {
      const args = [...rest.map((o) => this.operand(o, scope)), ...piped];
      return this.call(head.name, args, scope);
    }
    if (rest.length || piped.length) throw new TemplateError("can't give argument to non-function");
    return this.operand(head, scope);
  }

  private call(name: string, args: unknown[], _scope: Scope): unknown {
    const f = this.functions[name];
    if (f) return f(...args);
    switch (name) {
      case 'and':
        return args.find((a) => !truthy(a)) ?? args.at(-1);
      case 'or':
        return args.find(truthy) ?? args.at(-1);
      case 'not':
        return !truthy(args[0]);
      case 'len':
        return Array.isArray(args[0]) || typeof args[0] === 'string' ? (args[0] as { length: number }).length : Object.keys(args[0] ?? {}).length;
      case 'index':
        return args.slice(1).reduce((v, k) => (v as Record<string, unknown> | undefined)?.[k as string], args[0]);
      case 'print':
        return args.map(formatValue).join('');
      case 'println':
        return `${args.map(formatValue).join(' ')}\n`;
      case 'eq':
        return args.slice(1).some((a) => a === args[0]);
      case 'ne':
        return args[0] !== args[1];
      case 'lt':
        return (args[0] as number) < (args[1] as number);
      case 'le':
        return (args[0] as number) <= (args[1] as number);
      case 'gt':
        return (args[0] as number) > (args[1] as number);
      case 'ge':
        return (args[0] as number) >= (args[1] as number);
      case 'urlquery':
        return encodeURIComponent(args.map(formatValue).join('')).replace(/%20/g, '+');
      case 'html':
        return args.map(formatValue).join('').replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': '#34', "'": '#39' }[c]};`);
      case 'js':
        return JSON.stringify(args.map(formatValue).join('')).slice(1, -1);
    }
    throw new TemplateError(`function "${name}" not defined`);
  }
}
