import type { CompositeRule } from '../../../config/schema.js';
import { groupOf, type Labels, type Observe, type RuleEvaluator } from './rule.js';
import { ruleTiming } from './timing.js';

interface Group {
  labels: Labels;
  /** Per condition: the members (keys of that rule) whose condition holds now. */
  active: Map<string, Set<string>>;
}

/**
 * AND / OR / NOT over other rules' raw conditions (before their `for`), joined on the `on` labels: a
 * condition holds for a group when any of its members in the group holds. "The load balancer is down
 * OR one of its app servers is down" is `op: or` over two rules `on: [service]`.
 */
export function compositeRule(rule: CompositeRule): RuleEvaluator {
  const groups = new Map<string, Group>();
  const holds = (g: Group, condition: string) => (g.active.get(condition)?.size ?? 0) > 0;
  const verdict = (g: Group): boolean => {
    if (rule.op === 'and') return rule.conditions.every((c) => holds(g, c));
    if (rule.op === 'or') return rule.conditions.some((c) => holds(g, c));
    return !holds(g, rule.conditions[0] as string);
  };
  return {
    name: rule.name,
    config: rule,
    timing: ruleTiming(rule),
    metrics: [],
    conditions: rule.conditions,
    onCondition(condition, key, active, value, labels, at, observe: Observe) {
      const { key: groupKey, labels: groupLabels } = groupOf(rule.on, labels);
      let group = groups.get(groupKey);
      if (!group) groups.set(groupKey, (group = { labels: groupLabels, active: new Map() }));
      let members = group.active.get(condition);
      if (!members) group.active.set(condition, (members = new Set()));
      if (active) members.add(key);
      else members.delete(key);
      observe(groupKey, verdict(group), value, group.labels, at);
    },
  };
}
