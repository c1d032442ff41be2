export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failures: number;
  /** How long the circuit stays open before one trial send is let through. */
  coolDownMs: number;
}

export type CircuitListener = (change: { from: CircuitState; to: CircuitState; at: number; failures: number }) => void;

/**
 * One receiver's circuit breaker. Closed: sends go, consecutive failures are counted; `failures` of them
 * open it. Open: nothing is sent for `coolDownMs`. Then half-open: one trial send; success closes the
 * circuit, failure opens it again. Time is passed in, so the breaker needs no timers.
 */
export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;
  /** When the half-open trial started; undefined while none is in flight. */
  private trialStartedAt: number | undefined;

  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly onChange: CircuitListener = () => {},
  ) {
    if (!(options.failures >= 1)) throw new RangeError(`failures must be >= 1, got ${options.failures}`);
    if (!(options.coolDownMs >= 0)) throw new RangeError(`coolDownMs must be >= 0, got ${options.coolDownMs}`);
  }

  /** The state at `now`: an open circuit whose cool-down has passed is half-open. */
  state(now: number): CircuitState {
    if (this.current === 'open' && now >= this.openedAt + this.options.coolDownMs) this.transition('half_open', now);
    return this.current;
  }

  /**
   * When a send may next be tried, or undefined when one may go now. While the trial is in flight the
   * others wait a short while rather than a whole cool-down: the trial usually settles in milliseconds.
   * Does not change the state beyond what time has done; call `sending` when the send really starts.
   */
  blockedUntil(now: number): number | undefined {
    const state = this.state(now);
    if (state === 'open') return this.openedAt + this.options.coolDownMs;
    if (state === 'half_open' && this.trialStartedAt !== undefined) {
      // A trial that never settled (the process lost it) must not hold the circuit half-open forever.
      const trialExpiresAt = this.trialStartedAt + this.options.coolDownMs;
      if (now < trialExpiresAt) return Math.min(trialExpiresAt, now + TRIAL_RECHECK_MS);
    }
    return undefined;
  }

  /** A send starts now; in the half-open state it is the one trial. */
  sending(now: number): void {
    if (this.state(now) === 'half_open') this.trialStartedAt = now;
  }

  /**
   * Opens the circuit as a previous process left it, opened at `openedAt`: the cool-down runs on from
   * then. Not reported as a change: nothing changed for the receiver.
   */
  reopen(openedAt: number, failures: number): void {
    this.current = 'open';
    this.openedAt = openedAt;
    this.consecutiveFailures = failures;
    this.trialStartedAt = undefined;
  }

  /** The receiver answered (delivered, or refused for good: it is up either way). */
  succeeded(now: number): void {
    this.consecutiveFailures = 0;
    this.trialStartedAt = undefined;
    if (this.current !== 'closed') this.transition('closed', now);
  }

  /** The receiver was down, overloaded or too slow. */
  failed(now: number): void {
    this.consecutiveFailures += 1;
    this.trialStartedAt = undefined;
    const state = this.state(now);
    if (state === 'half_open' || (state === 'closed' && this.consecutiveFailures >= this.options.failures)) {
      this.openedAt = now;
      this.transition('open', now);
    }
  }

  private transition(to: CircuitState, at: number): void {
    const from = this.current;
    this.current = to;
    this.onChange({ from, to, at, failures: this.consecutiveFailures });
  }
}

/** How soon sends held back by an in-flight half-open trial look again. */
export const TRIAL_RECHECK_MS = 1_000;
