import type { Rejection } from '../../ingest/sample-check.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Sample } from '../../series/series.js';
import type { Clock } from '../actor.js';

/** A running origin of samples: polled on an interval, listening, or both. */
export interface Source {
  readonly name: string;
  /** Starts schedules and runs the first collection (and backfill); resolves when that first round is done. */
  start(): Promise<void>;
  /** One collection round now, whatever the schedule. Never rejects: failures are reported. */
  collectOnce(): Promise<void>;
  /** Stops schedules and connections; nothing is ingested after it resolves. */
  stop(): Promise<void>;
}

export interface SourceDeps {
  /** Admits and publishes what the source read, counting `rejected` (found while reading). Never rejects. */
  ingest(samples: Sample[], rejected?: readonly Rejection[]): Promise<void>;
  report: FailureReporter;
  clock: Clock;
  logger: Logger;
  /** The config file's folder, for secrets given as files. */
  baseDir: string;
}

/**
 * Counts every failure of a source in `vigil_source_errors_total{source,reason}` but logs a failure
 * only when it differs from the last one of the same scope (a query, a connection), so a source that
 * is down for an hour writes one line, not one per interval, and one more when it recovers.
 */
export interface FailureReporter {
  fail(scope: string, reason: string, detail: string): void;
  ok(scope: string): void;
}

export function createFailureReporter(source: string, logger: Logger, metrics: Metrics): FailureReporter {
  const current = new Map<string, string>();
  return {
    fail(scope, reason, detail) {
      metrics.sourceErrors.inc({ source, reason });
      const key = `${reason}: ${detail}`;
      if (current.get(scope) === key) return;
      current.set(scope, key);
      logger.warn({ source, scope, reason, detail }, 'source failing');
    },
    ok(scope) {
      if (!current.delete(scope)) return;
      logger.info({ source, scope }, 'source recovered');
    },
  };
}

/** Replaces every secret in a message, so errors of drivers and HTTP clients can be logged. */
export function scrubSecrets(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) if (secret) out = out.split(secret).join('[redacted]');
  return out;
}

/** What of a URL must never be logged: with a password in it, the URL and the password itself. */
export function urlSecrets(url: string): string[] {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password ? [url, password] : [];
  } catch {
    // Unparsable, so we cannot tell where a password would be: treat the whole text as secret.
    return [url];
  }
}

/**
 * Runs `task` every `ms`, skipping a tick while the previous run is still going, so a slow source
 * never piles up concurrent collections. Returns the function that stops it.
 */
export function every(ms: number, task: () => Promise<void>): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void task().finally(() => {
      running = false;
    });
  }, ms);
  return () => clearInterval(timer);
}
