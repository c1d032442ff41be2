import { expandTemplate, type TemplateData } from '../template/template.js';

/** What a runbook's templates see: the triggering alert's (or series') labels and value. */
export type RunData = TemplateData;

/** Fills one templated parameter. A label value stays one string: it becomes one argv element, never shell text. */
export const render = (text: string, data: RunData): string => expandTemplate(text, data);

export const renderAll = (values: readonly string[], data: RunData): string[] => values.map((v) => render(v, data));

/**
 * Fills a URL template. Values placed in the path or query are percent-encoded, so a label such as
 * `a/../admin?x=1` stays one path segment; the scheme and host part is filled as written, since it
 * usually is the target itself (`http://{{ $labels.instance }}/health`).
 */
export function renderUrl(template: string, data: RunData): string {
  const scheme = template.indexOf('://');
  const pathStart = scheme < 0 ? 0 : template.indexOf('/', scheme + 3);
  if (pathStart < 0) return render(template, data);
  const encoded: RunData = { value: data.value, labels: Object.fromEntries(Object.entries(data.labels).map(([k, v]) => [k, encodeURIComponent(v)])) };
  return render(template.slice(0, pathStart), data) + render(template.slice(pathStart), encoded);
}

const COMPARISON = /^\s*(.+?)\s*(>=|<=|==|!=|>|<)\s*(.+?)\s*$/;

type Op = '>' | '>=' | '<' | '<=' | '==' | '!=';

export function compare(a: number, op: Op, b: number): boolean {
  switch (op) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
}

/** Whether a `when` condition is well formed (checked at config load). */
export function whenProblem(when: string): string | undefined {
  if (when === 'always' || when === 'previous.ok' || when === 'previous.failed') return undefined;
  return COMPARISON.test(when) ? undefined : `"${when}" is not a condition: use always, previous.ok, previous.failed, or A op B with op one of > >= < <= == !=`;
}

/**
 * Decides whether a step runs. `previous` is the outcome of the step before (undefined for the first).
 * A comparison compares numbers when both sides are numbers, else strings (== and != only).
 */
export function shouldRun(when: string | undefined, previous: boolean | undefined, data: RunData): boolean {
  if (when === undefined || when === 'always') return true;
  if (when === 'previous.ok') return previous !== false;
  if (when === 'previous.failed') return previous === false;
  const m = COMPARISON.exec(when);
  if (!m) return false;
  const [left, op, right] = [render(m[1] as string, data), m[2] as Op, render(m[3] as string, data)];
  const [a, b] = [Number(left), Number(right)];
  if (left.trim() !== '' && right.trim() !== '' && Number.isFinite(a) && Number.isFinite(b)) return compare(a, op, b);
  if (op === '==') return left === right;
  if (op === '!=') return left !== right;
  return false;
}
