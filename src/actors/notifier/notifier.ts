import { createHash } from 'node:crypto';
import type { Actor, ActorContext } from '../actor.js';
import type { Envelope } from '../../bus/messages.js';
import type { VigilConfig } from '../../config/load.js';
import type { DeliveryRecord } from '../../store/store.js';
import type { Integration, Notification, SendResult } from './notify.js';
import { DEFAULT_BACKOFF, deliveryId, retryDelayMs, retryMessageId, scheduleRetry, type Backoff } from './outbox.js';
import { buildIntegrations } from './registry.js';
import { createSendGate, type Deferral } from './send-gate.js';
import { createDispatcher } from './routing/dispatcher.js';
import { createDailyReport } from './daily-report.js';
import { createEscalations } from './escalation.js';
import { createTicketAutomation, oncallFromConfig, ticketSystemFromConfig } from './tickets.js';

export interface NotifierOptions {
  /** @defaultValue DEFAULT_BACKOFF */
  backoff?: Backoff;
  /** Jitter source in [0, 1). @defaultValue Math.random */
  random?: () => number;
}

/** Deliveries re-attempted at once on start: enough that one slow receiver doesn't hold up the rest. */
const RECOVERY_CONCURRENCY = 8;

/**
 * Routes `alert.notify` messages through the route tree into aggregation groups (routing/dispatcher.ts),
 * whose flushes become outbox deliveries, and sends them: each delivery is stored before its first attempt, every attempt is recorded, and retries are delayed `delivery.retry` messages, so a
 * restart loses nothing. Sends are at least once; receivers drop duplicates by Idempotency-Key.
 */
export function createNotifier(ctx: ActorContext, options: NotifierOptions = {}): Actor {
  const log = ctx.logger.child({ actor: 'notifier' });
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const random = options.random ?? Math.random;
  const deliveries = ctx.store.deliveries;

  // Rebuilt whenever the config object changes (reload), so secrets and URLs are re-read then.
  let built: { config: VigilConfig; integrations: Map<string, Integration> } | undefined;
  const integrations = (): Map<string, Integration> => {
    const config = ctx.config();
    if (built?.config !== config) built = { config, integrations: buildIntegrations(config, log, ctx.store) };
    return built.integrations;
  };

  async function send(integration: Integration | undefined, record: DeliveryRecord, now: number): Promise<SendResult> {
    if (!integration) return { ok: false, retryable: false, error: `no receiver named "${record.receiver}" is configured` };
    try {
      return await integration.notifier.send(record.payload as Notification, { deliveryId: record.id, now });
    } catch (err) {
      // A notifier bug must not leave the delivery stuck in `sending`: count it as an attempt and retry.
      return { ok: false, retryable: true, error: (err as Error).message };
    }
  }

  // --- circuit breaker and rate limit (send-gate.ts) ---
  const gate = createSendGate({ logger: log, metrics: ctx.metrics, config: ctx.config, store: ctx.store });

  /**
   * Holds a send back without spending an attempt: the delivery keeps its status and attempts, and its
   * retry is published for when the circuit half-opens or its rate-limit slot comes.
   */
  async function defer(record: DeliveryRecord, deferral: Deferral, now: number): Promise<void> {
    const status = record.status === 'failed' ? 'failed' : 'pending';
    await deliveries.put({ ...record, status, nextAttemptAt: deferral.until, updatedAt: now });
    ctx.metrics.notificationsDeferred.inc({ receiver: record.receiver, reason: deferral.reason });
    log.debug({ deliveryId: record.id, receiver: record.receiver, reason: deferral.reason, nextAttemptAt: deferral.until }, 'notification deferred');
    await scheduleRetry(ctx, record.id, deferral.until);
  }
  // --- end circuit breaker and rate limit ---

  /**
   * Deliveries this process wrote already marked `sending` (their first attempt admitted and counted) and
   * has not sent yet: their attempt goes straight to the send, without a second write.
   */
  const claimed = new Set<string>();

  async function attempt(record: DeliveryRecord): Promise<void> {
    const integration = integrations().get(record.receiver);
    const startedAt = ctx.clock.now();
    let sending = record;
    if (!claimed.delete(record.id)) {
      const deferral = integration && gate.admit(record.receiver, record.id, startedAt);
      if (deferral) return defer(record, deferral, startedAt);
      sending = {
        ...record,
        status: 'sending',
        attempts: record.attempts + 1,
        updatedAt: startedAt,
        channel: integration?.channel ?? record.channel,
        target: integration?.target ?? record.target,
      };
      await deliveries.put(sending);
    }
    const result = await send(integration, sending, startedAt);

    const now = ctx.clock.now();
    if (integration) await gate.settle(record.receiver, result, now);
    const { nextAttemptAt: _scheduledFor, ...settled } = sending;
    const fields = { deliveryId: record.id, receiver: record.receiver, target: sending.target, attempt: sending.attempts };
    if (result.ok) {
      const latencyMs = now - (record.payload as Notification).raisedAt;
      await deliveries.put({ ...settled, status: 'delivered', deliveredAt: now, latencyMs, updatedAt: now });
      ctx.metrics.notifications.inc({ receiver: record.receiver, outcome: 'delivered' });
      log.info({ ...fields, latencyMs }, 'notification delivered');
      return;
    }
    if (result.retryable && sending.attempts < ctx.config().notifier.max_attempts) {
      const nextAttemptAt = now + retryDelayMs(sending.attempts, backoff, random);
      await deliveries.put({ ...settled, status: 'failed', lastError: result.error, nextAttemptAt, updatedAt: now });
      ctx.metrics.notifications.inc({ receiver: record.receiver, outcome: 'failed' });
      log.warn({ ...fields, error: result.error, nextAttemptAt }, 'notification failed; will retry');
      await scheduleRetry(ctx, record.id, nextAttemptAt);
      return;
    }
    await deliveries.put({ ...settled, status: 'dead', lastError: result.error, updatedAt: now });
    ctx.metrics.notifications.inc({ receiver: record.receiver, outcome: 'dead' });
    log.error({ ...fields, error: result.error, retryable: result.retryable }, 'notification dead: giving up');
  }

  /** Finishes whatever an earlier handling of the same delivery left undone. */
  async function resume(record: DeliveryRecord): Promise<void> {
    if (record.status === 'pending' || record.status === 'sending') return attempt(record);
    // The retry may not have been published before a crash; publishing it again is deduplicated by id.
    if (record.status === 'failed' && record.nextAttemptAt !== undefined) return scheduleRetry(ctx, record.id, record.nextAttemptAt);
  }

  /**
   * Stores a delivery unless it exists (a redelivery); returns the record as stored. One its receiver may
   * be sent to now is stored as `sending`, its first attempt counted, and claimed for `attempt`: one write
   * instead of `pending` then `sending`, and the outbox still holds it before it is sent.
   */
  async function write(source: string, notification: Notification): Promise<DeliveryRecord> {
    const now = ctx.clock.now();
    const integration = integrations().get(notification.receiver);
    const id = deliveryId(source, notification.receiver);
    // Looked up first so a redelivery does not take a send slot (or the half-open trial) it won't use.
    const existing = await deliveries.get(id);
    if (existing) return existing;
    const admitted = integration !== undefined && gate.admit(notification.receiver, id, now) === undefined;
    const record: DeliveryRecord = {
      id,
      receiver: notification.receiver,
      channel: integration?.channel ?? '',
      target: integration?.target ?? '',
      status: admitted ? 'sending' : 'pending',
      payload: notification,
      attempts: admitted ? 1 : 0,
      createdAt: now,
      updatedAt: now,
    };
    if (await deliveries.insert(record)) {
      if (admitted) claimed.add(id);
      return record;
    }
    return (await deliveries.get(record.id)) ?? record;
  }

  /**
   * Hands a notification to the outbox for its receiver (escalation steps, reports). Its content names
   * the delivery, so handing over the same notification again (a redelivered message) sends it once.
   */
  async function deliver(notification: Notification): Promise<void> {
    const source = `notification-${createHash('sha256').update(JSON.stringify(notification)).digest('hex').slice(0, 32)}`;
    await resume(await write(source, notification));
  }

  // When `notifier.route` is absent the root route is { receiver: default_receiver, group_by: [alertname],
  // group_wait: 0s, group_interval: 0s }: every alert change is sent at once, as before routing existed.
  const escalations = createEscalations({ store: ctx.store, bus: ctx.bus, clock: ctx.clock, config: ctx.config, logger: log, deliver });
  const workflowDeps = { store: ctx.store, bus: ctx.bus, clock: ctx.clock, config: ctx.config, logger: log };
  const tickets = createTicketAutomation({ ...workflowDeps, tickets: ticketSystemFromConfig(ctx), oncall: oncallFromConfig(workflowDeps) });
  const dailyReport = createDailyReport({ ...workflowDeps, deliver });
  const dispatcher = createDispatcher({
    ...ctx,
    escalations,
    outbox: { write, settle: resume, sendsResolved: (receiver) => integrations().get(receiver)?.sendResolved ?? true },
  });

  async function onRetry(message: Envelope<'delivery.retry'>): Promise<void> {
    const record = await deliveries.get(message.payload.deliveryId);
    if (!record) {
      log.warn({ deliveryId: message.payload.deliveryId }, 'retry for an unknown delivery ignored');
      return;
    }
    if (record.status === 'delivered' || record.status === 'dead') return;
    // Only the retry named after the current due time attempts; a copy of an earlier one is stale, but
    // is a chance to re-publish the current retry if a crash lost it.
    if (record.nextAttemptAt !== undefined && message.id === retryMessageId(record.id, record.nextAttemptAt)) return attempt(record);
    if (record.status === 'failed') return resume(record);
  }

  return {
    name: 'notifier',
    async start() {
      await gate.restore();
      // Left by a crash (kill -9 mid-send): re-send; the receiver drops a duplicate by Idempotency-Key.
      const unsettled = [...(await deliveries.find({ where: { status: 'pending' } })), ...(await deliveries.find({ where: { status: 'sending' } }))];
      if (unsettled.length) log.info({ count: unsettled.length }, 're-attempting deliveries left unsettled');
      for (let i = 0; i < unsettled.length; i += RECOVERY_CONCURRENCY) {
        await Promise.all(unsettled.slice(i, i + RECOVERY_CONCURRENCY).map(attempt));
      }
      await dispatcher.resume();
      await dailyReport.start();
    },
    async reload() {
      // A new report time or zone takes effect now; start() is idempotent for an unchanged one.
      await dailyReport.start();
    },
    async handle(message) {
      if (message.type === 'alert.notify') {
        const payload = (message as Envelope<'alert.notify'>).payload;
        await tickets.onNotify(payload);
        return dispatcher.onNotify(payload, message.ts, message.id);
      }
      if (message.type === 'ticket.check') return tickets.onCheck((message as Envelope<'ticket.check'>).payload);
      if (message.type === 'report.daily') return dailyReport.onDue((message as Envelope<'report.daily'>).payload);
      if (message.type === 'group.flush') return dispatcher.onFlush((message as Envelope<'group.flush'>).payload);
      if (message.type === 'alert.acknowledged') return dispatcher.onAcknowledged((message as Envelope<'alert.acknowledged'>).payload);
      if (message.type === 'escalation.step') return escalations.onStep((message as Envelope<'escalation.step'>).payload);
      if (message.type === 'delivery.retry') return onRetry(message as Envelope<'delivery.retry'>);
      log.warn({ msgId: message.id, type: message.type }, 'unexpected message type ignored');
    },
  };
}
