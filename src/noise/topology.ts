import type { TopologyConfig } from '../config/schema.js';

/**
 * The service topology: which resource runs on which (parent) and which needs which (depends_on).
 * Both are "upstream" edges: a failure upstream shows as symptoms downstream, so the root cause of a
 * cascade is the failing resource deepest upstream.
 */
export interface Topology {
  /** Alert label that names a resource. */
  readonly label: string;
  has(resource: string): boolean;
  /** Resources `resource` needs, directly or transitively (parents and dependencies), nearest first. */
  upstream(resource: string): readonly string[];
  /** True when `upstreamOf` is among what `resource` needs. */
  dependsOn(resource: string, upstreamOf: string): boolean;
  /** True when one of the two needs the other, or both need a common resource. */
  related(a: string, b: string): boolean;
}

export function createTopology(config: TopologyConfig): Topology {
  const direct = new Map<string, string[]>();
  for (const node of config.nodes) direct.set(node.name, [...(node.parent === undefined ? [] : [node.parent]), ...node.depends_on]);
  const closure = new Map<string, string[]>();
  const upstream = (resource: string): string[] => {
    const known = closure.get(resource);
    if (known) return known;
    // Breadth first, so nearer resources come first; `seen` stops at cycles (the config check rejects them).
    const seen = new Set<string>([resource]);
    const order: string[] = [];
    let frontier = [resource];
    while (frontier.length > 0) {
      const next: string[] = [];
      for (const r of frontier)
        for (const up of direct.get(r) ?? []) {
          if (seen.has(up)) continue;
          seen.add(up);
          order.push(up);
          next.push(up);
        }
      frontier = next;
    }
    closure.set(resource, order);
    return order;
  };
  const sets = new Map<string, Set<string>>();
  const upstreamSet = (r: string) => {
    let s = sets.get(r);
    if (!s) sets.set(r, (s = new Set(upstream(r))));
    return s;
  };
  return {
    label: config.label,
    has: (resource) => direct.has(resource),
    upstream,
    dependsOn: (resource, up) => upstreamSet(resource).has(up),
    related(a, b) {
      if (a === b) return true;
      const ua = upstreamSet(a);
      const ub = upstreamSet(b);
      if (ua.has(b) || ub.has(a)) return true;
      for (const r of ua) if (ub.has(r)) return true;
      return false;
    },
  };
}

/** A cycle through `start`, as the list of resources walked, or undefined. */
export function topologyCycle(config: TopologyConfig): string[] | undefined {
  const direct = new Map(config.nodes.map((n) => [n.name, [...(n.parent === undefined ? [] : [n.parent]), ...n.depends_on]]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (r: string): string[] | undefined => {
    if (state.get(r) === 'done') return undefined;
    if (state.get(r) === 'visiting') return [...path.slice(path.indexOf(r)), r];
    state.set(r, 'visiting');
    path.push(r);
    for (const up of direct.get(r) ?? []) {
      const cycle = visit(up);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(r, 'done');
    return undefined;
  };
  for (const n of config.nodes) {
    const cycle = visit(n.name);
    if (cycle) return cycle;
  }
  return undefined;
}
