import { createActor, type Actor as MachineActor, type Snapshot } from 'xstate';
import { ALERT_MANAGER_GLOBAL_KEY, envelope, type AlertPayload, type AlertStatus, type Envelope } from '../../bus/messages.js';
import type { VigilConfig } from '../../config/load.js';
import { readSecret } from '../../config/load.js';
import type { RuleConfig } from '../../config/schema.js';
import { prometheusQueryClient, type PrometheusQueryClient } from './rules/prometheus-api.js';
import { inAnyTimeInterval } from '../../oncall/time-interval.js';
import { parseDuration } from '../../series/duration.js';
import type { AlertEventRecord, AlertRecord } from '../../store/store.js';
import type { Actor, ActorContext } from '../actor.js';
import { alertMachine, LIVE_STATES, pendingTimers, type AlertContext, type AlertEmitted, type AlertEvent, type TimerKind } from './alert.machine.js';
import { fingerprint } from './fingerprint.js';
import { compileRule, defaultRiskRules, type ExcludedTime, type Observe, type RuleEvaluator } from './rules/index.js';
import { loadPrometheusRules, type PrometheusRuleEvaluator } from './rules/prometheus.js';
import type { Labels, RuleSpec } from './rules/rule.js';
import { neverSuppressed, type Suppression, type Suppressor } from './suppressor.js';
import { expandTemplates } from '../../template/template.js';

/** Alertmanager's "no end time", sent as endsAt while an alert fires. */
const NO_END = '0001-01-01T00:00:00Z';

/** Deterministic ids (no ':', which BullMQ forbids): a replayed transition re-sends the same ids and is deduplicated. */
export const timerMessageId = (fp: string, timer: TimerKind, deadline: number) => `alert-${fp}-${timer}-${deadline}`;
export const notifyMessageId = (fp: string, status: AlertStatus, activeAt: number) => `alert-${fp}-${status}-${activeAt}`;
/** One acknowledgement per activation: the machine accepts only the first. */
export const acknowledgedMessageId = (fp: string, activeAt: number) => `alert-${fp}-acknowledged-${activeAt}`;
export const historyId = (fp: string, t: { at: number; from: string; to: string }) => `${fp}-${t.at}-${t.from}-${t.to}`;
export const noteId = (fp: string, n: { at: number; action: string; by: string }) => `${fp}-${n.at}-${n.action}-${n.by}`;
export const tickMessageId = (due: number) => `rules-tick-${due}`;

interface OutgoingMessage {
  message: Envelope;
  /** For timers: deliver no earlier than this (epoch ms). */
  deliverAt?: number;
}

/** What one state change must make durable: messages to publish, then history and the alert record to store. */
interface AlertWrite {
  messages: OutgoingMessage[];
  published: boolean;
  history: AlertEventRecord[];
  record: AlertRecord;
}

interface LiveAlert {
  readonly fingerprint: string;
  readonly rule: string;
  /** The rule's key for what the alert watches (a series id, a group): with the rule, how observations find it; its partition key. */
  readonly series: string | undefined;
  readonly labels: Record<string, string>;
  annotations: Record<string, string>;
  readonly machine: MachineActor<typeof alertMachine>;
  /** What the machine emitted during the current `send`. */
  readonly emitted: AlertEmitted[];
  /** Writes not yet done, oldest first; applied one at a time, in order, so the store never goes back in time. */
  readonly outbox: AlertWrite[];
  flushing?: Promise<void>;
  /** Its rule was removed or changed: forget it once its last write is done. */
  retired: boolean;
  /** The rule's keys that lead to this alert: its own, and others whose alert labels coincide. */
  readonly keys: Set<string>;
}

interface ActiveRule {
  readonly evaluator: RuleEvaluator;
  readonly config: RuleSpec;
  /** The whole rule as configured: unchanged, the rule keeps its evaluator and what it learnt. */
  readonly text: string;
  /** What decides which alerts the rule makes and how they are labelled: a change makes new alerts. */
  readonly identity: string;
  readonly evaluations: { inc(): void };
  /** Its live alerts by key. */
  readonly alerts: Map<string, LiveAlert>;
  /** Composite rules reading this rule's conditions. */
  readonly dependents: ActiveRule[];
  /** False outside the rule's active time intervals (or inside its mute intervals). */
  readonly inTime: ((at: number) => boolean) | undefined;
  readonly observe: Observe;
}

/** Fields that decide what a rule watches and how its alerts are labelled; thresholds, timing and text may change under live alerts. */
const IDENTITY_FIELDS = ['kind', 'metric', 'metrics', 'match', 'on', 'group_by', 'event', 'conditions', 'labels', 'severity', 'expr', 'risk'] as const;
const ruleIdentity = (rule: RuleSpec) => JSON.stringify(IDENTITY_FIELDS.map((f) => (rule as Partial<Record<string, unknown>>)[f]));
const iso = (t: number | undefined) => (t === undefined ? NO_END : new Date(t).toISOString());
/** States in which suppression applies: the alert is active. */
const SUPPRESSIBLE = new Set(['pending', 'firing', 'acknowledged', 'suppressed']);

export interface AlertManagerOptions {
  /** Decides whether an active alert is muted (silences, maintenance, inhibition); never, by default. */
  suppressor?: Suppressor;
  /** Time SLA rules leave out (maintenance windows); none, by default. */
  slaExcluded?: ExcludedTime;
}

/**
 * Turns rule observations into alert machines, one per fingerprint, the same way for every rule kind.
 * Alerts live in memory; the store is written only when an alert changes, and timers (the machines'
 * and the evaluation tick) are delayed bus messages.
 *
 * Handlers are idempotent: a redelivered message finds the alert already moved on (stale events are
 * dropped by the machine) and only waits for that alert's unfinished writes.
 */
export function createAlertManager(ctx: ActorContext, options: AlertManagerOptions = {}): Actor {
  const log = ctx.logger.child({ actor: 'alert-manager' });
  const { store, bus, clock, metrics } = ctx;
  const suppressor = options.suppressor ?? neverSuppressed;
  let rules = new Map<string, ActiveRule>();
  let rulesByMetric = new Map<string, ActiveRule[]>();
  let rulesByInput: Record<'anomaly' | 'prediction' | 'systemEvent' | 'risk' | 'tick', ActiveRule[]> = { anomaly: [], prediction: [], systemEvent: [], risk: [], tick: [] };
  const alertsByFingerprint = new Map<string, LiveAlert>();
  /** The alerts touched while handling the current message; observations add to it. */
  let touched = new Set<LiveAlert>();
  let lastTick = 0;
  let prometheusRules: PrometheusRuleEvaluator[] = [];
  let client: { url: string; client: PrometheusQueryClient } | undefined;

  /** The Prometheus that evaluates rule files' expressions, as configured now. */
  function queryClient(): PrometheusQueryClient {
    const prometheus = ctx.config().alerting.prometheus;
    if (!prometheus) throw new Error('alerting.prometheus is not configured');
    const key = JSON.stringify(prometheus);
    if (client?.url !== key) {
      const bearerToken = prometheus.bearer_token === undefined ? undefined : readSecret(prometheus.bearer_token, ctx.config().baseDir);
      client = { url: key, client: prometheusQueryClient(prometheus.url, { timeoutMs: parseDuration(prometheus.timeout), ...(bearerToken ? { bearerToken } : {}) }) };
    }
    return client.client;
  }

  const closeAfterMs = () => parseDuration(ctx.config().alerting.close_after);
  const tickIntervalMs = () => parseDuration(ctx.config().alerting.evaluation_interval);

  function externalUrl(): string {
    const { external_url, host, port } = ctx.config().server;
    return (external_url ?? `http://${host}:${port}`).replace(/\/+$/, '');
  }

  function register(fields: Pick<LiveAlert, 'fingerprint' | 'rule' | 'series' | 'labels' | 'annotations'>, snapshot?: unknown): LiveAlert {
    // A restored machine takes its context from the snapshot; the input only seeds a new one.
    const machine = createActor(alertMachine, { input: { closeAfterMs: closeAfterMs() }, ...(snapshot === undefined ? {} : { snapshot: snapshot as Snapshot<unknown> }) });
    const alert: LiveAlert = { ...fields, machine, emitted: [], outbox: [], retired: false, keys: new Set(fields.series === undefined ? [] : [fields.series]) };
    machine.on('*', (event) => {
      // A refusal changes nothing, so there is nothing to persist: it is only logged.
      if (event.type === 'refused') log.info({ fingerprint: alert.fingerprint, alertname: alert.rule, action: event.action, by: event.by, reason: event.reason }, 'request refused');
      else alert.emitted.push(event);
    });
    machine.start();
    alertsByFingerprint.set(alert.fingerprint, alert);
    if (alert.series !== undefined) rules.get(alert.rule)?.alerts.set(alert.series, alert);
    return alert;
  }

  function forget(alert: LiveAlert): void {
    const state = alert.machine.getSnapshot().value;
    if (state !== 'inactive' && state !== 'closed') metrics.alertsActive.dec({ state });
    alert.machine.stop();
    if (alertsByFingerprint.get(alert.fingerprint) === alert) alertsByFingerprint.delete(alert.fingerprint);
    const byKey = rules.get(alert.rule)?.alerts;
    if (byKey) for (const key of alert.keys) if (byKey.get(key) === alert) byKey.delete(key);
  }

  /** The alert's identity: the observation's labels, overridden by the rule's severity and labels; `alertname` names the rule. */
  function alertLabels(rule: ActiveRule, labels: Labels): Labels {
    // A Prometheus rule's evaluator already applied its (templated) labels and alertname.
    if (rule.config.kind === 'prometheus') return labels;
    // A risk rule without a severity keeps the risk's own, which its observations carry.
    const { severity } = rule.config;
    return { ...labels, ...(severity === undefined ? {} : { severity }), ...rule.config.labels, alertname: rule.config.name };
  }

  function openAlert(rule: ActiveRule, key: string, labels: Labels): LiveAlert {
    const full = alertLabels(rule, labels);
    const fp = fingerprint(full);
    // Keys whose alert labels coincide (a rule label overrode what told them apart) share one alert.
    const existing = alertsByFingerprint.get(fp);
    if (existing) {
      rule.alerts.set(key, existing);
      existing.keys.add(key);
      return existing;
    }
    const alert = register({ fingerprint: fp, rule: rule.config.name, series: key, labels: full, annotations: {} });
    rule.alerts.set(key, alert);
    return alert;
  }

  function observer(rule: Omit<ActiveRule, 'observe'>): Observe {
    return (key, active, value, labels, at) => {
      rule.evaluations.inc();
      const holds = active && (rule.inTime === undefined || rule.inTime(at));
      for (const dependent of rule.dependents) dependent.evaluator.onCondition?.(rule.config.name, key, holds, value, labels, at, dependent.observe);
      let alert = rule.alerts.get(key);
      if (alert === undefined) {
        if (!holds) return;
        alert = openAlert(rule as ActiveRule, key, labels);
      }
      const { timing } = rule.evaluator;
      if (!holds) {
        dispatch(alert, { type: 'condition.false', at, value, timing });
        checkSuppression(alert, at);
        return;
      }
      // Asked before the condition counts, so an alert muted at the moment it would fire never pages.
      const suppression = suppressor.check(alert.labels, at);
      muteBeforeFiring(alert, at, suppression);
      dispatch(alert, { type: 'condition.true', at, value, timing, ...(suppression ? { suppression } : {}) });
      applySuppression(alert, at, suppression);
    };
  }

  /** Asks the suppressor about an active alert and moves it in or out of `suppressed`. */
  function checkSuppression(alert: LiveAlert, at: number): void {
    if (SUPPRESSIBLE.has(alert.machine.getSnapshot().value)) applySuppression(alert, at, suppressor.check(alert.labels, at));
  }

  function checkEverySuppression(at: number): void {
    for (const alert of alertsByFingerprint.values()) checkSuppression(alert, at);
  }

  /** Moves an active alert in or out of `suppressed` by the suppressor's answer. */
  function applySuppression(alert: LiveAlert, at: number, suppression: Suppression | undefined): void {
    const state = alert.machine.getSnapshot().value;
    if (!SUPPRESSIBLE.has(state)) return;
    if (suppression && state !== 'suppressed') dispatch(alert, { type: 'suppress', at, ...suppression });
    else if (!suppression && state === 'suppressed') dispatch(alert, { type: 'unsuppress', at });
  }

  /** Mutes an active, not yet muted alert before an event that may make it fire; lifting waits until after the event. */
  function muteBeforeFiring(alert: LiveAlert, at: number, suppression: Suppression | undefined): void {
    if (suppression) applySuppression(alert, at, suppression);
  }

  function timerMessage(alert: LiveAlert, timer: TimerKind, deadline: number, now: number): OutgoingMessage {
    // Keyed by series so the timer reaches the partition that owns the alert.
    const message = envelope('alert.timer', timerMessageId(alert.fingerprint, timer, deadline), { fingerprint: alert.fingerprint, deadline, timer }, alert.series ?? alert.fingerprint, now);
    return { message, deliverAt: deadline };
  }

  function notifyMessage(alert: LiveAlert, status: AlertStatus, context: AlertContext, now: number): OutgoingMessage {
    const activeAt = context.activeAt as number;
    const payload: AlertPayload = {
      fingerprint: alert.fingerprint,
      status,
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: iso(context.firedAt),
      endsAt: status === 'resolved' ? iso(context.resolvedAt) : NO_END,
      generatorURL: `${externalUrl()}/api/v1/alerts/${alert.fingerprint}`,
      ...(context.value === undefined ? {} : { value: context.value }),
    };
    return { message: envelope('alert.notify', notifyMessageId(alert.fingerprint, status, activeAt), { alert: payload, rule: alert.rule }, alert.fingerprint, now) };
  }

  function acknowledgedMessage(alert: LiveAlert, ack: { by: string; at: number }, context: AlertContext, now: number): OutgoingMessage {
    const payload = { fingerprint: alert.fingerprint, by: ack.by, at: ack.at, labels: alert.labels };
    // Keyed like alert.notify, so the notifier hears of the firing before its acknowledgement.
    return { message: envelope('alert.acknowledged', acknowledgedMessageId(alert.fingerprint, context.activeAt as number), payload, alert.fingerprint, now) };
  }

  function annotationsOf(alert: LiveAlert, value: number): Record<string, string> {
    const rule = rules.get(alert.rule);
    if (!rule) return alert.annotations;
    const details = alert.series === undefined ? undefined : rule.evaluator.details?.(alert.series);
    // A rule file's alert gone from the answer keeps the annotations it had when it was last seen.
    if (rule.config.kind === 'prometheus') return details ?? alert.annotations;
    return { ...details, ...expandTemplates(rule.config.annotations, { labels: alert.labels, value }) };
  }

  /** Turns what the machine emitted into the write that makes it durable. */
  function prepareWrite(alert: LiveAlert, emitted: AlertEmitted[]): AlertWrite {
    const now = clock.now();
    const snapshot = alert.machine.getSnapshot();
    const { context } = snapshot;
    const history: AlertEventRecord[] = [];
    for (const e of emitted) {
      if (e.type === 'transition') {
        history.push({ id: historyId(alert.fingerprint, e), alertId: alert.fingerprint, at: e.at, from: e.from, to: e.to, by: e.by, reason: e.reason });
        log.info({ fingerprint: alert.fingerprint, alertname: alert.rule, from: e.from, to: e.to, by: e.by, reason: e.reason }, 'alert state changed');
      } else if (e.type === 'note') {
        history.push({ id: noteId(alert.fingerprint, e), alertId: alert.fingerprint, at: e.at, from: snapshot.value, to: snapshot.value, by: e.by, reason: e.text, action: e.action });
      }
    }
    // Annotations follow the value at each state change, as Prometheus renders them per evaluation.
    if (emitted.some((e) => e.type === 'transition') && context.value !== undefined) alert.annotations = annotationsOf(alert, context.value);
    const messages: OutgoingMessage[] = [];
    for (const e of emitted) {
      if (e.type === 'schedule') messages.push(timerMessage(alert, e.timer, e.deadline, now));
      else if (e.type === 'notify') messages.push(notifyMessage(alert, e.status, context, now));
      else if (e.type === 'acknowledged') messages.push(acknowledgedMessage(alert, e, context, now));
    }
    const record: AlertRecord = {
      id: alert.fingerprint,
      rule: alert.rule,
      ...(alert.series === undefined ? {} : { series: alert.series }),
      state: snapshot.value,
      labels: alert.labels,
      annotations: alert.annotations,
      ...(context.value === undefined ? {} : { value: context.value }),
      snapshot: alert.machine.getPersistedSnapshot(),
      ...(context.activeAt === undefined ? {} : { activeAt: context.activeAt }),
      ...(context.firedAt === undefined ? {} : { firedAt: context.firedAt }),
      ...(context.resolvedAt === undefined ? {} : { resolvedAt: context.resolvedAt }),
      ...(context.assignee === undefined ? {} : { assignee: context.assignee }),
      updatedAt: now,
    };
    return { messages, published: false, history, record };
  }

  /** Feeds one event to an alert; a state change or a new deadline queues a write, which `touched` collects. */
  function dispatch(alert: LiveAlert, event: AlertEvent): void {
    const before = alert.machine.getSnapshot();
    alert.machine.send(event);
    const after = alert.machine.getSnapshot();
    if (after.value !== before.value) {
      if (before.value !== 'inactive' && before.value !== 'closed') metrics.alertsActive.dec({ state: before.value });
      if (after.value !== 'inactive' && after.value !== 'closed') metrics.alertsActive.inc({ state: after.value });
    }
    // A cleared deadline emits nothing but must be stored, or a restart would revive its timer.
    const deadlinesChanged = after.context.forDeadline !== before.context.forDeadline || after.context.keepFiringDeadline !== before.context.keepFiringDeadline;
    if (alert.emitted.length > 0 || deadlinesChanged) alert.outbox.push(prepareWrite(alert, alert.emitted.splice(0)));
    // Also when this event changed nothing: a redelivered message must wait for the writes it caused before.
    if (alert.outbox.length > 0) touched.add(alert);
  }

  async function publish(messages: OutgoingMessage[]): Promise<void> {
    const now = clock.now();
    await Promise.all(messages.map(({ message, deliverAt }) => (deliverAt === undefined ? bus.publish([message]) : bus.publish([message], { delayMs: Math.max(0, deliverAt - now) }))));
  }

  /**
   * Messages first, then the store. If the process dies in between, the stored state is the old one, the
   * unacknowledged message is redelivered and the transition replays with the same message ids, which the
   * transport and the notifier's outbox deduplicate. Storing first would instead lose the notification:
   * the replayed message would be stale against the stored state.
   */
  async function write(w: AlertWrite): Promise<void> {
    if (!w.published) {
      await publish(w.messages);
      w.published = true;
    }
    for (const event of w.history) await store.alertEvents.insert(event);
    await store.alerts.put(w.record);
  }

  async function drain(alert: LiveAlert): Promise<void> {
    for (let next = alert.outbox[0]; next; next = alert.outbox[0]) {
      await write(next);
      alert.outbox.shift();
    }
    const state = alert.machine.getSnapshot().value;
    if (alert.retired || state === 'inactive' || state === 'closed') forget(alert);
  }

  function flush(alert: LiveAlert): Promise<void> {
    alert.flushing ??= drain(alert).finally(() => {
      alert.flushing = undefined;
    });
    return alert.flushing;
  }

  /** Persist, then acknowledge: resolves once every touched alert's writes are done, else throws for a retry. */
  async function flushAll(alerts: Set<LiveAlert>): Promise<void> {
    if (alerts.size === 0) return;
    const results = await Promise.allSettled([...alerts].map(flush));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Runs `work` (which may touch alerts through observations and dispatch), then makes its writes durable. */
  async function touching(work: () => void | Promise<void>): Promise<void> {
    const mine = new Set<LiveAlert>();
    touched = mine;
    try {
      await work();
    } finally {
      touched = new Set();
    }
    await flushAll(mine);
  }

  function timeGate(config: RuleSpec): ((at: number) => boolean) | undefined {
    const active = 'active_time_intervals' in config ? config.active_time_intervals : undefined;
    const mute = 'mute_time_intervals' in config ? config.mute_time_intervals : undefined;
    if (!active?.length && !mute?.length) return undefined;
    return (at) => {
      const intervals = ctx.config().notifier.time_intervals;
      return (!active?.length || inAnyTimeInterval(active, intervals, at)) && !(mute?.length && inAnyTimeInterval(mute, intervals, at));
    };
  }

  /** A configured rule, compiled here, or a rule file's evaluator; an unchanged rule keeps its evaluator and what it learnt. */
  function compile(source: RuleConfig | PrometheusRuleEvaluator, previous: ActiveRule | undefined): ActiveRule {
    const config: RuleSpec = 'spec' in source ? source.spec : source;
    const text = JSON.stringify(config);
    const evaluator = previous && previous.text === text ? previous.evaluator : 'spec' in source ? source : compileRule(source, clock.now(), options.slaExcluded);
    const rule: Omit<ActiveRule, 'observe'> = {
      evaluator,
      config,
      text,
      identity: ruleIdentity(config),
      evaluations: metrics.ruleEvaluations.labels({ rule: config.name }),
      alerts: new Map(),
      dependents: [],
      inTime: timeGate(config),
    };
    return Object.assign(rule, { observe: observer(rule) });
  }

  /** Installs a rule set; alerts of rules that are gone, or now select or label differently, resolve. */
  function applyRules(config: VigilConfig): void {
    const next = new Map<string, ActiveRule>();
    for (const rule of [...config.rules, ...defaultRiskRules(config.rules, config.forecast.risks)]) next.set(rule.name, compile(rule, rules.get(rule.name)));
    for (const evaluator of loadPrometheusRules(config, queryClient)) next.set(evaluator.name, compile(evaluator, rules.get(evaluator.name)));
    for (const rule of next.values()) for (const c of rule.evaluator.conditions ?? []) next.get(c)?.dependents.push(rule);
    const now = clock.now();
    for (const alert of [...alertsByFingerprint.values()]) {
      const previous = rules.get(alert.rule);
      const current = next.get(alert.rule);
      if (current && (!previous || previous.identity === current.identity)) {
        if (alert.series !== undefined) current.alerts.set(alert.series, alert);
        continue;
      }
      alert.retired = true;
      dispatch(alert, { type: 'rule.removed', at: now });
      if (alert.outbox.length === 0) forget(alert);
    }
    rules = next;
    rulesByMetric = new Map();
    rulesByInput = { anomaly: [], prediction: [], systemEvent: [], risk: [], tick: [] };
    prometheusRules = [];
    for (const rule of next.values()) {
      if ('prepare' in rule.evaluator) prometheusRules.push(rule.evaluator as PrometheusRuleEvaluator);
      for (const metric of rule.evaluator.metrics) {
        const list = rulesByMetric.get(metric);
        if (list) list.push(rule);
        else rulesByMetric.set(metric, [rule]);
      }
      if (rule.evaluator.onAnomaly) rulesByInput.anomaly.push(rule);
      if (rule.evaluator.onPrediction) rulesByInput.prediction.push(rule);
      if (rule.evaluator.onSystemEvent) rulesByInput.systemEvent.push(rule);
      if (rule.evaluator.onRisk) rulesByInput.risk.push(rule);
      if (rule.evaluator.onTick) rulesByInput.tick.push(rule);
    }
  }

  function evaluateSamples(message: Envelope<'samples'>): void {
    for (const sample of message.payload.samples) {
      const candidates = rulesByMetric.get(sample.name);
      if (candidates === undefined) continue;
      for (const rule of candidates) rule.evaluator.onSample?.(sample, rule.observe);
    }
  }

  function tickMessage(due: number): OutgoingMessage {
    return { message: envelope('rules.tick', tickMessageId(due), { due }, ALERT_MANAGER_GLOBAL_KEY, clock.now()), deliverAt: due };
  }

  /** The next tick on the interval grid, so ticks published again after a restart have the same ids. */
  function nextTickAfter(t: number): number {
    const interval = tickIntervalMs();
    return (Math.floor(t / interval) + 1) * interval;
  }

  async function tick(due: number): Promise<void> {
    // A tick from before one already handled (a restart published a new chain) only ends its chain.
    if (due <= lastTick) return;
    lastTick = due;
    // Rule files' expressions are asked of Prometheus first; a failed query leaves that rule's alerts as they are.
    const asked = await Promise.allSettled(prometheusRules.map((r) => r.prepare(due)));
    asked.forEach((a, i) => {
      if (a.status === 'rejected') log.warn({ err: a.reason, rule: prometheusRules[i]?.spec.alert, file: prometheusRules[i]?.spec.file }, 'rule evaluation through Prometheus failed');
    });
    await touching(() => {
      for (const rule of rulesByInput.tick) rule.evaluator.onTick?.(due, rule.observe);
      // Silences and windows end with time, not with samples.
      checkEverySuppression(due);
    });
    await publish([tickMessage(nextTickAfter(Math.max(due, clock.now())))]);
  }

  /** Applies a person's request; alerts no longer in memory still take comments and assignments in their history. */
  async function workflow(message: Envelope<'alert.workflow'>): Promise<void> {
    const { fingerprint: fp, by, action, text } = message.payload;
    const at = message.ts; // the request's time: a redelivery replays with the same history id
    const alert = alertsByFingerprint.get(fp);
    if (alert) {
      const event: AlertEvent =
        action === 'assign' ? { type: 'assign', at, by, assignee: text ?? by } : action === 'comment' ? { type: 'comment', at, by, text: text ?? '' } : { type: 'resolve', at, by, ...(text ? { comment: text } : {}) };
      await touching(() => dispatch(alert, event));
      return;
    }
    const record = await store.alerts.get(fp);
    if (!record || action === 'resolve') {
      log.info({ fingerprint: fp, by, action, reason: record ? `the alert is ${record.state}` : 'no such alert' }, 'request refused');
      return;
    }
    const note = { at, action, by };
    await store.alertEvents.insert({ id: noteId(fp, note), alertId: fp, at, from: record.state, to: record.state, by, reason: text ?? by, action });
    if (action === 'assign') await store.alerts.put({ ...record, assignee: text ?? by, updatedAt: clock.now() });
  }

  async function restore(): Promise<void> {
    const records = (await Promise.all(LIVE_STATES.map((state) => store.alerts.find({ where: { state } })))).flat();
    for (const r of records) {
      register({ fingerprint: r.id, rule: r.rule, series: r.series, labels: r.labels, annotations: r.annotations }, r.snapshot);
      metrics.alertsActive.inc({ state: r.state });
    }
    log.info({ alerts: records.length }, 'alerts restored');
  }

  /** Restoring runs no machine actions, so timers are published again from stored deadlines (same ids: duplicates are dropped). */
  async function rescheduleTimers(): Promise<void> {
    const now = clock.now();
    const messages = [...alertsByFingerprint.values()].flatMap((alert) =>
      pendingTimers(alert.machine.getSnapshot().context).map((t) => timerMessage(alert, t.timer, t.deadline, now)),
    );
    await publish([...messages, tickMessage(nextTickAfter(now))]);
  }

  return {
    name: 'alert-manager',

    async start() {
      await restore();
      await touching(() => applyRules(ctx.config()));
      await rescheduleTimers();
    },

    async handle(message) {
      switch (message.type) {
        case 'samples':
          return touching(() => evaluateSamples(message as Envelope<'samples'>));
        case 'anomaly':
          return touching(() => {
            for (const event of (message as Envelope<'anomaly'>).payload.events) for (const rule of rulesByInput.anomaly) rule.evaluator.onAnomaly?.(event, rule.observe);
          });
        case 'prediction':
          return touching(() => {
            const now = clock.now();
            for (const p of (message as Envelope<'prediction'>).payload.predictions) for (const rule of rulesByInput.prediction) rule.evaluator.onPrediction?.(p, now, rule.observe);
          });
        case 'system.event':
          return touching(() => {
            for (const rule of rulesByInput.systemEvent) rule.evaluator.onSystemEvent?.((message as Envelope<'system.event'>).payload, rule.observe);
          });
        case 'risk':
          return touching(() => {
            for (const event of (message as Envelope<'risk'>).payload.events) for (const rule of rulesByInput.risk) rule.evaluator.onRisk?.(event, rule.observe);
          });
        case 'rules.tick':
          return tick((message as Envelope<'rules.tick'>).payload.due);
        case 'silences.changed':
          // The suppressor has read the silences again (noise control, before this handler).
          return touching(() => checkEverySuppression(clock.now()));
        case 'alert.timer': {
          const { fingerprint: fp, timer, deadline } = (message as Envelope<'alert.timer'>).payload;
          const alert = alertsByFingerprint.get(fp);
          // No alert: it went inactive, closed or its rule was removed, so the timer is stale.
          return touching(() => {
            if (!alert) return;
            // A silence created since the last tick mutes a pending alert before its `for` timer fires it.
            if (timer === 'for') muteBeforeFiring(alert, deadline, suppressor.check(alert.labels, deadline));
            dispatch(alert, { type: 'timer', timer, deadline });
          });
        }
        case 'alert.ack': {
          const { fingerprint: fp, by, comment } = (message as Envelope<'alert.ack'>).payload;
          const alert = alertsByFingerprint.get(fp);
          if (!alert) log.info({ fingerprint: fp, by, reason: 'no live alert' }, 'acknowledgement refused');
          // The request's time, not the handling time: a redelivered ack replays with the same history id.
          return touching(() => alert && dispatch(alert, { type: 'ack', at: message.ts, by, ...(comment === undefined ? {} : { comment }) }));
        }
        case 'alert.workflow':
          return workflow(message as Envelope<'alert.workflow'>);
        default:
          log.warn({ msgId: message.id, type: message.type }, 'unexpected message type ignored');
      }
    },

    async reload(config: VigilConfig) {
      await touching(() => applyRules(config));
    },

    async stop() {
      const unfinished = new Set([...alertsByFingerprint.values()].filter((a) => a.outbox.length > 0));
      try {
        await flushAll(unfinished);
      } catch (err) {
        log.warn({ err, alerts: unfinished.size }, 'alert writes left unfinished at stop; replayed from redelivered messages');
      }
      for (const alert of [...alertsByFingerprint.values()]) alert.machine.stop();
    },
  };
}
