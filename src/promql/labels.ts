/** A label set. Keys are label names; `__name__` holds the metric name. */
export type Labels = Readonly<Record<string, string>>;

export const METRIC_NAME = '__name__';

/** Label names in Prometheus' order (byte-wise). */
function sortedNames(labels: Labels): string[] {
  return Object.keys(labels).sort(compareStrings);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const keys = new WeakMap<Labels, string>();

/** A string identifying the label set, equal for equal sets whatever the key order. Label sets are never mutated once built, so the key is cached. */
export function labelsKey(labels: Labels): string {
  let key = keys.get(labels);
  if (key === undefined) {
    key = sortedNames(labels).map((n) => `${n}\xff${labels[n]}`).join('\xfe');
    keys.set(labels, key);
  }
  return key;
}

/** Key of only the named labels (`on`) or of all but the named ones and the metric name (`ignoring`, default). */
export function signature(labels: Labels, on: boolean, names: readonly string[]): string {
  if (on) return names.slice().sort(compareStrings).map((n) => `${n}\xff${labels[n] ?? ''}`).join('\xfe');
  return sortedNames(labels).filter((n) => n !== METRIC_NAME && !names.includes(n)).map((n) => `${n}\xff${labels[n]}`).join('\xfe');
}

export function withoutName(labels: Labels): Labels {
  if (!(METRIC_NAME in labels)) return labels;
  const { [METRIC_NAME]: _dropped, ...rest } = labels;
  return rest;
}

/** Prometheus' labels.Compare: label by label, name then value; a shorter prefix sorts first. */
export function compareLabels(a: Labels, b: Labels): number {
  const an = sortedNames(a);
  const bn = sortedNames(b);
  for (let i = 0; i < Math.min(an.length, bn.length); i++) {
    const c = compareStrings(an[i]!, bn[i]!) || compareStrings(a[an[i]!]!, b[bn[i]!]!);
    if (c !== 0) return c;
  }
  return an.length - bn.length;
}

/** Prometheus' labels.String(): `{a="1", b="2"}` with Go-quoted values. */
export function formatLabels(labels: Labels): string {
  return `{${sortedNames(labels).map((n) => `${n}=${goQuote(labels[n]!)}`).join(', ')}}`;
}

/** Go's strconv.Quote for the printable strings labels hold. */
function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u007f/g, '\\x7f');
}

export const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
