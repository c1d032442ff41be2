import type { VigilConfig } from '../config/load.js';
import { MatcherError, parseMatchers } from '../labels/matchers.js';
import { makeSilence } from './silences.js';
import { topologyCycle } from './topology.js';

type Problem = { path: (string | number)[]; message: string };

/** What the schema cannot say about silences, windows, topology and inhibition: matchers parse, names exist, no cycles. */
export function noiseProblems(config: VigilConfig): Problem[] {
  const problems: Problem[] = [];
  const matchers = (texts: readonly string[], path: (string | number)[]) => {
    try {
      parseMatchers(texts);
    } catch (err) {
      const index = err instanceof MatcherError ? [err.index] : [];
      problems.push({ path: [...path, ...index], message: (err as Error).message });
    }
  };
  config.silences.forEach((s, i) => {
    try {
      makeSilence({ matchers: s.matchers, startsAt: Date.parse(s.starts_at), endsAt: Date.parse(s.ends_at), createdBy: s.created_by, comment: s.comment }, 0);
    } catch (err) {
      problems.push({ path: ['silences', i], message: (err as Error).message });
    }
  });
  const intervals = new Set(config.notifier.time_intervals.map((t) => t.name));
  for (const section of ['maintenance_windows', 'monitoring_windows'] as const) {
    const seen = new Set<string>();
    config[section].forEach((w, i) => {
      if (seen.has(w.name)) problems.push({ path: [section, i, 'name'], message: `duplicate window name "${w.name}"` });
      seen.add(w.name);
      matchers(w.matchers, [section, i, 'matchers']);
      w.schedule.forEach((name, j) => {
        if (!intervals.has(name)) problems.push({ path: [section, i, 'schedule', j], message: `no time interval named "${name}" in notifier.time_intervals` });
      });
    });
  }
  const nodes = new Set<string>();
  config.topology.nodes.forEach((n, i) => {
    if (nodes.has(n.name)) problems.push({ path: ['topology', 'nodes', i, 'name'], message: `duplicate resource "${n.name}"` });
    nodes.add(n.name);
  });
  config.topology.nodes.forEach((n, i) => {
    if (n.parent !== undefined && !nodes.has(n.parent)) problems.push({ path: ['topology', 'nodes', i, 'parent'], message: `unknown resource "${n.parent}"` });
    n.depends_on.forEach((d, j) => {
      if (!nodes.has(d)) problems.push({ path: ['topology', 'nodes', i, 'depends_on', j], message: `unknown resource "${d}"` });
    });
  });
  const cycle = topologyCycle(config.topology);
  if (cycle) problems.push({ path: ['topology', 'nodes'], message: `dependency cycle: ${cycle.join(' -> ')}` });
  config.inhibit_rules.forEach((r, i) => {
    matchers(r.source_matchers, ['inhibit_rules', i, 'source_matchers']);
    matchers(r.target_matchers, ['inhibit_rules', i, 'target_matchers']);
  });
  return problems;
}
