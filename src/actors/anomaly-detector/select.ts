import type { Severity } from '../../bus/messages.js';
import type { AnomalyConfig } from '../../config/schema.js';

/** A metric glob (`*` = any run of characters) as an anchored regular expression. */
export function globRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

interface CompiledMatcher {
  metric: RegExp;
  match: [string, string][];
}

const compileMatcher = (m: { metric: string; match?: Record<string, string> }): CompiledMatcher => ({ metric: globRegExp(m.metric), match: Object.entries(m.match ?? {}) });
const matches = (m: CompiledMatcher, name: string, labels: Record<string, string>) => m.metric.test(name) && m.match.every(([k, v]) => labels[k] === v);

/** The parts of `anomaly` config that decide which series are watched and how events read, compiled once per config. */
export interface Selection {
  watched(name: string, labels: Record<string, string>): boolean;
  recommendation(name: string): string | undefined;
  severity(score: number): Severity;
}

export function compileSelection(config: AnomalyConfig): Selection {
  const watch = config.watch.map(compileMatcher);
  const ignore = config.ignore.map(compileMatcher);
  const hints = config.hints.map((h) => ({ metric: globRegExp(h.metric), recommendation: h.recommendation }));
  return {
    watched: (name, labels) => (watch.length === 0 || watch.some((m) => matches(m, name, labels))) && !ignore.some((m) => matches(m, name, labels)),
    recommendation: (name) => hints.find((h) => h.metric.test(name))?.recommendation,
    severity: (score) => (score >= config.severity.critical ? 'critical' : score >= config.severity.warning ? 'warning' : 'info'),
  };
}
