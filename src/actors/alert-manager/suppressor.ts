/** What mutes an alert: a silence, a maintenance window, an inhibiting alert. */
export interface Suppression {
  /** What suppresses, e.g. `silence:ID`, `maintenance:NAME`, `inhibited-by:FINGERPRINT`. */
  by: string;
  reason: string;
}

/**
 * The alert manager asks this whenever an active alert is evaluated and on every evaluation tick: an
 * answer suppresses the alert, none lifts a suppression. Must be fast and must not throw.
 */
export interface Suppressor {
  check(labels: Record<string, string>, at: number): Suppression | undefined;
}

export const neverSuppressed: Suppressor = { check: () => undefined };
