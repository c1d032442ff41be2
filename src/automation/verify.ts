import type { VerifyConfig } from '../config/schema.js';
import { compare, render, renderUrl, type RunData } from './params.js';

export interface VerifyOutcome {
  ok: boolean;
  detail: string;
}

const CHECK_TIMEOUT_MS = 10_000;

/** The results of a PromQL instant query: each series' labels and value. */
export async function promQuery(baseUrl: string, query: string, timeoutMs = CHECK_TIMEOUT_MS): Promise<{ metric: Record<string, string>; value: number }[]> {
  const url = `${baseUrl.replace(/\/+$/, '')}/api/v1/query?${new URLSearchParams({ query })}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.json().catch(() => undefined)) as { status?: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } } | undefined;
  if (!res.ok || body?.status !== 'success' || !body.data) throw new Error(`prometheus query failed (${res.status}): ${body?.error ?? 'no result'}`);
  if (body.data.resultType !== 'vector') throw new Error(`prometheus query must return a vector, got ${body.data.resultType}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/**
 * One verification check. Prometheus: the query returns at least one series and every value satisfies
 * `op value`. HTTP: the URL answers with `expect_status`.
 */
export async function checkOnce(verify: VerifyConfig, data: RunData, prometheusUrl: string | undefined): Promise<VerifyOutcome> {
  try {
    if (verify.kind === 'http') {
      const url = renderUrl(verify.url as string, data);
      const res = await fetch(url, { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
      await res.arrayBuffer();
      return { ok: res.status === verify.expect_status, detail: `GET ${url}: ${res.status}` };
    }
    const query = render(verify.query as string, data);
    const results = await promQuery(renderUrl(verify.url ?? (prometheusUrl as string), data), query);
    if (results.length === 0) return { ok: false, detail: `${query}: no data` };
    const bad = results.filter((r) => !compare(r.value, verify.op, verify.value));
    return { ok: bad.length === 0, detail: `${query}: ${results.map((r) => r.value).join(', ')} (want ${verify.op} ${verify.value})` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { ok: false, detail: cause ?? (err as Error).message };
  }
}
