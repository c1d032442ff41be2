import type { VigilConfig } from '../../config/load.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { parseDuration } from '../../series/duration.js';
import type { NotifierStateRecord, Store } from '../../store/store.js';
import { CircuitBreaker } from './breaker.js';
import type { SendResult } from './notify.js';
import { RateLimiter } from './rate-limit.js';

/** Why a send was put off, and until when (epoch ms, always later than now). */
export interface Deferral {
  reason: 'circuit_open' | 'rate_limited';
  until: number;
}

export interface SendGate {
  /** Reloads the circuits a previous process left open; call before the first `admit`. */
  restore(): Promise<void>;
  /** Undefined when the delivery may be sent to the receiver now; otherwise when to try it again. */
  admit(receiver: string, deliveryId: string, now: number): Deferral | undefined;
  /** Records how a send that `admit` let through ended; resolves once a circuit it opened or closed is stored. */
  settle(receiver: string, result: SendResult, now: number): Promise<void>;
}

/** An open circuit in store.notifierState, so a restart keeps holding sends back until its cool-down ends. */
export interface CircuitRecord extends NotifierStateRecord {
  kind: 'circuit';
  receiver: string;
  openedAt: number;
  failures: number;
}

export const circuitRecordId = (receiver: string): string => `circuit-${receiver}`;

interface ReceiverGuard {
  breaker: CircuitBreaker;
  limiter: RateLimiter | undefined;
  /** The settings it was built from: a reload that changes them starts the receiver afresh. */
  settings: string;
}

/**
 * Each receiver's circuit breaker and rate limit. An open circuit is also stored (store.notifierState,
 * kind 'circuit', removed when it closes), so a restart does not send to a receiver known to be down
 * before its cool-down ends; failures counted towards opening and rate-limit slots stay in memory (a
 * restart costs at most `failures` attempts). Circuit changes are logged and exported as
 * `vigil_notifier_circuit_open{receiver}`.
 */
export function createSendGate(deps: { logger: Logger; metrics: Metrics; config(): VigilConfig; store: Pick<Store, 'notifierState'> }): SendGate {
  const guards = new Map<string, ReceiverGuard>();
  const circuits = deps.store.notifierState;
  /** Circuits found open at start, applied when each receiver's breaker is built. */
  const leftOpen = new Map<string, CircuitRecord>();
  /** Per receiver, the last circuit write: writes are chained so the store ends with the latest state. */
  const writes = new Map<string, Promise<void>>();

  function persist(receiver: string, write: () => Promise<unknown>): void {
    const previous = writes.get(receiver) ?? Promise.resolve();
    const next = previous.then(write).then(
      () => undefined,
      (err: unknown) => deps.logger.error({ receiver, err }, 'circuit state not stored: a restart may not know it'),
    );
    writes.set(receiver, next);
  }

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
      if (to === 'open') persist(receiver, () => circuits.put({ id: circuitRecordId(receiver), kind: 'circuit', receiver, openedAt: at, failures: consecutive, updatedAt: at } satisfies CircuitRecord));
      if (to === 'closed') persist(receiver, () => circuits.delete(circuitRecordId(receiver)));
      const fields = { receiver, from, to, consecutiveFailures: consecutive };
      if (to === 'open') deps.logger.warn({ ...fields, retryAt: at + coolDownMs }, `circuit opened: receiver ${receiver} failing; sends held back for ${cool_down}`);
      else deps.logger.info(fields, to === 'closed' ? `circuit closed: receiver ${receiver} answering again` : `circuit half-open: one trial send to ${receiver}`);
    });
    const saved = leftOpen.get(receiver);
    leftOpen.delete(receiver);
    if (existing) {
      // New settings start the receiver afresh, stored circuit included.
      deps.metrics.circuitOpen.set({ receiver }, 0);
      persist(receiver, () => circuits.delete(circuitRecordId(receiver)));
    } else if (saved) {
      breaker.reopen(saved.openedAt, saved.failures);
      deps.logger.warn({ receiver, openedAt: saved.openedAt, retryAt: saved.openedAt + coolDownMs }, `circuit left open by the previous run: sends to ${receiver} held back until its cool-down ends`);
    }
    const guard = { breaker, limiter: perSecond === undefined ? undefined : new RateLimiter({ perSecond }), settings };
    guards.set(receiver, guard);
    return guard;
  }

  return {
    async restore() {
      const configured = new Set(deps.config().notifier.receivers.map((r) => r.name));
      for (const record of (await circuits.find({ where: { kind: 'circuit' } })) as CircuitRecord[]) {
        if (!configured.has(record.receiver)) {
          await circuits.delete(record.id);
          continue;
        }
        leftOpen.set(record.receiver, record);
        deps.metrics.circuitOpen.set({ receiver: record.receiver }, 1);
      }
    },
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
    async settle(receiver, result, now) {
      const { breaker } = guardFor(receiver);
      // A permanent refusal (400, bad payload) still means the receiver is up and answering.
      if (result.ok || !result.retryable) breaker.succeeded(now);
      else breaker.failed(now);
      await writes.get(receiver);
    },
  };
}
