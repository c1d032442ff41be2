export interface RateLimiterOptions {
  /** Sends per second. */
  perSecond: number;
  /** Sends allowed back to back after an idle spell. @defaultValue 1 (evenly spaced, never above `perSecond`) */
  burst?: number;
}

/** A reservation still counts when its holder comes back this late (timers and busy inboxes lag). */
const LATE_GRACE_MS = 250;
/** Reservations nobody came back for (a deleted delivery) are dropped after this long. */
const ABANDONED_AFTER_MS = 60_000;

/**
 * One receiver's send rate, as slots (a GCRA). A send either goes now or is given the next free slot,
 * which it keeps by key: the caller defers the send to the slot and, coming back at that time, is let
 * through without queueing again. Excess sends are so spread one interval apart instead of all coming
 * back at once. Time is passed in.
 */
export class RateLimiter {
  private readonly intervalMs: number;
  /** How far ahead of `now` the schedule may run and still let a send go at once. */
  private readonly toleranceMs: number;
  /** When the schedule is next free: the theoretical arrival time of the next send. */
  private nextFreeAt = -Infinity;
  private readonly reservations = new Map<string, number>();
  private pruneAt = 0;

  constructor(options: RateLimiterOptions) {
    if (!(options.perSecond > 0)) throw new RangeError(`perSecond must be > 0, got ${options.perSecond}`);
    const burst = options.burst ?? 1;
    if (!(Number.isInteger(burst) && burst >= 1)) throw new RangeError(`burst must be an integer >= 1, got ${burst}`);
    this.intervalMs = 1000 / options.perSecond;
    this.toleranceMs = (burst - 1) * this.intervalMs;
  }

  /** Undefined when the send keyed `key` may go now; otherwise the time (epoch ms, > now) of its slot. */
  acquire(key: string, now: number): number | undefined {
    this.prune(now);
    const reserved = this.reservations.get(key);
    if (reserved !== undefined) {
      if (now < reserved) return reserved;
      this.reservations.delete(key);
      if (now < reserved + Math.max(this.intervalMs, LATE_GRACE_MS)) return undefined;
      // Far too late to claim its slot: queue again rather than add to whoever holds the current one.
    }
    const scheduled = Math.max(this.nextFreeAt, now);
    this.nextFreeAt = scheduled + this.intervalMs;
    const slot = Math.ceil(scheduled - this.toleranceMs);
    if (slot <= now) return undefined;
    this.reservations.set(key, slot);
    return slot;
  }

  /** Gives up a reserved slot (the send was held back for another reason and will queue again). */
  release(key: string): void {
    this.reservations.delete(key);
  }

  /** Sends holding a slot, for tests and diagnostics. */
  get reserved(): number {
    return this.reservations.size;
  }

  private prune(now: number): void {
    if (now < this.pruneAt) return;
    this.pruneAt = now + ABANDONED_AFTER_MS;
    for (const [key, slot] of this.reservations) if (slot < now - ABANDONED_AFTER_MS) this.reservations.delete(key);
  }
}
