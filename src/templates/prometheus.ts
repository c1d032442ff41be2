import { goFloat, goG, goSprintf } from './go-format.js';
import { Template, TemplateError, type TemplateFunction } from './go-template.js';

/** A query result as templates see it (`query "expr" | first | value`). */
export interface QuerySample {
  Labels: Record<string, string>;
  Value: number;
}
export type TemplateQuery = (expr: string) => QuerySample[];

export interface AlertTemplateData {
  labels: Record<string, string>;
  value: number;
  externalLabels?: Record<string, string>;
  externalURL?: string;
}

function toFloat(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const n = Number(v.trim());
    if (v.trim() === '' || Number.isNaN(n)) {
      if (/^[+-]?inf$/i.test(v.trim())) return v.trim().startsWith('-') ? -Infinity : Infinity;
      if (/^nan$/i.test(v.trim())) return Number.NaN;
      throw new TemplateError(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    }
    return n;
  }
  if (typeof v === 'boolean') return Number(v);
  throw new TemplateError(`can't convert ${typeof v} to float`);
}

function scaled(v: number, base: number, up: string[], down: string[] | undefined, unit = ''): string {
  if (v === 0 || !Number.isFinite(v)) return `${goG(v, 4)}${unit}`;
  let prefix = '';
  if (Math.abs(v) >= 1 || !down) {
    for (const p of up) {
      if (Math.abs(v) < base) break;
      prefix = p;
      v /= base;
    }
  } else {
    for (const p of down) {
      if (Math.abs(v) >= 1) break;
      prefix = p;
      v *= 1000;
    }
  }
  return `${goG(v, 4)}${prefix}${unit}`;
}

const SMALL = ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y'];

function humanizeDuration(input: unknown): string {
  let v = toFloat(input);
  if (!Number.isFinite(v)) return goG(v, 4);
  if (v === 0) return `${goG(v, 4)}s`;
  if (Math.abs(v) >= 1) {
    const sign = v < 0 ? '-' : '';
    v = Math.abs(v);
    const d = Math.trunc(v);
    const seconds = d % 60;
    const minutes = Math.trunc(d / 60) % 60;
    const hours = Math.trunc(d / 3600) % 24;
    const days = Math.trunc(d / 86400);
    if (days) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${goG(v, 4)}s`;
  }
  return scaled(v, 1000, [], SMALL, 's');
}

/** Prometheus' template functions (template/template.go), minus those that need a web UI. */
export function prometheusFunctions(query?: TemplateQuery): Record<string, TemplateFunction> {
  return {
    printf: (format, ...args) => goSprintf(String(format), args),
    humanize: (v) => scaled(toFloat(v), 1000, ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'], SMALL),
    humanize1024: (v) => {
      const n = toFloat(v);
      if (Math.abs(n) <= 1 || !Number.isFinite(n)) return goG(n, 4);
      return scaled(n, 1024, ['Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi'], undefined);
    },
    humanizeDuration,
    humanizePercentage: (v) => `${goG(toFloat(v) * 100, 4)}%`,
    humanizeTimestamp: (v) => {
      const n = toFloat(v);
      if (!Number.isFinite(n)) return goG(n, 4);
      return new Date(n * 1000).toISOString().replace('T', ' ').replace('Z', ' +0000 UTC').replace(/\.000 /, ' ');
    },
    toUpper: (s) => String(s).toUpperCase(),
    toLower: (s) => String(s).toLowerCase(),
    title: (s) => String(s).replace(/\b\w/g, (c) => c.toUpperCase()),
    match: (pattern, s) => new RegExp(String(pattern)).test(String(s)),
    reReplaceAll: (pattern, repl, text) => String(text).replace(new RegExp(String(pattern), 'g'), String(repl).replace(/\$\{?(\w+)\}?/g, '$$$1')),
    safeHtml: (s) => String(s),
    stripPort: (s) => String(s).replace(/:\d+$/, ''),
    stripDomain: (s) => String(s).replace(/^([^.:]+)(\.[^:]*)?(:\d+)?$/, '$1$3'),
    args: (...a) => Object.fromEntries(a.map((v, i) => [`arg${i}`, v])),
    strvalue: (s) => (s as QuerySample).Labels?.__value__ ?? '',
    first: (v) => {
      if (!Array.isArray(v) || v.length === 0) throw new TemplateError('first() called on vector with no elements');
      return v[0];
    },
    label: (name, s) => (s as QuerySample).Labels?.[String(name)] ?? '',
    value: (s) => (s as QuerySample).Value,
    sortByLabel: (name, v) => [...(v as QuerySample[])].sort((a, b) => (a.Labels[String(name)] ?? '').localeCompare(b.Labels[String(name)] ?? '')),
    parseDuration: (s) => {
      const m = /^(\d+)(ms|s|m|h|d|w|y)$/.exec(String(s));
      if (!m) throw new TemplateError(`not a valid duration string: ${JSON.stringify(s)}`);
      return (Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 }[m[2] as 'ms']);
    },
    query: (expr) => {
      if (!query) throw new TemplateError('query is not available here');
      return query(String(expr));
    },
    externalURL: () => '',
    pathPrefix: () => '',
    graphLink: (expr) => `/graph?g0.expr=${encodeURIComponent(String(expr))}&g0.tab=0`,
    tableLink: (expr) => `/graph?g0.expr=${encodeURIComponent(String(expr))}&g0.tab=1`,
    toTime: (v) => new Date(toFloat(v) * 1000).toISOString(),
  };
}

/** An alert annotation or label template, parsed once (a syntax error throws TemplateError). */
export class AlertTemplate {
  private readonly template: Template | undefined;
  constructor(
    readonly text: string,
    query?: TemplateQuery,
  ) {
    this.template = text.includes('{{') ? new Template(text, prometheusFunctions(query)) : undefined;
  }

  /** Expands with Prometheus' variables; an error renders as Prometheus does, inside the text. */
  expand(data: AlertTemplateData): string {
    if (!this.template) return this.text;
    const dot = { Labels: data.labels, Value: data.value, ExternalLabels: data.externalLabels ?? {}, ExternalURL: data.externalURL ?? '' };
    try {
      return this.template.execute(dot, { labels: dot.Labels, value: dot.Value, externalLabels: dot.ExternalLabels, externalURL: dot.ExternalURL });
    } catch (err) {
      return `<error expanding template: ${(err as Error).message}>`;
    }
  }
}

export { goFloat, TemplateError };
