import { createActor, type Actor as MachineActor, type Snapshot } from 'xstate';
import { envelope, type AlertPayload, type AlertStatus, type Envelope } from '../../bus/messages.js';
import type { VigilConfig } from '../../config/load.js';
import type { ThresholdRule } from '../../config/schema.js';
import type { Sample } from '../../series/series.js';
import type { AlertEventRecord, AlertRecord } from '../../store/store.js';
import type { Actor, ActorContext } from '../actor.js';
import { alertMachine, pendingTimers, type AlertContext, type AlertEmitted, type AlertEvent, type AlertState, type TimerKind } from './alert.machine.js';
import { fingerprint } from './fingerprint.js';
import { alertAnnotations, alertLabels, compileThresholdRule, indexByMetric, selectsSeries, type CompiledThresholdRule } from './rules/threshold.js';

/** Alertmanager's "no end time", sent as endsAt while an alert fires. */
const NO_END = '0001-01-01T00:00:00Z';
/** States whose alerts are kept in memory across restarts; inactive alerts are forgotten. */
const LIVE_STATES: readonly AlertState[] = ['pending', 'firing', 'acknowledged', 'resolved'];

/** Deterministic ids (no ':', which BullMQ forbids): a replayed transition re-sends the same ids and is deduplicated. */
export const timerMessageId = (fp: string, timer: TimerKind, deadline: number) => `alert-${fp}-${timer}-${deadline}`;
export const notifyMessageId = (fp: string, status: AlertStatus, activeAt: number) => `alert-${fp}-${status}-${activeAt}`;
/** One acknowledgement per activation: the machine accepts only the first. */
export const acknowledgedMessageId = (fp: string, activeAt: number) => `alert-${fp}-acknowledged-${activeAt}`;
export const historyId = (fp: string, t: { at: number; from: string; to: string }) => `${fp}-${t.at}-${t.from}-${t.to}`;

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
}

interface ActiveRule {
  compiled: CompiledThresholdRule;
  /** What decides which series the rule watches and how its alerts are labelled: a change makes new alerts. */
  identity: string;
  evaluations: { inc(): void };
}

const ruleIdentity = (rule: ThresholdRule) => JSON.stringify([rule.metric, rule.match ?? {}, rule.labels ?? {}, rule.severity]);
const seriesKey = (rule: string, series: string) => `${rule}\u0000${series}`;
const iso = (t: number | undefined) => (t === undefined ? NO_END : new Date(t).toISOString());

/**
 * Evaluates rules against samples and runs one alert machine per fingerprint. Alerts live in memory;
 * the store is written only when an alert changes state, and timers are delayed bus messages.
 *
 * Handlers are idempotent: a redelivered message finds the alert already moved on (stale events are
 * dropped by the machine) and only waits for that alert's unfinished writes.
 */
export function createAlertManager(ctx: ActorContext): Actor {
  const log = ctx.logger.child({ actor: 'alert-manager' });
  const { store, bus, clock, metrics } = ctx;
  let rules = new Map<string, ActiveRule>();
  let rulesByMetric = new Map<string, ActiveRule[]>();
  const alertsByFingerprint = new Map<string, LiveAlert>();
  const alertsBySeries = new Map<string, LiveAlert>();

  function externalUrl(): string {
    const { external_url, host, port } = ctx.config().server;
    return (external_url ?? `http://${host}:${port}`).replace(/\/+$/, '');
  }

  function register(fields: Pick<LiveAlert, 'fingerprint' | 'rule' | 'series' | 'labels' | 'annotations'>, snapshot?: unknown): LiveAlert {
    const machine = createActor(alertMachine, snapshot === undefined ? {} : { snapshot: snapshot as Snapshot<unknown> });
    const alert: LiveAlert = { ...fields, machine, emitted: [], outbox: [], retired: false };
    machine.on('*', (event) => {
      // A refusal changes nothing, so there is nothing to persist: it is only logged.
      if (event.type === 'ack.refused') log.info({ fingerprint: alert.fingerprint, alertname: alert.rule, by: event.by, reason: event.reason }, 'acknowledgement refused');
      else alert.emitted.push(event);
    });
    machine.start();
    alertsByFingerprint.set(alert.fingerprint, alert);
    if (alert.series !== undefined) alertsBySeries.set(seriesKey(alert.rule, alert.series), alert);
    return alert;
  }

  function forget(alert: LiveAlert): void {
    const state = alert.machine.getSnapshot().value;
    if (state !== 'inactive') metrics.alertsActive.dec({ state });
    alert.machine.stop();
    if (alertsByFingerprint.get(alert.fingerprint) === alert) alertsByFingerprint.delete(alert.fingerprint);
    if (alert.series !== undefined && alertsBySeries.get(seriesKey(alert.rule, alert.series)) === alert) {
      alertsBySeries.delete(seriesKey(alert.rule, alert.series));
    }
  }

  function openAlert(rule: CompiledThresholdRule, sample: Sample): LiveAlert {
    const labels = alertLabels(rule, sample.labels);
    const fp = fingerprint(labels);
    // Series whose alert labels coincide (a rule label overrode what told them apart) share one alert.
    const existing = alertsByFingerprint.get(fp);
    if (existing) {
      alertsBySeries.set(seriesKey(rule.name, sample.series), existing);
      return existing;
    }
    return register({ fingerprint: fp, rule: rule.name, series: sample.series, labels, annotations: {} });
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

  /** Turns what the machine emitted into the write that makes it durable. */
  function prepareWrite(alert: LiveAlert, emitted: AlertEmitted[]): AlertWrite {
    const now = clock.now();
    const snapshot = alert.machine.getSnapshot();
    const { context } = snapshot;
    const history: AlertEventRecord[] = [];
    for (const e of emitted) {
      if (e.type !== 'transition') continue;
      history.push({ id: historyId(alert.fingerprint, e), alertId: alert.fingerprint, at: e.at, from: e.from, to: e.to, by: e.by, reason: e.reason });
      log.info({ fingerprint: alert.fingerprint, alertname: alert.rule, from: e.from, to: e.to, by: e.by, reason: e.reason }, 'alert state changed');
    }
    const rule = rules.get(alert.rule);
    // Annotations follow the value at each state change, as Prometheus renders them per evaluation.
    if (history.length > 0 && rule && context.value !== undefined) alert.annotations = alertAnnotations(rule.compiled, alert.labels, context.value);
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
      updatedAt: now,
    };
    return { messages, published: false, history, record };
  }

  /** Feeds one event to an alert; a state change or a new deadline queues a write, which `touched` collects. */
  function dispatch(alert: LiveAlert, event: AlertEvent, touched: Set<LiveAlert>): void {
    const before = alert.machine.getSnapshot();
    alert.machine.send(event);
    const after = alert.machine.getSnapshot();
    if (after.value !== before.value) {
      if (before.value !== 'inactive') metrics.alertsActive.dec({ state: before.value });
      if (after.value !== 'inactive') metrics.alertsActive.inc({ state: after.value });
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
    if (alert.retired || alert.machine.getSnapshot().value === 'inactive') forget(alert);
  }

  function flush(alert: LiveAlert): Promise<void> {
    alert.flushing ??= drain(alert).finally(() => {
      alert.flushing = undefined;
    });
    return alert.flushing;
  }

  /** Persist, then acknowledge: resolves once every touched alert's writes are done, else throws for a retry. */
  async function flushAll(touched: Set<LiveAlert>): Promise<void> {
    if (touched.size === 0) return;
    const results = await Promise.allSettled([...touched].map(flush));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  function evaluate(samples: readonly Sample[], touched: Set<LiveAlert>): void {
    for (const sample of samples) {
      const candidates = rulesByMetric.get(sample.name);
      if (candidates === undefined) continue;
      for (const { compiled: rule, evaluations } of candidates) {
        if (!selectsSeries(rule, sample.labels)) continue;
        evaluations.inc();
        const breached = rule.breached(sample.v);
        let alert = alertsBySeries.get(seriesKey(rule.name, sample.series));
        if (alert === undefined) {
          if (!breached) continue;
          alert = openAlert(rule, sample);
        }
        dispatch(alert, { type: breached ? 'condition.true' : 'condition.false', at: sample.t, value: sample.v, timing: rule }, touched);
      }
    }
  }

  /** Installs a rule set; alerts of rules that are gone, or now select or label differently, resolve. */
  function applyRules(ruleConfigs: VigilConfig['rules'], touched: Set<LiveAlert>): void {
    const next = new Map<string, ActiveRule>();
    for (const rule of ruleConfigs) {
      // Predict rules act on the predictive analyzer's `prediction` messages, not on samples.
      if (rule.kind !== 'threshold') continue;
      next.set(rule.name, { compiled: compileThresholdRule(rule), identity: ruleIdentity(rule), evaluations: metrics.ruleEvaluations.labels({ rule: rule.name }) });
    }
    const now = clock.now();
    for (const alert of [...alertsByFingerprint.values()]) {
      const previous = rules.get(alert.rule);
      const current = next.get(alert.rule);
      if (current && (!previous || previous.identity === current.identity)) continue;
      alert.retired = true;
      if (alert.series !== undefined) alertsBySeries.delete(seriesKey(alert.rule, alert.series));
      dispatch(alert, { type: 'rule.removed', at: now }, touched);
      if (alert.outbox.length === 0) forget(alert);
    }
    rules = next;
    rulesByMetric = indexByMetric([...next.values()], (r) => r.compiled.metric);
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
    await publish(messages);
  }

  return {
    name: 'alert-manager',

    async start() {
      await restore();
      const touched = new Set<LiveAlert>();
      applyRules(ctx.config().rules, touched);
      await flushAll(touched);
      await rescheduleTimers();
    },

    async handle(message) {
      const touched = new Set<LiveAlert>();
      if (message.type === 'samples') {
        evaluate((message as Envelope<'samples'>).payload.samples, touched);
      } else if (message.type === 'alert.timer') {
        const { fingerprint: fp, timer, deadline } = (message as Envelope<'alert.timer'>).payload;
        const alert = alertsByFingerprint.get(fp);
        // No alert: it went inactive or its rule was removed, so the timer is stale.
        if (alert) dispatch(alert, { type: 'timer', timer, deadline }, touched);
      } else if (message.type === 'alert.ack') {
        const { fingerprint: fp, by, comment } = (message as Envelope<'alert.ack'>).payload;
        const alert = alertsByFingerprint.get(fp);
        // The request's time, not the handling time: a redelivered ack replays with the same history id.
        if (alert) dispatch(alert, { type: 'ack', at: message.ts, by, ...(comment === undefined ? {} : { comment }) }, touched);
        else log.info({ fingerprint: fp, by, reason: 'no live alert' }, 'acknowledgement refused');
      } else {
        log.warn({ msgId: message.id, type: message.type }, 'unexpected message type ignored');
      }
      await flushAll(touched);
    },

    async reload(config: VigilConfig) {
      const touched = new Set<LiveAlert>();
      applyRules(config.rules, touched);
      await flushAll(touched);
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
