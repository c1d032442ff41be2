import type { VigilConfig } from '../../config/load.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { parseDuration } from '../../series/duration.js';
import { CircuitBreaker } from './breaker.js';
import type { SendResult } from './notify.js';
import { RateLimiter } from './rate-limit.js';

/** Why a send was put off, and until when (epoch ms, always later than now). */
export interface Deferral {
  reason: 'circuit_open' | 'rate_limited';
  until: number;
}

export interface SendGate {
  /** Undefined when the delivery may be sent to the receiver now; otherwise when to try it again. */
  admit(receiver: string, deliveryId: string, now: number): Deferral | undefined;
  /** Records how a send that `admit` let through ended. */
  settle(receiver: string, result: SendResult, now: number): void;
}

interface ReceiverGuard {
  breaker: CircuitBreaker;
  limiter: RateLimiter | undefined;
  /** The settings it was built from: a reload that changes them starts the receiver afresh. */
  settings: string;
}

/**
 * Each receiver's circuit breaker and rate limit, kept in memory (a restart starts closed and idle, which
 * costs at most `failures` attempts). Circuit changes are logged and exported as
 * `vigil_notifier_circuit_open{receiver}`.
 */
export function createSendGate(deps: { logger: Logger; metrics: Metrics; config(): VigilConfig }): SendGate {
  const guards = new Map<string, ReceiverGuard>();

  function guardFor(receiver: string): ReceiverGuard {
    const { notifier } = deps.config();
    const perSecond = notifier.receivers.find((r) => r.name === receiver)?.rate_limit;
    const { failures, cool_down } = notifier.circuit_breaker;
    const settings = `${failures}/${cool_down}/${perSecond ?? ''}`;
    const existing = guards.get(receiver);
    if (existing?.settings === settings) return existing;

    const coolDownMs = parseDuration(cool_down);
    const breaker = new CircuitBreaker({ failures, coolDownMs }, ({ from, to, at, failures: consecutive }) => {
      deps.metrics.circuitOpen.set({ receiver }, to === 'closed' ? 0 : 1);
      const fields = { receiver, from, to, consecutiveFailures: consecutive };
      if (to === 'open') deps.logger.warn({ ...fields, retryAt: at + coolDownMs }, `circuit opened: receiver ${receiver} failing; sends held back for ${cool_down}`);
      else deps.logger.info(fields, to === 'closed' ? `circuit closed: receiver ${receiver} answering again` : `circuit half-open: one trial send to ${receiver}`);
    });
    if (existing) deps.metrics.circuitOpen.set({ receiver }, 0);
    const guard = { breaker, limiter: perSecond === undefined ? undefined : new RateLimiter({ perSecond }), settings };
    guards.set(receiver, guard);
    return guard;
  }

  return {
    admit(receiver, deliveryId, now) {
      const { breaker, limiter } = guardFor(receiver);
      const blockedUntil = breaker.blockedUntil(now);
      if (blockedUntil !== undefined) {
        // It will queue again when the circuit lets it through; a slot kept meanwhile would burst out later.
        limiter?.release(deliveryId);
        return { reason: 'circuit_open', until: blockedUntil };
      }
      const slot = limiter?.acquire(deliveryId, now);
      if (slot !== undefined) return { reason: 'rate_limited', until: slot };
      breaker.sending(now);
      return undefined;
    },
    settle(receiver, result, now) {
      const { breaker } = guardFor(receiver);
      // A permanent refusal (400, bad payload) still means the receiver is up and answering.
      if (result.ok || !result.retryable) breaker.succeeded(now);
      else breaker.failed(now);
    },
  };
}
