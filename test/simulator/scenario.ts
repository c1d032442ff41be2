import { mulberry32 } from '../../src/models/random.js';
import { makeSample, type Sample } from '../../src/series/series.js';

/**
 * A seeded service topology (per service: a load balancer, app servers and a database, placed on
 * shared hosts) with injected failures, the metrics they cause on the failing resource and as
 * cascading symptoms on its dependents, and the Vigil config (rules, topology, inhibition) to watch it.
 */

export type FailureKind = 'host_down' | 'lb_down' | 'slow_db' | 'disk_filling';
export const FAILURE_KINDS: readonly FailureKind[] = ['host_down', 'lb_down', 'slow_db', 'disk_filling'];

export interface Resource {
  name: string;
  kind: 'host' | 'load_balancer' | 'app_server' | 'database';
  service?: string;
  parent?: string;
  dependsOn: string[];
}

export interface Failure {
  kind: FailureKind;
  /** The resource that fails: a host, a load balancer or a database. */
  target: string;
  start: number;
  end: number;
}

export interface Scenario {
  seed: number;
  resources: Resource[];
  failures: Failure[];
  start: number;
  end: number;
  scrapeMs: number;
  /** Vigil config text for this topology (rules, topology, inhibition, notifier). */
  config: string;
  /** Every resource's samples at `t`. */
  samplesAt(t: number): Sample[];
  /** The alert (alertname, instance) that should be named the root cause of a failure. */
  expectedRoot(f: Failure): { alertname: string; instance: string };
}

const MINUTE = 60_000;

export interface ScenarioOptions {
  seed: number;
  services?: number;
  appsPerService?: number;
  failures?: number;
  /** Mean spacing of failure starts; some overlap. */
  spacingMs?: number;
  start?: number;
  scrapeMs?: number;
  /** These failures (times relative to the start) instead of random ones. */
  inject?: { kind: FailureKind; target: string; afterMs: number; forMs: number }[];
}

export function generateScenario(options: ScenarioOptions): Scenario {
  const rnd = mulberry32(options.seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)] as T;
  const services = options.services ?? 8;
  const apps = options.appsPerService ?? 3;
  const start = options.start ?? Date.UTC(2026, 4, 4, 0, 0, 0);
  const scrapeMs = options.scrapeMs ?? 30_000;
  const spacing = options.spacingMs ?? 30 * MINUTE;

  const resources: Resource[] = [];
  const placed: Resource[] = [];
  for (let s = 0; s < services; s++) {
    const service = `svc${s}`;
    resources.push({ name: `lb-${s}`, kind: 'load_balancer', service, dependsOn: [] });
    const db: Resource = { name: `db-${s}`, kind: 'database', service, dependsOn: [] };
    resources.push(db);
    placed.push(db);
    for (let a = 0; a < apps; a++) {
      const app: Resource = { name: `app-${s}-${a}`, kind: 'app_server', service, dependsOn: [`lb-${s}`, `db-${s}`] };
      resources.push(app);
      placed.push(app);
    }
  }
  // Two or so workloads per host, so a host failure takes down pieces of different services.
  const hostCount = Math.ceil(placed.length / 2);
  const hosts: Resource[] = Array.from({ length: hostCount }, (_, h) => ({ name: `host-${h}`, kind: 'host', dependsOn: [] }));
  for (const r of placed) r.parent = pick(hosts).name;
  resources.unshift(...hosts);
  const byName = new Map(resources.map((r) => [r.name, r]));

  const failures: Failure[] = (options.inject ?? []).map((f) => ({ kind: f.kind, target: f.target, start: start + f.afterMs, end: start + f.afterMs + f.forMs }));
  const count = options.inject ? 0 : (options.failures ?? 50);
  for (let i = 0; i < count; i++) {
    const kind = pick(FAILURE_KINDS);
    const candidates = resources.filter((r) => (kind === 'lb_down' ? r.kind === 'load_balancer' : kind === 'slow_db' ? r.kind === 'database' : r.kind === 'host'));
    const begin = start + 10 * MINUTE + i * spacing + Math.floor(rnd() * spacing);
    const duration = (8 + Math.floor(rnd() * 20)) * MINUTE;
    // One failure at a time per resource: a second would be the same outage.
    const free = candidates.filter((c) => !failures.some((f) => f.target === c.name && f.end + 5 * MINUTE > begin));
    failures.push({ kind, target: pick(free.length ? free : candidates).name, start: begin, end: begin + duration });
  }
  const end = Math.max(...failures.map((f) => f.end)) + 30 * MINUTE;

  const active = (t: number) => failures.filter((f) => t >= f.start && t < f.end);

  function samplesAt(t: number): Sample[] {
    const now = active(t);
    const down = new Set(now.filter((f) => f.kind === 'host_down' || f.kind === 'lb_down').map((f) => f.target));
    const slow = new Set(now.filter((f) => f.kind === 'slow_db').map((f) => f.target));
    const filling = new Map(now.filter((f) => f.kind === 'disk_filling').map((f) => [f.target, f]));
    const isDown = (r: Resource) => down.has(r.name) || (r.parent !== undefined && down.has(r.parent));
    const out: Sample[] = [];
    const jitter = (x: number) => x * (0.95 + 0.1 * ((Math.sin(t / 7919 + x) + 1) / 2));
    for (const r of resources) {
      const labels = { instance: r.name, kind: r.kind, ...(r.service ? { service: r.service } : {}) };
      const up = !isDown(r);
      out.push(makeSample('up', labels, t, up ? 1 : 0));
      if (!up) continue; // a dead resource reports nothing else
      if (r.kind === 'host') {
        const f = filling.get(r.name);
        const used = f ? Math.min(99, 80 + ((t - f.start) / MINUTE) * 3) : jitter(60);
        out.push(makeSample('disk_used_percent', labels, t, used));
      } else if (r.kind === 'database') {
        out.push(makeSample('db_query_seconds', labels, t, slow.has(r.name) ? 2.5 : jitter(0.05)));
      } else if (r.kind === 'app_server') {
        const lb = byName.get(`lb-${(r.service as string).slice(3)}`) as Resource;
        const db = byName.get(r.dependsOn[1] as string) as Resource;
        const dbDown = isDown(db);
        out.push(makeSample('app_requests_per_second', labels, t, isDown(lb) ? 0 : jitter(100)));
        out.push(makeSample('app_latency_seconds', labels, t, slow.has(db.name) ? 3 : dbDown ? jitter(0.2) : jitter(0.1)));
        out.push(makeSample('app_error_ratio', labels, t, dbDown ? 0.6 : jitter(0.01)));
      }
    }
    return out;
  }

  function expectedRoot(f: Failure): { alertname: string; instance: string } {
    const alertname = { host_down: 'HostDown', lb_down: 'LoadBalancerDown', slow_db: 'DatabaseSlow', disk_filling: 'DiskAlmostFull' }[f.kind];
    return { alertname, instance: f.target };
  }

  return { seed: options.seed, resources, failures, start, end, scrapeMs, config: scenarioConfig(resources), samplesAt, expectedRoot };
}

/** Rules for the simulated metrics, the topology, one dependency inhibit rule and a notifier grouping per service. */
export function scenarioConfig(resources: readonly Resource[]): string {
  const rule = (name: string, metric: string, kind: string, op: string, value: number, forDuration: string, severity: string) =>
    `  - { name: ${name}, kind: threshold, metric: ${metric}, match: { kind: ${kind} }, op: '${op}', value: ${value}, for: ${forDuration}, severity: ${severity}, annotations: { summary: '${name} on {{ $labels.instance }}' } }`;
  const node = (r: Resource) =>
    `    - { name: ${r.name}, kind: ${r.kind}${r.parent ? `, parent: ${r.parent}` : ''}${r.dependsOn.length ? `, depends_on: [${r.dependsOn.join(', ')}]` : ''} }`;
  return `
alerting: { evaluation_interval: 30s, close_after: 1h }
rules:
${[
  rule('HostDown', 'up', 'host', '==', 0, '1m', 'critical'),
  rule('LoadBalancerDown', 'up', 'load_balancer', '==', 0, '1m', 'critical'),
  rule('DatabaseDown', 'up', 'database', '==', 0, '1m', 'critical'),
  rule('AppDown', 'up', 'app_server', '==', 0, '1m', 'critical'),
  rule('DatabaseSlow', 'db_query_seconds', 'database', '>', 0.5, '2m', 'critical'),
  rule('LowTraffic', 'app_requests_per_second', 'app_server', '<', 5, '2m', 'warning'),
  rule('HighLatency', 'app_latency_seconds', 'app_server', '>', 1, '2m', 'warning'),
  rule('HighErrorRate', 'app_error_ratio', 'app_server', '>', 0.1, '2m', 'warning'),
  rule('DiskAlmostFull', 'disk_used_percent', 'host', '>', 90, '2m', 'warning'),
].join('\n')}
topology:
  label: instance
  nodes:
${resources.map(node).join('\n')}
inhibit_rules:
  - name: upstream-failure
    source_matchers: ['severity="critical"']
    target_matchers: ['severity=~"critical|warning"']
    along_topology: true
incidents: { window: 10m, min_confidence: medium }
notifier:
  receivers: [{ name: ops, kind: log }]
  default_receiver: ops
  route: { receiver: ops, group_by: [service, alertname, instance], group_wait: 30s, group_interval: 5m, repeat_interval: 4h }
`;
}
