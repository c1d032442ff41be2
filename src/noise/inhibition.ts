import type { InhibitRuleConfig } from '../config/schema.js';
import { matchesAll, parseMatchers, type Matcher } from '../labels/matchers.js';
import type { Topology } from './topology.js';

/** An alert that can inhibit others while it is active. */
export interface ActiveAlert {
  readonly fingerprint: string;
  readonly labels: Readonly<Record<string, string>>;
  /** It is itself suppressed: another source is preferred as the root cause. */
  readonly suppressed: boolean;
}

interface CompiledRule {
  readonly name: string;
  readonly source: readonly Matcher[];
  readonly target: readonly Matcher[];
  readonly equal: readonly string[];
  readonly alongTopology: boolean;
  /** Active alerts matching the source side, by fingerprint. */
  readonly sources: Map<string, ActiveAlert>;
}

export interface Inhibition {
  readonly source: ActiveAlert;
  readonly rule: string;
}

/**
 * Alertmanager's inhibit_rules over the alerts active now: a target is muted while a source matching
 * the same rule is active, the `equal` labels agree (a missing label counts as empty) and, for rules
 * `along_topology`, the source's resource is one the target's resource needs. An alert never inhibits
 * itself. Among several sources the one that is not itself suppressed wins: it is nearer the root cause.
 */
export class Inhibitor {
  private readonly rules: CompiledRule[];

  constructor(
    configs: readonly InhibitRuleConfig[],
    private readonly topology: Topology,
  ) {
    this.rules = configs.map((r, i) => ({
      name: r.name ?? `inhibit_rules[${i}]`,
      source: parseMatchers(r.source_matchers),
      target: parseMatchers(r.target_matchers),
      equal: r.equal,
      alongTopology: r.along_topology,
      sources: new Map(),
    }));
  }

  /** Records an alert's current state: active ones may inhibit, others no longer do. */
  update(alert: ActiveAlert, active: boolean): void {
    for (const rule of this.rules) {
      if (active && matchesAll(rule.source, alert.labels)) rule.sources.set(alert.fingerprint, alert);
      else rule.sources.delete(alert.fingerprint);
    }
  }

  /** Copies the active alerts over from another inhibitor (after a config reload). */
  adopt(previous: Inhibitor): void {
    const seen = new Map<string, ActiveAlert>();
    for (const rule of previous.rules) for (const a of rule.sources.values()) seen.set(a.fingerprint, a);
    for (const a of seen.values()) this.update(a, true);
  }

  check(labels: Readonly<Record<string, string>>, fingerprint?: string): Inhibition | undefined {
    let fallback: Inhibition | undefined;
    for (const rule of this.rules) {
      if (rule.sources.size === 0 || !matchesAll(rule.target, labels)) continue;
      for (const source of rule.sources.values()) {
        if (source.fingerprint === fingerprint || sameLabels(source.labels, labels)) continue;
        if (!rule.equal.every((l) => (source.labels[l] ?? '') === (labels[l] ?? ''))) continue;
        if (rule.alongTopology && !this.upstreamOf(source.labels, labels)) continue;
        if (!source.suppressed) return { source, rule: rule.name };
        fallback ??= { source, rule: rule.name };
      }
    }
    return fallback;
  }

  private upstreamOf(source: Readonly<Record<string, string>>, target: Readonly<Record<string, string>>): boolean {
    const from = source[this.topology.label];
    const to = target[this.topology.label];
    return from !== undefined && to !== undefined && this.topology.dependsOn(to, from);
  }
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
