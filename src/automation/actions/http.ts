import { type ActionResult, type Redact } from './types.js';

export interface HttpSpec {
  method: string;
  url: string;
  headers: Record<string, string>;
  secretHeaders: ReadonlySet<string>;
  body?: string;
  /** Statuses that count as success; any 2xx when empty. */
  expectStatus: readonly number[];
  timeoutMs: number;
  maxOutputBytes: number;
}

export function describeHttp(spec: HttpSpec, redact: Redact): Record<string, unknown> {
  return {
    kind: 'http',
    method: spec.method,
    url: redact(spec.url),
    headers: Object.fromEntries(Object.entries(spec.headers).map(([k, v]) => [k, spec.secretHeaders.has(k) ? '***' : redact(v)])),
    ...(spec.body === undefined ? {} : { body: redact(spec.body) }),
    timeoutMs: spec.timeoutMs,
  };
}

export async function runHttp(spec: HttpSpec, redact: Redact): Promise<ActionResult> {
  const started = Date.now();
  const action = describeHttp(spec, redact);
  try {
    const res = await fetch(spec.url, {
      method: spec.method,
      headers: spec.headers,
      ...(spec.body === undefined ? {} : { body: spec.body }),
      signal: AbortSignal.timeout(spec.timeoutMs),
      redirect: 'manual',
    });
    const text = (await res.text()).slice(0, spec.maxOutputBytes);
    const ok = spec.expectStatus.length ? spec.expectStatus.includes(res.status) : res.status >= 200 && res.status < 300;
    return {
      ok,
      action,
      status: res.status,
      stdout: redact(text),
      ...(ok ? {} : { error: `unexpected status ${res.status}` }),
      durationMs: Date.now() - started,
      dryRun: false,
    };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { ok: false, action, error: redact(cause ?? (err as Error).message), durationMs: Date.now() - started, dryRun: false };
  }
}
