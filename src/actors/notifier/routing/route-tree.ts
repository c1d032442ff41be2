import type { NotifierConfig, RouteConfig } from '../../../config/schema.js';
import { parseDuration } from '../../../series/duration.js';
import { formatMatcher, matchesAll, parseMatchers, type Matcher } from '../../../labels/matchers.js';

/** Alertmanager's defaults for the root route. */
export const DEFAULT_GROUP_WAIT = '30s';
export const DEFAULT_GROUP_INTERVAL = '5m';
export const DEFAULT_REPEAT_INTERVAL = '4h';

/** `group_by: ['...']`: every label of the alert is a group label (one group per alert). */
export const GROUP_BY_ALL = '...';

/** A route with everything it inherits resolved: what grouping and flushing need. Plain data, so a group can keep a copy. */
export interface RouteSettings {
  /** Stable, readable identity: the matchers from the root down (`{}/{severity="critical"}`), as Alertmanager's route key. */
  key: string;
  receivers: string[];
  /** Label names, or `'...'` for all labels. */
  groupBy: string[] | typeof GROUP_BY_ALL;
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  /** Not inherited, as in Alertmanager: each route says when it applies. */
  activeTimeIntervals: string[];
  muteTimeIntervals: string[];
  minFiring?: number;
  /** Inherited: a policy covers its whole subtree. */
  escalation?: string;
}

export interface CompiledRoute extends RouteSettings {
  matchers: Matcher[];
  continue: boolean;
  routes: CompiledRoute[];
}

/**
 * The root route when the config has none: everything to `default_receiver`, one group per alertname,
 * sent at once (group_wait and group_interval 0s), so a config without `route` notifies as soon as an
 * alert fires or resolves, as before routing existed; still-firing groups repeat every 4h.
 */
export function implicitRootRoute(defaultReceiver: string): RouteConfig {
  return { receiver: defaultReceiver, group_by: ['alertname'], group_wait: '0s', group_interval: '0s', continue: false };
}

function receiversOf(route: RouteConfig): string[] | undefined {
  const named = [...(route.receiver ? [route.receiver] : []), ...(route.receivers ?? [])];
  return named.length ? [...new Set(named)] : undefined;
}

function groupByOf(route: RouteConfig): RouteSettings['groupBy'] | undefined {
  if (!route.group_by) return undefined;
  return route.group_by.includes(GROUP_BY_ALL) ? GROUP_BY_ALL : [...new Set(route.group_by)].sort();
}

/** The root route's defaults, which every route below inherits unless it sets its own. */
function rootDefaults(defaultReceiver: string): RouteSettings {
  return {
    key: '{}',
    receivers: [defaultReceiver],
    groupBy: [],
    groupWaitMs: parseDuration(DEFAULT_GROUP_WAIT),
    groupIntervalMs: parseDuration(DEFAULT_GROUP_INTERVAL),
    repeatIntervalMs: parseDuration(DEFAULT_REPEAT_INTERVAL),
    activeTimeIntervals: [],
    muteTimeIntervals: [],
  };
}

function compileNode(route: RouteConfig, parent: RouteSettings, key: string): CompiledRoute {
  const matchers = parseMatchers(route.matchers ?? []);
  const settings: RouteSettings = {
    key,
    receivers: receiversOf(route) ?? parent.receivers,
    groupBy: groupByOf(route) ?? parent.groupBy,
    groupWaitMs: route.group_wait !== undefined ? parseDuration(route.group_wait) : parent.groupWaitMs,
    groupIntervalMs: route.group_interval !== undefined ? parseDuration(route.group_interval) : parent.groupIntervalMs,
    repeatIntervalMs: route.repeat_interval !== undefined ? parseDuration(route.repeat_interval) : parent.repeatIntervalMs,
    activeTimeIntervals: route.active_time_intervals ?? [],
    muteTimeIntervals: route.mute_time_intervals ?? [],
    ...(route.min_firing !== undefined ? { minFiring: route.min_firing } : {}),
    ...((route.escalation ?? parent.escalation) !== undefined ? { escalation: route.escalation ?? parent.escalation } : {}),
  };
  const children = route.routes ?? [];
  const childKeys = children.map((child) => `${key}/{${parseMatchers(child.matchers ?? []).map(formatMatcher).join(',')}}`);
  return {
    ...settings,
    matchers,
    continue: route.continue,
    // Siblings with the same matchers would share a key (and so their groups): the position tells them apart.
    routes: children.map((child, i) => compileNode(child, settings, childKeys.indexOf(childKeys[i]!) === childKeys.lastIndexOf(childKeys[i]!) ? childKeys[i]! : `${childKeys[i]!}#${i}`)),
  };
}

/** Compiles the notifier's route tree (or the implicit one); throws on a matcher that does not parse. */
export function compileRouteTree(notifier: Pick<NotifierConfig, 'route' | 'default_receiver'>): CompiledRoute {
  const root = notifier.route ?? implicitRootRoute(notifier.default_receiver);
  return compileNode(root, rootDefaults(notifier.default_receiver), '{}');
}

/**
 * The routes an alert goes to, in Alertmanager's order: depth first, the first matching child wins
 * unless it has `continue: true`; a route none of whose children match takes the alert itself.
 * The root matches everything.
 */
export function matchRoutes(route: CompiledRoute, labels: Readonly<Record<string, string>>): CompiledRoute[] {
  const matched: CompiledRoute[] = [];
  for (const child of route.routes) {
    if (!matchesAll(child.matchers, labels)) continue;
    matched.push(...matchRoutes(child, labels));
    if (!child.continue) break;
  }
  return matched.length ? matched : [route];
}

/** Finds a compiled route by key (a group's route after a reload), if it still exists. */
export function findRoute(route: CompiledRoute, key: string): CompiledRoute | undefined {
  if (route.key === key) return route;
  for (const child of route.routes) {
    const found = findRoute(child, key);
    if (found) return found;
  }
  return undefined;
}

/** Only the settings: what a group stores of its route. */
export function routeSettings(route: CompiledRoute): RouteSettings {
  const { matchers: _m, continue: _c, routes: _r, ...settings } = route;
  return settings;
}
