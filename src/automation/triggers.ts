import { Cron } from 'croner';
import { matchesAll, parseMatchers, type Matcher } from '../labels/matchers.js';
import type { AlertPayload } from '../bus/messages.js';
import type { RunbookConfig, RunbookTriggerConfig } from '../config/schema.js';
import { parseDuration } from '../series/duration.js';
import type { Sample } from '../series/series.js';
import { compare, type RunData } from './params.js';

/** A runbook's trigger fired: run it with this data. `source` names the cause, for the audit and a stable run id. */
export interface Firing {
  runbook: string;
  data: RunData;
  source: string;
  reason: string;
}

/** What a trigger node hears; each node reacts to its own kind and ignores the rest. */
type TriggerInput =
  | { kind: 'alert'; alert: AlertPayload; at: number }
  | { kind: 'sample'; sample: Sample }
  | { kind: 'cron'; path: string; at: number };

interface Fired {
  data: RunData;
  source: string;
  reason: string;
}

interface TriggerNode {
  /** The node fires on this input: the edge, once per episode. */
  feed(input: TriggerInput): Fired | undefined;
  /** Whether the node fired within `windowMs` before `at` (or is still holding), for AND. */
  activeSince(at: number, windowMs: number): boolean;
}

/** A cron trigger inside a runbook's trigger tree, addressed by its path (e.g. "0.1"). */
export interface CronSchedule {
  runbook: string;
  path: string;
  cron: Cron;
}

const isFiring = (a: AlertPayload) => a.status === 'firing';

class AlertNode implements TriggerNode {
  private readonly matchers: Matcher[];
  private recent: { at: number; fingerprint: string }[] = [];
  private lastFired = -Infinity;
  constructor(private readonly config: Extract<RunbookTriggerConfig, { kind: 'alert' }>) {
    this.matchers = parseMatchers(config.matchers);
  }
  feed(input: TriggerInput): Fired | undefined {
    if (input.kind !== 'alert' || !isFiring(input.alert)) return undefined;
    const { alert, at } = input;
    if (!matchesAll(this.matchers, alert.labels)) return undefined;
    if (this.config.severities && !this.config.severities.includes(alert.labels.severity as 'info')) return undefined;
    const windowMs = parseDuration(this.config.window);
    this.recent = this.recent.filter((r) => r.at > at - windowMs && r.fingerprint !== alert.fingerprint);
    this.recent.push({ at, fingerprint: alert.fingerprint });
    if (this.recent.length < this.config.count) return undefined;
    this.recent = [];
    this.lastFired = at;
    const data: RunData = { labels: alert.labels, value: alert.value ?? 0 };
    return { data, source: `alert-${alert.fingerprint}-${Date.parse(alert.startsAt) || at}`, reason: `alert ${alert.labels.alertname ?? alert.fingerprint} firing` };
  }
  activeSince(at: number, windowMs: number): boolean {
    return this.lastFired >= at - windowMs;
  }
}

class MetricNode implements TriggerNode {
  /** Per series: since when the condition holds, and whether this episode already fired. */
  private readonly held = new Map<string, { since: number; fired: boolean }>();
  constructor(private readonly config: Extract<RunbookTriggerConfig, { kind: 'metric' }>) {}
  feed(input: TriggerInput): Fired | undefined {
    if (input.kind !== 'sample') return undefined;
    const { sample } = input;
    if (sample.name !== this.config.metric) return undefined;
    if (Object.entries(this.config.match ?? {}).some(([k, v]) => sample.labels[k] !== v)) return undefined;
    if (!compare(sample.v, this.config.op, this.config.value)) {
      this.held.delete(sample.series);
      return undefined;
    }
    const state = this.held.get(sample.series) ?? { since: sample.t, fired: false };
    this.held.set(sample.series, state);
    if (state.fired || sample.t - state.since < parseDuration(this.config.for)) return undefined;
    state.fired = true;
    const reason = `${this.config.metric} ${this.config.op} ${this.config.value} for ${this.config.for} (${sample.v})`;
    return { data: { labels: { __name__: sample.name, ...sample.labels }, value: sample.v }, source: `metric-${sample.series}-${state.since}`, reason };
  }
  activeSince(): boolean {
    return [...this.held.values()].some((s) => s.fired);
  }
}

class CronNode implements TriggerNode {
  private lastFired = -Infinity;
  constructor(
    private readonly path: string,
    private readonly schedule: string,
  ) {}
  feed(input: TriggerInput): Fired | undefined {
    if (input.kind !== 'cron' || input.path !== this.path) return undefined;
    this.lastFired = input.at;
    return { data: { labels: {}, value: 0 }, source: `cron-${this.path}-${input.at}`, reason: `schedule "${this.schedule}" at ${new Date(input.at).toISOString()}` };
  }
  activeSince(at: number, windowMs: number): boolean {
    return this.lastFired >= at - windowMs;
  }
}

class CompositeNode implements TriggerNode {
  private lastFired = -Infinity;
  constructor(
    private readonly kind: 'all' | 'any',
    private readonly withinMs: number,
    private readonly children: TriggerNode[],
  ) {}
  feed(input: TriggerInput): Fired | undefined {
    // Every child hears every input, so each keeps its own state current.
    const results = this.children.map((c) => c.feed(input));
    const fired = results.find((r) => r !== undefined);
    if (!fired) return undefined;
    const at = inputTime(input);
    if (this.kind === 'all' && !this.children.every((c, i) => results[i] !== undefined || c.activeSince(at, this.withinMs))) return undefined;
    this.lastFired = at;
    return this.kind === 'all' ? { ...fired, reason: `all of: ${fired.reason} and the other conditions` } : fired;
  }
  activeSince(at: number, windowMs: number): boolean {
    return this.lastFired >= at - windowMs;
  }
}

function inputTime(input: TriggerInput): number {
  return input.kind === 'sample' ? input.sample.t : input.at;
}

function compile(config: RunbookTriggerConfig, path: string, crons: { path: string; config: Extract<RunbookTriggerConfig, { kind: 'cron' }> }[]): TriggerNode {
  switch (config.kind) {
    case 'alert':
      return new AlertNode(config);
    case 'metric':
      return new MetricNode(config);
    case 'cron':
      crons.push({ path, config });
      return new CronNode(path, config.schedule);
    case 'all':
    case 'any':
      return new CompositeNode(config.kind, parseDuration(config.within), config.triggers.map((t, i) => compile(t, `${path}.${i}`, crons)));
  }
}

/** A cron schedule read in its time zone; `paused` because Vigil schedules runs as durable messages, not croner's timers. */
export const cronOf = (schedule: string, timeZone: string) => new Cron(schedule, { timezone: timeZone, paused: true });

/** The next time (epoch ms) a schedule fires strictly after `after`. */
export function nextCronTime(cron: Cron, after: number): number | undefined {
  return cron.nextRun(new Date(after))?.getTime();
}

/**
 * Every runbook's trigger tree, fed with alerts, samples and cron ticks. Windows and "held for" state
 * live in memory: after a restart an alert count or a held condition starts over (cron ticks are durable).
 */
export class TriggerSet {
  private readonly roots = new Map<string, TriggerNode>();
  /** Metric names some runbook watches, so a sample batch is skipped cheaply. */
  private readonly metrics = new Set<string>();
  readonly crons: CronSchedule[] = [];

  constructor(runbooks: readonly RunbookConfig[]) {
    for (const runbook of runbooks) {
      const crons: { path: string; config: Extract<RunbookTriggerConfig, { kind: 'cron' }> }[] = [];
      this.roots.set(runbook.name, compile(runbook.trigger, '0', crons));
      for (const c of crons) this.crons.push({ runbook: runbook.name, path: c.path, cron: cronOf(c.config.schedule, c.config.time_zone) });
      collectMetrics(runbook.trigger, this.metrics);
    }
  }

  onAlert(alert: AlertPayload, at: number): Firing[] {
    return this.feed({ kind: 'alert', alert, at });
  }

  onSamples(samples: readonly Sample[]): Firing[] {
    return samples.filter((s) => this.metrics.has(s.name)).flatMap((sample) => this.feed({ kind: 'sample', sample }));
  }

  onCron(runbook: string, path: string, at: number): Firing[] {
    const root = this.roots.get(runbook);
    const fired = root?.feed({ kind: 'cron', path, at });
    return fired ? [{ runbook, ...fired }] : [];
  }

  private feed(input: TriggerInput): Firing[] {
    const out: Firing[] = [];
    for (const [runbook, root] of this.roots) {
      const fired = root.feed(input);
      if (fired) out.push({ runbook, ...fired });
    }
    return out;
  }
}

function collectMetrics(config: RunbookTriggerConfig, into: Set<string>): void {
  if (config.kind === 'metric') into.add(config.metric);
  if (config.kind === 'all' || config.kind === 'any') for (const t of config.triggers) collectMetrics(t, into);
}
