import type { NotifierConfig, RouteConfig } from '../../../config/schema.js';
import { MatcherError, parseMatchers } from '../../../labels/matchers.js';
import { timeIntervalProblems } from '../../../oncall/time-interval.js';

export interface RoutingProblem {
  /** Path inside the config file, e.g. ['notifier', 'route', 'routes', 1, 'matchers', 0]. */
  path: (string | number)[];
  message: string;
}

/**
 * What the schema cannot see in the routing config: every receiver, time interval and escalation policy
 * a route names exists, matchers parse, time intervals have a known zone and sensible ranges, and the
 * root route (which matches everything) has no matchers or time conditions, as in Alertmanager.
 */
export function routingProblems(notifier: NotifierConfig): RoutingProblem[] {
  const problems: RoutingProblem[] = [];
  const receivers = new Set(notifier.receivers.map((r) => r.name));
  const intervals = new Set(notifier.time_intervals.map((t) => t.name));
  const policies = new Set(notifier.escalation_policies.map((p) => p.name));

  notifier.time_intervals.forEach((interval, i) => {
    for (const p of timeIntervalProblems(interval)) problems.push({ path: ['notifier', 'time_intervals', i, ...p.field], message: p.message });
  });

  const visit = (route: RouteConfig, path: (string | number)[]) => {
    const named = (field: string, names: readonly string[] | undefined, known: Set<string>, what: string) =>
      names?.forEach((name, i) => {
        if (!known.has(name)) problems.push({ path: [...path, field, i], message: `no ${what} named "${name}"` });
      });
    if (route.receiver !== undefined && !receivers.has(route.receiver)) problems.push({ path: [...path, 'receiver'], message: `no receiver named "${route.receiver}"` });
    named('receivers', route.receivers, receivers, 'receiver');
    named('active_time_intervals', route.active_time_intervals, intervals, 'time interval');
    named('mute_time_intervals', route.mute_time_intervals, intervals, 'time interval');
    if (route.escalation !== undefined && !policies.has(route.escalation)) problems.push({ path: [...path, 'escalation'], message: `no escalation policy named "${route.escalation}"` });
    try {
      parseMatchers(route.matchers ?? []);
    } catch (err) {
      if (!(err instanceof MatcherError)) throw err;
      problems.push({ path: [...path, 'matchers', err.index], message: err.message });
    }
    if (route.group_by?.includes('...') && route.group_by.length > 1) problems.push({ path: [...path, 'group_by'], message: "'...' groups by all labels and cannot be combined with label names" });
    route.routes?.forEach((child, i) => visit(child, [...path, 'routes', i]));
  };

  const root = notifier.route;
  if (root) {
    const rootPath = ['notifier', 'route'];
    for (const field of ['matchers', 'active_time_intervals', 'mute_time_intervals'] as const) {
      if (root[field] !== undefined) problems.push({ path: [...rootPath, field], message: 'not allowed on the root route, which receives every alert' });
    }
    visit(root, rootPath);
  }
  return problems;
}
