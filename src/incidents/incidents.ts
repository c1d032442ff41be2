import { createHash } from 'node:crypto';
import type { IncidentsConfig } from '../config/schema.js';
import type { Topology } from '../noise/topology.js';
import { parseDuration } from '../series/duration.js';
import type { IncidentRecord, Store } from '../store/store.js';
import { atLeast, relateToGroup, rootCause, stronger, type AlertFacts, type Confidence } from './correlate.js';

export const INCIDENT_STATES = ['open', 'investigating', 'resolved', 'closed'] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];
/** States in which an incident takes new alerts. */
const OPEN_STATES: readonly IncidentState[] = ['open', 'investigating'];

export interface IncidentMember {
  fingerprint: string;
  alertname: string;
  resource?: string;
  /** The series the alert watches, which keys its samples in `related`. */
  series?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  suppressedBy?: string;
  /** When it joined (its activation time). */
  at: number;
  state: string;
  confidence: Confidence;
  reason: string;
}

export interface TimelineEntry {
  at: number;
  by: string;
  action: 'created' | 'joined' | 'state' | 'comment' | 'assign' | 'merged' | 'split' | 'root_cause';
  text: string;
}

export interface Incident extends IncidentRecord {
  state: IncidentState;
  members: IncidentMember[];
  /** The weakest relation that joined an alert: how sure it is that this is one incident. */
  confidence: Confidence;
  reason: string;
  rootCause?: { fingerprint: string; alertname: string; resource?: string; reason: string };
  assignee?: string;
  timeline: TimelineEntry[];
  /** Recent samples of the alerts' series when they joined, and other alerts active around the start. */
  related: { samples: Record<string, [t: number, v: number][]>; neighbours: { fingerprint: string; alertname: string; resource?: string; at: number }[] };
  lastAlertAt: number;
  mergedInto?: string;
  /** Bumped by every write: a writer holding an older copy is refused and redoes its change on a fresh one. */
  revision?: number;
}

/** What the correlator hears of an alert change. */
export interface AlertChange extends AlertFacts {
  state: string;
  /** Activation time: when the condition started to hold. */
  activeAt?: number | undefined;
  firedAt?: number | undefined;
  series?: string | undefined;
}

export interface IncidentDeps {
  store: Store;
  topology(): Topology;
  config(): IncidentsConfig;
  /** Recent samples of a series, oldest first. */
  recentSamples(series: string): [number, number][];
  /** Other active alerts, for the neighbours of a new incident. */
  activeAlerts(): Iterable<AlertChange>;
}

/** Another writer changed the incident since it was read. */
class StaleIncident extends Error {
  override name = 'StaleIncident';
}

/** Attempts of one operation against concurrent writers before the caller is told to try again. */
const ATTEMPTS = 5;

/** Thrown for a request that does not apply (unknown incident, wrong state): the API answers 4xx. */
export class IncidentError extends Error {
  override name = 'IncidentError';
  constructor(
    readonly status: 404 | 409 | 400,
    message: string,
  ) {
    super(message);
  }
}

const FIRED = new Set(['firing', 'acknowledged', 'suppressed']);
const DONE = new Set(['resolved', 'closed', 'inactive']);
/** Muted on purpose by a person or a schedule: no incident. Inhibited alerts join (they point at their cause). */
const mutedOnPurpose = (by: string | undefined) => by !== undefined && (by.startsWith('silence:') || by.startsWith('maintenance:'));

const incidentId = (fingerprint: string, at: number) => `inc-${createHash('sha256').update(`${fingerprint}|${at}`).digest('hex').slice(0, 12)}`;

/**
 * Incidents in the store: correlation of alert changes into them, and the people's workflow (state,
 * assignee, comments, merge, split). The store is the only state, so the API and the correlator see
 * the same incidents. Every write is conditional on the revision read (optimistic concurrency): an
 * operation that lost a race with another writer (the API against the correlator, or two API calls) is
 * redone on a fresh copy, so neither change is lost. The correlator runs one change at a time.
 */
export class Incidents {
  /**
   * The correlator's copy of the open incidents (with `cacheOpen`): reading and parsing every open
   * incident for each alert change made correlation quadratic in the number of open incidents.
   * Changes made elsewhere (the API) are picked up by `refresh()`, which the correlator calls each tick.
   */
  private cache: Map<string, Incident> | undefined;

  constructor(
    private readonly deps: IncidentDeps,
    private readonly options: { cacheOpen?: boolean } = {},
  ) {}

  async open(): Promise<Incident[]> {
    if (this.cache) return [...this.cache.values()];
    const open = (await Promise.all(OPEN_STATES.map((state) => this.deps.store.incidents.find({ where: { state } })))).flat() as Incident[];
    if (this.options.cacheOpen) this.cache = new Map(open.map((i) => [i.id, i]));
    return open;
  }

  /** Drops the cached open incidents: the next read takes them from the store. */
  refresh(): void {
    this.cache = undefined;
  }

  /** Writes a new incident (`created`) or one read before, unless another writer changed it since. */
  private async write(incident: Incident, created = false): Promise<void> {
    const revision = incident.revision ?? 0;
    const next = { ...incident, revision: revision + 1 };
    const written = created ? await this.deps.store.incidents.insert(next) : await this.deps.store.incidents.replaceAtRevision(next, revision);
    if (!written) throw new StaleIncident(`incident ${incident.id} was changed by another writer`);
    incident.revision = next.revision;
    if (!this.cache) return;
    if (OPEN_STATES.includes(incident.state)) this.cache.set(incident.id, incident);
    else this.cache.delete(incident.id);
  }

  /** Runs `operation` again on fresh copies while another writer keeps winning the race. */
  private async retrying<R>(operation: () => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await operation();
      } catch (err) {
        if (!(err instanceof StaleIncident)) throw err;
        // The cached copies may be the stale ones (and the failed attempt may have changed them).
        this.refresh();
        if (attempt === ATTEMPTS) throw new IncidentError(409, `${err.message}; try again`);
      }
    }
  }

  async get(id: string): Promise<Incident> {
    const incident = (await this.deps.store.incidents.get(id)) as Incident | undefined;
    if (!incident) throw new IncidentError(404, `no incident ${id}`);
    return incident;
  }

  /** Puts a changed alert into its incident: a fired alert joins the best related open incident or opens one; a finished one may resolve its incident. */
  observe(alert: AlertChange, now: number): Promise<{ change: 'opened' | 'joined' | 'updated'; incident: Incident } | undefined> {
    return this.retrying(() => this.correlate(alert, now));
  }

  private async correlate(alert: AlertChange, now: number): Promise<{ change: 'opened' | 'joined' | 'updated'; incident: Incident } | undefined> {
    const open = await this.open();
    const current = open.find((i) => i.members.some((m) => m.fingerprint === alert.fingerprint));
    if (current) return (await this.update(current, alert, now)) ? { change: 'updated', incident: current } : undefined;
    if (!FIRED.has(alert.state) || alert.firedAt === undefined || mutedOnPurpose(alert.suppressedBy)) return undefined;
    const at = alert.activeAt ?? alert.firedAt;
    const config = this.deps.config();
    const windowMs = parseDuration(config.window);
    const ctx = { topology: this.deps.topology(), sharedLabels: config.shared_labels };
    // Inhibited by an alert of an open incident: that is where it belongs, however long ago the incident began.
    const inhibitor = alert.suppressedBy?.startsWith('inhibited-by:') ? alert.suppressedBy.slice('inhibited-by:'.length) : undefined;
    const cause = inhibitor === undefined ? undefined : open.find((i) => i.members.some((m) => m.fingerprint === inhibitor));
    if (cause) return { change: 'joined', incident: await this.join(cause, alert, at, 'high', relateToGroup(alert, cause.members, ctx).reason, now) };
    let best: { incident: Incident; confidence: Confidence; reason: string } | undefined;
    for (const incident of open) {
      if (at - incident.lastAlertAt > windowMs || incident.createdAt - at > windowMs) continue;
      // An alert nothing explains is a cause of its own: it relates to the incident's causes, not to
      // symptoms they explain, else one failure's symptoms would pull an unrelated failure in.
      const causes = incident.members.filter((m) => !m.suppressedBy?.startsWith('inhibited-by:'));
      const r = relateToGroup(alert, alert.suppressedBy === undefined && causes.length > 0 ? causes : incident.members, ctx);
      if (atLeast(r.confidence, config.min_confidence) && (!best || stronger(r.confidence, best.confidence))) best = { incident, ...r };
    }
    if (best) return { change: 'joined', incident: await this.join(best.incident, alert, at, best.confidence, best.reason, now) };
    return { change: 'opened', incident: await this.create(alert, at, now) };
  }

  private member(alert: AlertChange, at: number, confidence: Confidence, reason: string): IncidentMember {
    const resource = alert.labels[this.deps.topology().label];
    return {
      fingerprint: alert.fingerprint,
      alertname: alert.labels.alertname ?? '',
      ...(resource === undefined ? {} : { resource }),
      ...(alert.series === undefined ? {} : { series: alert.series }),
      labels: { ...alert.labels },
      annotations: { ...alert.annotations },
      ...(alert.suppressedBy === undefined ? {} : { suppressedBy: alert.suppressedBy }),
      at,
      state: alert.state,
      confidence,
      reason,
    };
  }

  private attachSamples(incident: Incident, alert: AlertChange): void {
    const limit = this.deps.config().related_samples;
    if (alert.series === undefined || limit === 0) return;
    const samples = this.deps.recentSamples(alert.series).slice(-limit);
    if (samples.length > 0) incident.related.samples[alert.series] = samples;
  }

  private async create(alert: AlertChange, at: number, now: number): Promise<Incident> {
    const windowMs = parseDuration(this.deps.config().window);
    const label = this.deps.topology().label;
    const neighbours = [...this.deps.activeAlerts()]
      .filter((a) => a.fingerprint !== alert.fingerprint && a.activeAt !== undefined && Math.abs(a.activeAt - at) <= windowMs)
      .slice(0, 20)
      .map((a) => ({ fingerprint: a.fingerprint, alertname: a.labels.alertname ?? '', ...(a.labels[label] ? { resource: a.labels[label] } : {}), at: a.activeAt as number }));
    const incident: Incident = {
      id: incidentId(alert.fingerprint, at),
      title: '',
      state: 'open',
      alertIds: [alert.fingerprint],
      members: [this.member(alert, at, 'high', 'first alert')],
      confidence: 'high',
      reason: 'a single alert',
      timeline: [{ at: now, by: 'system', action: 'created', text: `opened by ${describe(alert, label)}` }],
      related: { samples: {}, neighbours },
      lastAlertAt: at,
      createdAt: now,
      updatedAt: now,
    };
    this.attachSamples(incident, alert);
    this.recompute(incident, now);
    await this.write(incident, true);
    return incident;
  }

  private async join(incident: Incident, alert: AlertChange, at: number, confidence: Confidence, reason: string, now: number): Promise<Incident> {
    incident.members.push(this.member(alert, at, confidence, reason));
    incident.alertIds = incident.members.map((m) => m.fingerprint);
    incident.lastAlertAt = Math.max(incident.lastAlertAt, at);
    incident.timeline.push({ at: now, by: 'system', action: 'joined', text: `${describe(alert, this.deps.topology().label)} joined (${confidence}: ${reason})` });
    this.attachSamples(incident, alert);
    this.recompute(incident, now);
    incident.updatedAt = now;
    await this.write(incident);
    return incident;
  }

  /** Records a member's new state; false when nothing changed. */
  private async update(incident: Incident, alert: AlertChange, now: number): Promise<boolean> {
    const member = incident.members.find((m) => m.fingerprint === alert.fingerprint) as IncidentMember;
    const changed = member.state !== alert.state || member.suppressedBy !== alert.suppressedBy;
    if (!changed) return false;
    member.state = alert.state;
    if (alert.suppressedBy === undefined) delete member.suppressedBy;
    else member.suppressedBy = alert.suppressedBy;
    if (incident.members.every((m) => DONE.has(m.state))) {
      incident.state = 'resolved';
      incident.timeline.push({ at: now, by: 'system', action: 'state', text: 'resolved: every alert resolved' });
    }
    this.recompute(incident, now);
    incident.updatedAt = now;
    await this.write(incident);
    return true;
  }

  /** Root cause, title and overall confidence from the members; a new root cause goes on the timeline. */
  private recompute(incident: Incident, now: number): void {
    const topology = this.deps.topology();
    const root = rootCause(incident.members, topology);
    if (!root) return;
    const m = incident.members.find((x) => x.fingerprint === root.fingerprint) as IncidentMember;
    if (incident.rootCause?.fingerprint !== m.fingerprint) {
      if (incident.rootCause) incident.timeline.push({ at: now, by: 'system', action: 'root_cause', text: `root cause now ${m.alertname}${m.resource ? ` on ${m.resource}` : ''}: ${root.reason}` });
    }
    incident.rootCause = { fingerprint: m.fingerprint, alertname: m.alertname, ...(m.resource === undefined ? {} : { resource: m.resource }), reason: root.reason };
    const others = incident.members.filter((x) => x !== m);
    const weakest = others.reduce<IncidentMember | undefined>((w, x) => (w === undefined || stronger(w.confidence, x.confidence) ? x : w), undefined);
    incident.confidence = weakest?.confidence ?? 'high';
    incident.reason = weakest ? (others.length === 1 ? weakest.reason : `${others.length} related alerts; weakest link: ${weakest.reason}`) : 'a single alert';
    incident.title = `${m.alertname}${m.resource ? ` on ${m.resource}` : ''}${others.length ? ` (+${others.length} related)` : ''}`;
  }

  // --- the people's workflow ---

  private async save(incident: Incident, entry: Omit<TimelineEntry, 'at'>, now: number): Promise<Incident> {
    incident.timeline.push({ at: now, ...entry });
    incident.updatedAt = now;
    await this.write(incident);
    return incident;
  }

  /** Someone is on it: open → investigating, and they become the assignee unless one is set. */
  async acknowledge(id: string, by: string, now: number): Promise<Incident> {
    return this.retrying(async () => {
      const incident = await this.get(id);
      if (incident.state !== 'open') throw new IncidentError(409, `incident ${id} is ${incident.state}; only an open incident can be acknowledged`);
      incident.state = 'investigating';
      incident.assignee ??= by;
      return this.save(incident, { by, action: 'state', text: 'investigating' }, now);
    });
  }

  async setState(id: string, state: 'resolved' | 'closed' | 'open', by: string, now: number): Promise<Incident> {
    return this.retrying(async () => {
      const incident = await this.get(id);
      const allowed: Record<string, readonly IncidentState[]> = { resolved: ['open', 'investigating'], closed: ['open', 'investigating', 'resolved'], open: ['resolved'] };
      if (!allowed[state]?.includes(incident.state)) throw new IncidentError(409, `incident ${id} is ${incident.state}; it cannot become ${state}`);
      incident.state = state;
      return this.save(incident, { by, action: 'state', text: state }, now);
    });
  }

  async comment(id: string, by: string, text: string, now: number): Promise<Incident> {
    if (!text.trim()) throw new IncidentError(400, 'a comment needs text');
    return this.retrying(async () => this.save(await this.get(id), { by, action: 'comment', text }, now));
  }

  async assign(id: string, by: string, assignee: string, now: number): Promise<Incident> {
    return this.retrying(async () => {
      const incident = await this.get(id);
      incident.assignee = assignee;
      return this.save(incident, { by, action: 'assign', text: assignee }, now);
    });
  }

  /** Moves the alerts of `others` into `id`; the others close, naming where they went. */
  merge(id: string, others: readonly string[], by: string, now: number): Promise<Incident> {
    return this.retrying(() => this.mergeOnce(id, others, by, now));
  }

  private async mergeOnce(id: string, others: readonly string[], by: string, now: number): Promise<Incident> {
    const target = await this.get(id);
    if (others.length === 0) throw new IncidentError(400, 'name at least one incident to merge in');
    if (target.state === 'closed') throw new IncidentError(409, `incident ${id} is closed`);
    const sources = await Promise.all(others.map((o) => (o === id ? Promise.reject(new IncidentError(400, 'an incident cannot be merged into itself')) : this.get(o))));
    for (const source of sources) {
      for (const m of source.members) if (!target.members.some((x) => x.fingerprint === m.fingerprint)) target.members.push({ ...m, confidence: 'high', reason: `merged by ${by}` });
      Object.assign(target.related.samples, source.related.samples);
      target.lastAlertAt = Math.max(target.lastAlertAt, source.lastAlertAt);
      // Closed by an earlier attempt that then lost the race on the target: its members are taken again, it is not closed twice.
      if (source.mergedInto === id) continue;
      source.state = 'closed';
      source.mergedInto = id;
      await this.save(source, { by, action: 'merged', text: `merged into ${id}` }, now);
    }
    target.alertIds = target.members.map((m) => m.fingerprint);
    if (target.state === 'resolved' && target.members.some((m) => !DONE.has(m.state))) target.state = 'open';
    this.recompute(target, now);
    return this.save(target, { by, action: 'merged', text: `merged in ${others.join(', ')}` }, now);
  }

  /** Moves the named alerts out of `id` into a new incident, which is returned. */
  split(id: string, fingerprints: readonly string[], by: string, now: number): Promise<{ from: Incident; to: Incident }> {
    return this.retrying(() => this.splitOnce(id, fingerprints, by, now));
  }

  private async splitOnce(id: string, fingerprints: readonly string[], by: string, now: number): Promise<{ from: Incident; to: Incident }> {
    const from = await this.get(id);
    const moving = from.members.filter((m) => fingerprints.includes(m.fingerprint));
    const unknown = fingerprints.filter((f) => !from.members.some((m) => m.fingerprint === f));
    if (unknown.length) throw new IncidentError(400, `not in incident ${id}: ${unknown.join(', ')}`);
    if (moving.length === 0 || moving.length === from.members.length) throw new IncidentError(400, 'name some but not all of the incident\'s alerts');
    from.members = from.members.filter((m) => !moving.includes(m));
    from.alertIds = from.members.map((m) => m.fingerprint);
    const first = moving.reduce((a, b) => (a.at <= b.at ? a : b));
    const to: Incident = {
      // Not the id the alert would open an incident with: that incident may still exist (merged away, closed).
      id: incidentId(`${from.id}/${first.fingerprint}`, now),
      title: '',
      state: moving.every((m) => DONE.has(m.state)) ? 'resolved' : 'open',
      alertIds: moving.map((m) => m.fingerprint),
      members: moving.map((m) => ({ ...m, confidence: 'high', reason: `split by ${by}` })),
      confidence: 'high',
      reason: `split from ${id} by ${by}`,
      timeline: [{ at: now, by, action: 'split', text: `split from ${id}` }],
      related: { samples: Object.fromEntries(Object.entries(from.related.samples).filter(([s]) => moving.some((m) => m.series === s))), neighbours: from.related.neighbours },
      lastAlertAt: Math.max(...moving.map((m) => m.at)),
      createdAt: now,
      updatedAt: now,
    };
    this.recompute(to, now);
    this.recompute(from, now);
    // The conditional write first: if another writer changed `from`, nothing was written and the split is redone.
    await this.save(from, { by, action: 'split', text: `split ${moving.length} alert(s) into ${to.id}` }, now);
    await this.write(to, true);
    return { from, to };
  }
}

const describe = (a: AlertFacts, label: string) => `${a.labels.alertname ?? 'alert'}${a.labels[label] ? ` on ${a.labels[label]}` : ''}`;
