import type { Topology } from '../noise/topology.js';

/** How sure a relation between two alerts is, strongest first. */
export const CONFIDENCES = ['high', 'medium-high', 'medium', 'low', 'very low'] as const;
export type Confidence = (typeof CONFIDENCES)[number];
export const stronger = (a: Confidence, b: Confidence) => CONFIDENCES.indexOf(a) < CONFIDENCES.indexOf(b);
export const atLeast = (c: Confidence, min: Confidence) => CONFIDENCES.indexOf(c) <= CONFIDENCES.indexOf(min);

/** What correlation needs to know of an alert. */
export interface AlertFacts {
  fingerprint: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  /** What suppresses it, e.g. `inhibited-by:FP`. */
  suppressedBy?: string | undefined;
}

export interface Relation {
  confidence: Confidence;
  reason: string;
}

export interface RelationContext {
  topology: Topology;
  sharedLabels: readonly string[];
}

const WORD = /[a-z0-9]+/g;
const words = (text: string) => new Set(text.toLowerCase().match(WORD) ?? []);

/** Jaccard similarity of the words of two texts. */
function similarity(a: string, b: string): number {
  const wa = words(a);
  const wb = words(b);
  if (wa.size === 0 || wb.size === 0) return 0;
  let both = 0;
  for (const w of wa) if (wb.has(w)) both++;
  return both / (wa.size + wb.size - both);
}

const textOf = (a: AlertFacts) => [a.labels.alertname ?? '', a.annotations.summary ?? '', a.annotations.description ?? ''].join(' ');
const nameOf = (a: AlertFacts, label: string) => `${a.labels.alertname ?? 'alert'}${a.labels[label] ? ` on ${a.labels[label]}` : ''}`;

/**
 * The strongest reason to think two alerts (close in time) belong to one incident: one inhibits the
 * other or depends on the other's resource (high); their resources share a dependency (medium-high);
 * they share a label that names a service (medium); their text is alike (low); else only time (very low).
 */
export function relate(a: AlertFacts, b: AlertFacts, ctx: RelationContext): Relation {
  const label = ctx.topology.label;
  if (a.suppressedBy === `inhibited-by:${b.fingerprint}`) return { confidence: 'high', reason: `${nameOf(a, label)} is inhibited by ${nameOf(b, label)}` };
  if (b.suppressedBy === `inhibited-by:${a.fingerprint}`) return { confidence: 'high', reason: `${nameOf(b, label)} is inhibited by ${nameOf(a, label)}` };
  const ra = a.labels[label];
  const rb = b.labels[label];
  if (ra !== undefined && rb !== undefined) {
    if (ra === rb) return { confidence: 'high', reason: `same resource ${ra}` };
    if (ctx.topology.dependsOn(ra, rb)) return { confidence: 'high', reason: `${ra} depends on ${rb}` };
    if (ctx.topology.dependsOn(rb, ra)) return { confidence: 'high', reason: `${rb} depends on ${ra}` };
    if (ctx.topology.related(ra, rb)) return { confidence: 'medium-high', reason: `${ra} and ${rb} share a dependency` };
  }
  for (const l of ctx.sharedLabels) {
    const v = a.labels[l];
    if (v && v === b.labels[l]) return { confidence: 'medium', reason: `same ${l}=${v}` };
  }
  if (a.labels.alertname && a.labels.alertname === b.labels.alertname) return { confidence: 'low', reason: `same alert ${a.labels.alertname}` };
  if (similarity(textOf(a), textOf(b)) >= 0.5) return { confidence: 'low', reason: 'similar text' };
  return { confidence: 'very low', reason: 'close in time' };
}

/** The strongest relation between an alert and any of a group. */
export function relateToGroup(a: AlertFacts, group: readonly AlertFacts[], ctx: RelationContext): Relation {
  let best: Relation = { confidence: 'very low', reason: 'close in time' };
  for (const b of group) {
    const r = relate(a, b, ctx);
    if (stronger(r.confidence, best.confidence)) best = r;
    if (best.confidence === 'high') break;
  }
  return best;
}

export interface RootCause {
  fingerprint: string;
  reason: string;
}

/**
 * The root cause among an incident's alerts: the deepest failing dependency, i.e. an alert whose
 * resource needs none of the other failing resources and that nothing inhibits; among those, the one
 * most other alerts depend on, then the most severe, then the first.
 */
export function rootCause(alerts: readonly (AlertFacts & { at: number })[], topology: Topology): RootCause | undefined {
  if (alerts.length === 0) return undefined;
  const label = topology.label;
  const members = new Set(alerts.map((a) => a.fingerprint));
  const resources = new Set(alerts.map((a) => a.labels[label]).filter((r): r is string => r !== undefined));
  const candidates = alerts.filter((a) => {
    const inhibitor = a.suppressedBy?.startsWith('inhibited-by:') ? a.suppressedBy.slice('inhibited-by:'.length) : undefined;
    if (inhibitor !== undefined && members.has(inhibitor)) return false;
    const r = a.labels[label];
    return r === undefined || ![...resources].some((other) => other !== r && topology.dependsOn(r, other));
  });
  const pool = candidates.length > 0 ? candidates : alerts;
  const downstream = (a: AlertFacts) => {
    const r = a.labels[label];
    return r === undefined ? 0 : alerts.filter((o) => o.labels[label] !== undefined && o.labels[label] !== r && topology.dependsOn(o.labels[label] as string, r)).length;
  };
  const severity = (a: AlertFacts) => ['critical', 'warning', 'info'].indexOf(a.labels.severity ?? 'info');
  const ranked = [...pool].sort((x, y) => downstream(y) - downstream(x) || severity(x) - severity(y) || x.at - y.at);
  const best = ranked[0] as AlertFacts & { at: number };
  const below = downstream(best);
  return {
    fingerprint: best.fingerprint,
    reason: below > 0 ? `deepest failing dependency: ${below} other alert${below === 1 ? ' depends' : 's depend'} on ${best.labels[label]}` : candidates.length === 1 ? 'the only alert no other explains' : 'first of the unexplained alerts',
  };
}
