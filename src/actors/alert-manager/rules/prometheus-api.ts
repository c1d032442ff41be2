/** Instant queries against the Prometheus HTTP API, for rule files evaluated by the alert manager. */

export interface QueryResultSample {
  labels: Record<string, string>;
  value: number;
}

export interface PrometheusQueryClient {
  /** Evaluates `expr` at `t` (epoch ms): a vector, or a scalar as one sample without labels. */
  query(expr: string, t: number): Promise<QueryResultSample[]>;
}

function number(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

export function prometheusQueryClient(url: string, options: { timeoutMs: number; bearerToken?: string }): PrometheusQueryClient {
  const base = url.replace(/\/+$/, '');
  return {
    async query(expr, t) {
      const body = new URLSearchParams({ query: expr, time: String(t / 1000) });
      const response = await fetch(`${base}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(options.bearerToken ? { authorization: `Bearer ${options.bearerToken}` } : {}) },
        body,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const json = (await response.json().catch(() => undefined)) as
        | { status: string; error?: string; data?: { resultType: string; result: unknown } }
        | undefined;
      if (!json) throw new Error(`Prometheus answered ${response.status} with a body that is not JSON`);
      if (json.status !== 'success' || !json.data) throw new Error(`Prometheus: ${json.error ?? `status ${response.status}`}`);
      const { resultType, result } = json.data;
      if (resultType === 'scalar') return [{ labels: {}, value: number((result as [number, string])[1]) }];
      if (resultType === 'vector') return (result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({ labels: r.metric, value: number(r.value[1]) }));
      throw new Error(`rule result is ${resultType}, not a vector or scalar`);
    },
  };
}
