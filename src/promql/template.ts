import { parseGoFloat } from './functions.js';
import { goSprintf } from './go-format.js';
import { parseDuration } from './parser.js';

/**
 * The part of Go's text/template that Prometheus alert labels and annotations use: {{ pipelines }}, variables,
 * fields, if/with/range/else/end, trim markers, comments and Prometheus' template functions (template/template.go).
 */

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

type Operand =
  | { kind: 'field'; base: 'dot' | string; path: string[] }
  | { kind: 'literal'; value: unknown }
  | { kind: 'call'; name: string; args: Operand[] }
  | { kind: 'pipeline'; pipe: Pipeline };

interface Pipeline {
  declare?: string;
  /** `{{ range $key, $value := … }}` */
  rangeVars?: [string, string];
  commands: Operand[][];
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipeline }
  | { kind: 'if' | 'with' | 'range'; pipe: Pipeline; body: Node[]; otherwise: Node[] };

export interface TemplateData {
  Labels: Record<string, string>;
  ExternalLabels: Record<string, string>;
  ExternalURL: string;
  Value: number;
}

export interface TemplateContext {
  /** Runs a PromQL query for the `query` function; each result is {Labels, Value}. */
  query?: (q: string) => Array<{ Labels: Record<string, string>; Value: number }>;
  externalURL?: string;
}

type Fn = (ctx: TemplateContext, ...args: unknown[]) => unknown;

const HUMANIZE_SMALL = ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y'];

function toFloat(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const f = parseGoFloat(v);
    if (f === undefined) throw new TemplateError(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    return f;
  }
  throw new TemplateError(`can't convert ${typeof v} to float`);
}

function humanizeSmall(v: number, suffix: string): string {
  let prefix = '';
  for (const p of HUMANIZE_SMALL) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${goSprintf('%.4g', [v])}${prefix}${suffix}`;
}

const FUNCTIONS: Record<string, Fn> = {
  humanize: (_c, i) => {
    let v = toFloat(i);
    if (v === 0 || !Number.isFinite(v)) return goSprintf('%.4g', [v]);
    if (Math.abs(v) >= 1) {
      let prefix = '';
      for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
        if (Math.abs(v) < 1000) break;
        prefix = p;
        v /= 1000;
      }
      return `${goSprintf('%.4g', [v])}${prefix}`;
    }
    return humanizeSmall(v, '');
  },
  humanize1024: (_c, i) => {
    let v = toFloat(i);
    if (Math.abs(v) <= 1 || !Number.isFinite(v)) return goSprintf('%.4g', [v]);
    let prefix = '';
    for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
      if (Math.abs(v) < 1024) break;
      prefix = p;
      v /= 1024;
    }
    return `${goSprintf('%.4g', [v])}${prefix}`;
  },
  humanizeDuration: (_c, i) => {
    let v = toFloat(i);
    if (!Number.isFinite(v)) return goSprintf('%.4g', [v]);
    if (v === 0) return goSprintf('%.4gs', [v]);
    if (Math.abs(v) >= 1) {
      let sign = '';
      if (v < 0) {
        sign = '-';
        v = -v;
      }
      const duration = Math.trunc(v);
      const seconds = duration % 60;
      const minutes = Math.trunc(duration / 60) % 60;
      const hours = Math.trunc(duration / 3600) % 24;
      const days = Math.trunc(duration / 86400);
      if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
      if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
      if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
      return `${sign}${goSprintf('%.4g', [v])}s`;
    }
    return humanizeSmall(v, 's');
  },
  humanizePercentage: (_c, i) => goSprintf('%.4g%%', [toFloat(i) * 100]),
  humanizeTimestamp: (_c, i) => {
    const v = toFloat(i);
    if (!Number.isFinite(v)) return goSprintf('%.4g', [v]);
    return new Date(v * 1000).toISOString().replace('T', ' ').replace(/\.?0*Z$/, ' +0000 UTC');
  },
  toTime: (_c, i) => new Date(toFloat(i) * 1000),
  printf: (_c, format, ...args) => goSprintf(String(format), args),
  print: (_c, ...args) => args.map(printValue).join(''),
  println: (_c, ...args) => `${args.map(printValue).join(' ')}\n`,
  toUpper: (_c, s) => String(s).toUpperCase(),
  toLower: (_c, s) => String(s).toLowerCase(),
  title: (_c, s) => String(s).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, pre: string, c: string) => pre + c.toUpperCase()),
  strvalue: (_c, s) => (s as { Labels?: Record<string, string> })?.Labels?.__value__ ?? '',
  match: (_c, pattern, text) => new RegExp(String(pattern)).test(String(text)),
  reReplaceAll: (_c, pattern, repl, text) => String(text).replace(new RegExp(String(pattern), 'g'), String(repl).replace(/\$\{?(\w+)\}?/g, '$<$1>').replace(/\$<(\d+)>/g, '$$$1')),
  safeHtml: (_c, s) => String(s),
  stripPort: (_c, s) => String(s).replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1'),
  externalURL: (c) => c.externalURL ?? '',
  pathPrefix: (c) => (c.externalURL ? new URL(c.externalURL).pathname.replace(/\/$/, '') : ''),
  graphLink: (_c, q) => `/graph?g0.expr=${encodeURIComponent(String(q))}&g0.tab=0`,
  tableLink: (_c, q) => `/graph?g0.expr=${encodeURIComponent(String(q))}&g0.tab=1`,
  args: (_c, ...args) => Object.fromEntries(args.map((a, i) => [`arg${i}`, a])),
  parseDuration: (_c, s) => {
    try {
      return parseDuration(String(s)) / 1000;
    } catch (err) {
      throw new TemplateError((err as Error).message);
    }
  },
  query: (c, q) => {
    if (!c.query) throw new TemplateError('query is not available');
    return c.query(String(q));
  },
  first: (_c, list) => {
    if (!Array.isArray(list) || list.length === 0) throw new TemplateError('first() called on vector with no elements');
    return list[0];
  },
  label: (_c, name, sample) => (sample as { Labels?: Record<string, string> })?.Labels?.[String(name)] ?? '',
  value: (_c, sample) => (sample as { Value?: number })?.Value,
  sortByLabel: (_c, name, list) => (Array.isArray(list) ? list.slice().sort((a, b) => String(a.Labels?.[String(name)] ?? '').localeCompare(String(b.Labels?.[String(name)] ?? ''))) : list),
  len: (_c, x) => (Array.isArray(x) || typeof x === 'string' ? x.length : x && typeof x === 'object' ? Object.keys(x).length : 0),
  index: (_c, x, ...keys) => keys.reduce((acc: unknown, k) => (acc as Record<string, unknown>)?.[String(k)] ?? '', x),
  not: (_c, x) => !truthy(x),
  and: (_c, ...xs) => xs.find((x) => !truthy(x)) ?? xs[xs.length - 1],
  or: (_c, ...xs) => xs.find((x) => truthy(x)) ?? xs[xs.length - 1],
  eq: (_c, a, ...bs) => bs.some((b) => a === b),
  ne: (_c, a, b) => a !== b,
  lt: (_c, a, b) => (a as number) < (b as number),
  le: (_c, a, b) => (a as number) <= (b as number),
  gt: (_c, a, b) => (a as number) > (b as number),
  ge: (_c, a, b) => (a as number) >= (b as number),
  html: (_c, s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;'),
  urlquery: (_c, s) => encodeURIComponent(String(s)),
  js: (_c, s) => String(s).replace(/[\\'"<>&=]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`),
};

function truthy(x: unknown): boolean {
  if (x === undefined || x === null || x === false || x === 0 || x === '') return false;
  if (Array.isArray(x)) return x.length > 0;
  if (typeof x === 'object' && !(x instanceof Date)) return Object.keys(x).length > 0;
  return true;
}

/** Go's fmt %v of a template value. */
function printValue(x: unknown): string {
  if (x === undefined || x === null) return '<no value>';
  if (typeof x === 'number') return goSprintf('%v', [x]);
  if (typeof x === 'string') return x;
  if (typeof x === 'boolean') return String(x);
  if (Array.isArray(x)) return `[${x.map(printValue).join(' ')}]`;
  if (x instanceof Date) return x.toISOString();
  const obj = x as Record<string, unknown>;
  return `map[${Object.keys(obj).sort().map((k) => `${k}:${printValue(obj[k])}`).join(' ')}]`;
}

// ---- lexing and parsing ----

const TOKEN_RE = /\s*(?:(,)|(:=|=)|(\|)|(\()|(\))|("(?:[^"\\]|\\.)*"|`[^`]*`|'(?:[^'\\]|\\.)')|(\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)|(\.(?:[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)?)|([+-]?(?:0x[0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+))|([A-Za-z_][A-Za-z0-9_]*))/y;

type Token = { type: 'comma' | 'assign' | 'pipe' | 'lparen' | 'rparen' | 'string' | 'var' | 'field' | 'number' | 'ident'; text: string };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  TOKEN_RE.lastIndex = 0;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    TOKEN_RE.lastIndex = pos;
    const m = TOKEN_RE.exec(src);
    if (!m) throw new TemplateError(`unexpected ${JSON.stringify(src.slice(pos).trim()[0])} in command`);
    pos = TOKEN_RE.lastIndex;
    const types: Token['type'][] = ['comma', 'assign', 'pipe', 'lparen', 'rparen', 'string', 'var', 'field', 'number', 'ident'];
    const idx = m.slice(1).findIndex((g) => g !== undefined);
    tokens.push({ type: types[idx]!, text: m[idx + 1]! });
  }
  return tokens;
}

function unquoteGo(text: string): string {
  if (text.startsWith('`')) return text.slice(1, -1);
  if (text.startsWith("'")) return JSON.parse(`"${text.slice(1, -1)}"`) as string;
  return JSON.parse(text.replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1')) as string;
}

class PipelineParser {
  private i = 0;
  constructor(private readonly tokens: Token[], private readonly vars: Set<string>) {}

  parse(): Pipeline {
    let declare: string | undefined;
    let rangeVars: [string, string] | undefined;
    const [t0, t1, t2, t3] = this.tokens;
    if (t0?.type === 'var' && t1?.type === 'assign') {
      declare = t0.text;
      this.i = 2;
    } else if (t0?.type === 'var' && t1?.type === 'comma' && t2?.type === 'var' && t3?.type === 'assign') {
      rangeVars = [t0.text, t2.text];
      this.i = 4;
    }
    const pipe = this.pipeline();
    if (this.i < this.tokens.length) throw new TemplateError(`unexpected ${JSON.stringify(this.tokens[this.i]!.text)} in operand`);
    for (const v of rangeVars ?? (declare ? [declare] : [])) this.vars.add(v);
    return { ...(declare ? { declare } : {}), ...(rangeVars ? { rangeVars } : {}), commands: pipe };
  }

  private pipeline(): Operand[][] {
    const commands: Operand[][] = [];
    for (;;) {
      const cmd: Operand[] = [];
      while (this.i < this.tokens.length && this.tokens[this.i]!.type !== 'pipe' && this.tokens[this.i]!.type !== 'rparen') cmd.push(this.operand());
      if (cmd.length === 0) throw new TemplateError('missing value for command');
      commands.push(cmd);
      if (this.tokens[this.i]?.type !== 'pipe') return commands;
      this.i++;
    }
  }

  private operand(): Operand {
    const t = this.tokens[this.i++]!;
    switch (t.type) {
      case 'string': return { kind: 'literal', value: unquoteGo(t.text) };
      case 'number': return { kind: 'literal', value: Number(t.text) };
      case 'field': return { kind: 'field', base: 'dot', path: t.text === '.' ? [] : t.text.slice(1).split('.') };
      case 'var': {
        const [name, ...path] = t.text.split('.');
        if (!this.vars.has(name!)) throw new TemplateError(`undefined variable "${name}"`);
        return { kind: 'field', base: name!, path };
      }
      case 'ident': {
        if (t.text === 'true' || t.text === 'false') return { kind: 'literal', value: t.text === 'true' };
        if (t.text === 'nil') return { kind: 'literal', value: null };
        if (!(t.text in FUNCTIONS)) throw new TemplateError(`function "${t.text}" not defined`);
        return { kind: 'call', name: t.text, args: [] };
      }
      case 'lparen': {
        const pipe = this.pipeline();
        if (this.tokens[this.i++]?.type !== 'rparen') throw new TemplateError('unclosed left paren');
        return { kind: 'pipeline', pipe: { commands: pipe } };
      }
      default: throw new TemplateError(`unexpected ${JSON.stringify(t.text)} in operand`);
    }
  }
}

/** Parses a template; throws TemplateError with Go's wording for what it rejects. */
function parseTemplate(name: string, text: string, predeclared: readonly string[] = []): Node[] {
  const vars = new Set(['$', ...predeclared]);
  type Block = Extract<Node, { body: Node[] }>;
  // root: the block {{end}} closes; node: the innermost if/with an {{else if}} chain has reached.
  const stack: Array<{ root: Block | null; node: Block | null; list: Node[]; inElse: boolean }> = [{ root: null, node: null, list: [], inElse: false }];
  let pos = 0;
  let trimNext = false;
  const fail = (msg: string): never => {
    throw new TemplateError(`template: ${name}:${text.slice(0, pos).split('\n').length}: ${msg}`);
  };
  const top = (): (typeof stack)[number] => stack[stack.length - 1]!;
  while (pos <= text.length) {
    const open = text.indexOf('{{', pos);
    let chunk = text.slice(pos, open === -1 ? text.length : open);
    if (trimNext) chunk = chunk.replace(/^\s+/, '');
    const trimLeft = open !== -1 && /^\{\{-\s/.test(text.slice(open));
    if (trimLeft) chunk = chunk.replace(/\s+$/, '');
    if (chunk) top().list.push({ kind: 'text', text: chunk });
    if (open === -1) break;
    const close = text.indexOf('}}', open + 2);
    if (close === -1) {
      pos = open;
      fail('unclosed action');
    }
    const trimRight = /\s-$/.test(text.slice(open + 2, close));
    let inner = text.slice(open + 2 + (trimLeft ? 1 : 0), close - (trimRight ? 1 : 0)).trim();
    pos = close + 2;
    trimNext = trimRight;
    if (inner.startsWith('/*')) {
      if (!inner.endsWith('*/')) fail('unclosed comment');
      continue;
    }
    const keyword = /^(if|with|range|else|end|define|template|block)\b/.exec(inner)?.[1];
    try {
      if (keyword === 'end') {
        if (stack.length === 1) fail('unexpected {{end}}');
        const done = stack.pop()!;
        top().list.push(done.root!);
        continue;
      }
      if (keyword === 'else') {
        const frame = top();
        if (!frame.node || frame.inElse) fail('unexpected {{else}}');
        frame.inElse = true;
        frame.list = frame.node!.otherwise;
        inner = inner.slice(4).trim();
        const elseIf = /^(if|with)\b/.exec(inner)?.[1];
        if (elseIf) {
          // {{else if x}} opens a nested block closed by the same {{end}}.
          const node = { kind: elseIf as 'if' | 'with', pipe: new PipelineParser(tokenize(inner.slice(elseIf.length)), vars).parse(), body: [], otherwise: [] };
          frame.list.push(node);
          frame.node = node;
          frame.inElse = false;
          frame.list = node.body;
        }
        continue;
      }
      if (keyword === 'define' || keyword === 'template' || keyword === 'block') fail(`{{${keyword}}} is not supported`);
      if (keyword) {
        const pipe = new PipelineParser(tokenize(inner.slice(keyword.length)), vars).parse();
        const node = { kind: keyword as 'if' | 'with' | 'range', pipe, body: [] as Node[], otherwise: [] as Node[] };
        stack.push({ root: node, node, list: node.body, inElse: false });
        continue;
      }
      top().list.push({ kind: 'action', pipe: new PipelineParser(tokenize(inner), vars).parse() });
    } catch (err) {
      if (err instanceof TemplateError && !err.message.startsWith('template:')) fail(err.message);
      throw err;
    }
  }
  if (stack.length > 1) fail('unexpected EOF');
  return stack[0]!.list;
}

function execute(nodes: Node[], dot: unknown, vars: Map<string, unknown>, ctx: TemplateContext): string {
  let out = '';
  for (const node of nodes) {
    switch (node.kind) {
      case 'text': out += node.text; break;
      case 'action': {
        const value = evalPipeline(node.pipe, dot, vars, ctx);
        if (!node.pipe.declare) out += printValue(value);
        break;
      }
      case 'if': case 'with': {
        const value = evalPipeline(node.pipe, dot, vars, ctx);
        if (truthy(value)) out += execute(node.body, node.kind === 'with' ? value : dot, vars, ctx);
        else out += execute(node.otherwise, dot, vars, ctx);
        break;
      }
      case 'range': {
        const value = evalPipeline({ commands: node.pipe.commands }, dot, vars, ctx);
        const entries: Array<[unknown, unknown]> = Array.isArray(value)
          ? value.map((item, i) => [i, item])
          : value && typeof value === 'object' ? Object.keys(value).sort().map((k) => [k, (value as Record<string, unknown>)[k]]) : [];
        if (entries.length === 0) out += execute(node.otherwise, dot, vars, ctx);
        for (const [key, item] of entries) {
          if (node.pipe.rangeVars) {
            vars.set(node.pipe.rangeVars[0], key);
            vars.set(node.pipe.rangeVars[1], item);
          } else if (node.pipe.declare) vars.set(node.pipe.declare, item);
          out += execute(node.body, item, vars, ctx);
        }
        break;
      }
    }
  }
  return out;
}

function evalPipeline(pipe: Pipeline, dot: unknown, vars: Map<string, unknown>, ctx: TemplateContext): unknown {
  let value: unknown;
  pipe.commands.forEach((cmd, i) => {
    value = evalCommand(cmd, dot, vars, ctx, i > 0 ? [value] : []);
  });
  if (pipe.declare) vars.set(pipe.declare, value);
  return value;
}

function evalCommand(cmd: Operand[], dot: unknown, vars: Map<string, unknown>, ctx: TemplateContext, piped: unknown[]): unknown {
  const [head, ...rest] = cmd;
  if (head!.kind === 'call') {
    const args = [...rest.map((o) => evalOperand(o, dot, vars, ctx)), ...piped];
    return FUNCTIONS[head!.name]!(ctx, ...args);
  }
  if (rest.length > 0 || piped.length > 0) throw new TemplateError(`can't give argument to non-function`);
  return evalOperand(head!, dot, vars, ctx);
}

function evalOperand(o: Operand, dot: unknown, vars: Map<string, unknown>, ctx: TemplateContext): unknown {
  switch (o.kind) {
    case 'literal': return o.value;
    case 'call': return FUNCTIONS[o.name]!(ctx);
    case 'pipeline': return evalPipeline(o.pipe, dot, vars, ctx);
    case 'field': {
      let value = o.base === 'dot' ? dot : vars.get(o.base);
      for (const key of o.path) {
        if (value === null || typeof value !== 'object') throw new TemplateError(`can't evaluate field ${key}`);
        const next = (value as Record<string, unknown>)[key];
        // Prometheus sets missingkey=zero: a missing label reads as "".
        value = next === undefined ? '' : next;
      }
      return value;
    }
  }
}

const PROMETHEUS_VARIABLES = ['$labels', '$externalLabels', '$externalURL', '$value'];

/** Checks an alert label or annotation template the way rulefmt does; throws TemplateError. */
export function checkAlertTemplate(name: string, text: string): void {
  parseTemplate(name, text, PROMETHEUS_VARIABLES);
}

/** Parsed alert templates by name and text: a rule expands the same few texts at every evaluation. */
const parsedTemplates = new Map<string, Node[]>();

/** Expands an alert label or annotation template; errors become Prometheus' `<error expanding template: …>`. */
export function expandAlertTemplate(name: string, text: string, data: TemplateData, ctx: TemplateContext = {}): string {
  try {
    const key = `${name}\n${text}`;
    let nodes = parsedTemplates.get(key);
    if (!nodes) {
      nodes = parseTemplate(name, text, PROMETHEUS_VARIABLES);
      if (parsedTemplates.size > 10_000) parsedTemplates.clear();
      parsedTemplates.set(key, nodes);
    }
    const vars = new Map<string, unknown>([
      ['$', data], ['$labels', data.Labels], ['$externalLabels', data.ExternalLabels], ['$externalURL', data.ExternalURL], ['$value', data.Value],
    ]);
    return execute(nodes, data, vars, ctx);
  } catch (err) {
    return `<error expanding template: ${(err as Error).message}>`;
  }
}
