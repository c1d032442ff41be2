/** What one action did, as the audit records it. Secrets are already redacted from every field. */
export interface ActionResult {
  ok: boolean;
  /** The action and its arguments as run (or as it would run, in dry-run). */
  action: Record<string, unknown>;
  /** Exit code of a command, or HTTP status. */
  status?: number;
  /** A signal that ended a command (timeout kills with SIGTERM, then SIGKILL). */
  signal?: string;
  stdout?: string;
  stderr?: string;
  error?: string;
  durationMs: number;
  dryRun: boolean;
}

/** Replaces every secret value in a text by `***`. */
export type Redact = (text: string) => string;

export function redactor(secrets: readonly string[]): Redact {
  const values = [...new Set(secrets.filter((s) => s.length >= 3))].sort((a, b) => b.length - a.length);
  return (text) => values.reduce((acc, s) => acc.split(s).join('***'), text);
}

/** Names of environment variables and headers whose values are treated as secrets even when given inline. */
export const SECRET_NAME = /pass|secret|token|key|auth|credential|cookie/i;

/** Keeps at most `max` bytes of output, saying how much was dropped. */
export function bounded(chunks: Buffer[], total: number, max: number): string {
  const text = Buffer.concat(chunks).subarray(0, max).toString('utf8');
  return total > max ? `${text}\n… ${total - max} more bytes not kept` : text;
}
