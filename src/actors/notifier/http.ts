/** One HTTP exchange with a receiver, classified the way every HTTP channel needs (webhook, Slack, PagerDuty, Jira). */

export interface HttpRequest {
  method?: 'GET' | 'POST' | 'PUT';
  url: URL | string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Strings cut from any error text, in case a peer echoes a credential back. */
  secrets?: readonly string[];
}

/** A 2xx answer with its body, or a failure that says whether trying again later may work. */
export type HttpResult = { ok: true; status: number; body: string } | { ok: false; retryable: boolean; status?: number; error: string };

/** 5xx: the receiver is broken or overloaded now; 408 and 429 ask us to come back later. Other 4xx won't change. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

const ERROR_BODY_CHARS = 200;

function describeNetworkError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `timed out after ${timeoutMs}ms`;
  const cause = err instanceof Error ? (err.cause as NodeJS.ErrnoException | undefined) : undefined;
  if (cause?.code) return `${cause.code}: ${cause.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Replaces every occurrence of each secret (and its URL-encoded form) with `[redacted]`. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('[redacted]');
  }
  return out;
}

/** `Basic` Authorization header value. */
export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** Sends one request; never throws. A non-2xx answer's body is kept (an excerpt) in the error: it usually says why. */
export async function httpRequest(request: HttpRequest): Promise<HttpResult> {
  const { timeoutMs, secrets } = request;
  let status: number;
  let text: string;
  try {
    const response = await fetch(request.url, {
      method: request.method ?? 'POST',
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = response.status;
    // Read inside the timeout: a receiver that stalls mid-body is as down as one that never answers.
    text = await response.text();
  } catch (err) {
    // No answer at all (refused, reset, DNS, timeout): the receiver may be restarting, so try again later.
    return { ok: false, retryable: true, error: redact(describeNetworkError(err, timeoutMs), secrets) };
  }
  if (status >= 200 && status < 300) return { ok: true, status, body: text };
  // Redact before cutting, so a secret straddling the cut can't leak its first half.
  const excerpt = redact(text, secrets).replace(/\s+/g, ' ').trim().slice(0, ERROR_BODY_CHARS);
  return { ok: false, retryable: isRetryableStatus(status), status, error: `HTTP ${status}${excerpt ? `: ${excerpt}` : ''}` };
}
