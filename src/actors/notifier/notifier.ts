import type { Actor, ActorContext } from '../actor.js';
import type { Envelope } from '../../bus/messages.js';
import type { VigilConfig } from '../../config/load.js';
import type { DeliveryRecord } from '../../store/store.js';
import type { Integration, Notification, SendResult } from './notify.js';
import { DEFAULT_BACKOFF, deliveryId, retryDelayMs, retryMessageId, scheduleRetry, type Backoff } from './outbox.js';
import { buildIntegrations } from './registry.js';
import { createSendGate, type Deferral } from './send-gate.js';

export interface NotifierOptions {
  /** @defaultValue DEFAULT_BACKOFF */
  backoff?: Backoff;
  /** Jitter source in [0, 1). @defaultValue Math.random */
  random?: () => number;
}

/** Deliveries re-attempted at once on start: enough that one slow receiver doesn't hold up the rest. */
const RECOVERY_CONCURRENCY = 8;

/**
 * Turns `alert.notify` messages into outbox deliveries and sends them: each delivery is stored before
 * its first attempt, every attempt is recorded, and retries are delayed `delivery.retry` messages, so a
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
    if (built?.config !== config) built = { config, integrations: buildIntegrations(config, log) };
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
  const gate = createSendGate({ logger: log, metrics: ctx.metrics, config: ctx.config });

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

  async function attempt(record: DeliveryRecord): Promise<void> {
    const integration = integrations().get(record.receiver);
    const startedAt = ctx.clock.now();
    const deferral = integration && gate.admit(record.receiver, record.id, startedAt);
    if (deferral) return defer(record, deferral, startedAt);
    const sending: DeliveryRecord = {
      ...record,
      status: 'sending',
      attempts: record.attempts + 1,
      updatedAt: startedAt,
      channel: integration?.channel ?? record.channel,
      target: integration?.target ?? record.target,
    };
    await deliveries.put(sending);
    const result = await send(integration, sending, startedAt);

    const now = ctx.clock.now();
    if (integration) gate.settle(record.receiver, result, now);
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

  async function onNotify(message: Envelope<'alert.notify'>): Promise<void> {
    const { alert, rule } = message.payload;
    const receiver = message.payload.receiver ?? ctx.config().notifier.default_receiver;
    const integration = integrations().get(receiver);
    if (alert.status === 'resolved' && integration && !integration.sendResolved) {
      log.debug({ receiver, fingerprint: alert.fingerprint }, 'resolved notification skipped (send_resolved: false)');
      return;
    }
    const now = ctx.clock.now();
    const notification: Notification = { receiver, rule, raisedAt: message.ts, alerts: [alert] };
    const record: DeliveryRecord = {
      id: deliveryId(message.id, receiver),
      receiver,
      channel: integration?.channel ?? '',
      target: integration?.target ?? '',
      status: 'pending',
      payload: notification,
      attempts: 0,
      createdAt: now,
      updatedAt: now,
    };
    if (await deliveries.insert(record)) return attempt(record);
    const existing = await deliveries.get(record.id);
    if (existing) await resume(existing);
  }

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
      // Left by a crash (kill -9 mid-send): re-send; the receiver drops a duplicate by Idempotency-Key.
      const unsettled = [...(await deliveries.find({ where: { status: 'pending' } })), ...(await deliveries.find({ where: { status: 'sending' } }))];
      if (unsettled.length) log.info({ count: unsettled.length }, 're-attempting deliveries left unsettled');
      for (let i = 0; i < unsettled.length; i += RECOVERY_CONCURRENCY) {
        await Promise.all(unsettled.slice(i, i + RECOVERY_CONCURRENCY).map(attempt));
      }
    },
    async handle(message) {
      if (message.type === 'alert.notify') return onNotify(message as Envelope<'alert.notify'>);
      if (message.type === 'delivery.retry') return onRetry(message as Envelope<'delivery.retry'>);
      log.warn({ msgId: message.id, type: message.type }, 'unexpected message type ignored');
    },
  };
}
