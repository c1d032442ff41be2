import { Agent, request as undiciRequest } from 'undici';

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

/**
 * Keeps connections to receivers open between notifications (undici's own pools, per origin): a busy
 * receiver is not paid a TCP handshake per page, and undici's request API skips the WHATWG fetch layer
 * (Request/Response objects, web streams), which costs about as much again on loopback.
 */
const agent = new Agent({ keepAliveTimeout: 10_000 });

function describeNetworkError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `timed out after ${timeoutMs}ms`;
  if (!(err instanceof Error)) return String(err);
  // Socket errors carry their code themselves (ECONNREFUSED, UND_ERR_SOCKET); wrapped ones on their cause.
  const failure = (err.cause as NodeJS.ErrnoException | undefined) ?? (err as NodeJS.ErrnoException);
  return failure.code && !failure.message.includes(failure.code) ? `${failure.code}: ${failure.message}` : failure.message;
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
    const response = await undiciRequest(request.url, {
      method: request.method ?? 'POST',
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(timeoutMs),
      dispatcher: agent,
    });
    status = response.statusCode;
    // Read inside the timeout: a receiver that stalls mid-body is as down as one that never answers.
    // Reading it whole also frees the connection for the next request.
    text = await response.body.text();
  } catch (err) {
    // No answer at all (refused, reset, DNS, timeout): the receiver may be restarting, so try again later.
    return { ok: false, retryable: true, error: redact(describeNetworkError(err, timeoutMs), secrets) };
  }
  if (status >= 200 && status < 300) return { ok: true, status, body: text };
  // Redact before cutting, so a secret straddling the cut can't leak its first half.
  const excerpt = redact(text, secrets).replace(/\s+/g, ' ').trim().slice(0, ERROR_BODY_CHARS);
  return { ok: false, retryable: isRetryableStatus(status), status, error: `HTTP ${status}${excerpt ? `: ${excerpt}` : ''}` };
}
