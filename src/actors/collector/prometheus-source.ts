import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { SourceConfig } from '../../config/schema.js';
import { readSecret } from '../../config/load.js';
import { checkSample, parseFloatToken, type Rejection } from '../../ingest/sample-check.js';
import { parseDuration } from '../../series/duration.js';
import type { Sample } from '../../series/series.js';
import { every, scrubSecrets, urlSecrets, type Source, type SourceDeps } from './source.js';

export type PrometheusSourceConfig = Extract<SourceConfig, { kind: 'prometheus' }>;
type QueryConfig = PrometheusSourceConfig['queries'][number];

/** Prometheus refuses range queries of more than 11,000 points per series. */
const MAX_RANGE_POINTS = 11_000;

// The parts of the HTTP API response (https://prometheus.io/docs/prometheus/latest/querying/api/) we read.
const PointSchema = Type.Tuple([Type.Number(), Type.String()]);
const LabelsSchema = Type.Record(Type.String(), Type.String());
const ResponseSchema = Type.Object({
  status: Type.Literal('success'),
  data: Type.Union([
    Type.Object({ resultType: Type.Literal('vector'), result: Type.Array(Type.Object({ metric: LabelsSchema, value: PointSchema })) }),
    Type.Object({ resultType: Type.Literal('matrix'), result: Type.Array(Type.Object({ metric: LabelsSchema, values: Type.Array(PointSchema) })) }),
    Type.Object({ resultType: Type.Literal('scalar'), result: PointSchema }),
  ]),
});
type QueryData = Static<typeof ResponseSchema>['data'];

/** Why a request produced no data; `reason` is a `vigil_source_errors_total` label. */
class QueryFailure extends Error {
  constructor(
    readonly reason: 'unreachable' | 'timeout' | 'http_error' | 'not_json' | 'query_error' | 'wrong_shape',
    message: string,
  ) {
    super(message);
  }
}

/** Turns a query result into samples: the name is `__name__` when the result keeps it, else the query's name. */
function samplesFromQueryData(data: QueryData, query: Pick<QueryConfig, 'name'>, now: number): { samples: Sample[]; rejected: Rejection[] } {
  const series: { metric: Record<string, string>; points: [number, string][] }[] =
    data.resultType === 'scalar' ? [{ metric: {}, points: [data.result] }]
    : data.resultType === 'vector' ? data.result.map((r) => ({ metric: r.metric, points: [r.value] }))
    : data.result.map((r) => ({ metric: r.metric, points: r.values }));
  const samples: Sample[] = [];
  const rejected: Rejection[] = [];
  let item = 0;
  for (const { metric, points } of series) {
    const { __name__: name = query.name, ...labels } = metric;
    for (const [seconds, text] of points) {
      const value = parseFloatToken(text);
      const checked = value === undefined
        ? { reason: 'invalid_value' as const, detail: `value ${JSON.stringify(text)} is not a number` }
        : checkSample(name, labels, seconds * 1000, value, now);
      if ('sample' in checked) samples.push(checked.sample);
      else rejected.push({ item, reason: checked.reason, detail: checked.detail });
      item++;
    }
  }
  return { samples, rejected };
}

/** PromQL queries against the Prometheus HTTP API, each on its own interval, with an optional backfill on start. */
export function createPrometheusSource(config: PrometheusSourceConfig, deps: SourceDeps): Source {
  const token = config.bearer_token === undefined ? undefined : readSecret(config.bearer_token, deps.baseDir);
  const secrets = [...urlSecrets(config.url), ...(token ? [token] : [])];
  const baseUrl = config.url.replace(/\/+$/, '');
  const timeoutMs = parseDuration(config.timeout);
  const intervalOf = (q: QueryConfig) => parseDuration(q.interval ?? config.interval);
  const stopTimers: (() => void)[] = [];
  // Aborted on stop, so an in-flight request cannot outlive the source.
  const lifetime = new AbortController();
  const inFlight = new Set<Promise<void>>();

  async function request(path: string, params: Record<string, string>): Promise<QueryData> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: new URLSearchParams(params),
        signal: AbortSignal.any([lifetime.signal, AbortSignal.timeout(timeoutMs)]),
      });
      text = await response.text();
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') throw new QueryFailure('timeout', `no answer within ${config.timeout}`);
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new QueryFailure('unreachable', cause?.code ?? cause?.message ?? (err as Error).message);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new QueryFailure(response.ok ? 'not_json' : 'http_error', `HTTP ${response.status}, ${response.headers.get('content-type') ?? 'no content type'}, body is not JSON`);
    }
    const errorBody = body as { status?: unknown; errorType?: unknown; error?: unknown };
    if (errorBody?.status === 'error') throw new QueryFailure('query_error', `HTTP ${response.status}: ${String(errorBody.errorType)}: ${String(errorBody.error)}`);
    if (!response.ok) throw new QueryFailure('http_error', `HTTP ${response.status}`);
    if (!Value.Check(ResponseSchema, body)) {
      const first = Value.Errors(ResponseSchema, body).First();
      throw new QueryFailure('wrong_shape', `unexpected response${first ? ` at ${first.path || '/'}: ${first.message}` : ''}`);
    }
    return body.data;
  }

  /** Runs one request and ingests its result; every failure is reported under the query's name. */
  function run(query: QueryConfig, path: string, params: Record<string, string>): Promise<void> {
    const task = (async () => {
      try {
        const data = await request(path, params);
        if (lifetime.signal.aborted) return;
        deps.report.ok(query.name);
        const { samples, rejected } = samplesFromQueryData(data, query, deps.clock.now());
        await deps.ingest(samples, rejected);
      } catch (err) {
        if (lifetime.signal.aborted) return;
        const failure = err instanceof QueryFailure ? err : new QueryFailure('unreachable', (err as Error).message);
        deps.report.fail(query.name, failure.reason, scrubSecrets(failure.message, secrets));
      }
    })();
    inFlight.add(task);
    return task.finally(() => inFlight.delete(task));
  }

  const instant = (q: QueryConfig) => run(q, '/api/v1/query', { query: q.query, time: String(deps.clock.now() / 1000) });

  function backfill(q: QueryConfig, backfill: string): Promise<void> {
    const end = deps.clock.now();
    const spanMs = parseDuration(backfill);
    // One point per query interval, like live collection, unless that exceeds Prometheus' point limit.
    const stepMs = Math.max(intervalOf(q), Math.ceil(spanMs / MAX_RANGE_POINTS));
    return run(q, '/api/v1/query_range', { query: q.query, start: String((end - spanMs) / 1000), end: String(end / 1000), step: String(stepMs / 1000) });
  }

  return {
    name: config.name,
    async start() {
      for (const q of config.queries) stopTimers.push(every(intervalOf(q), () => instant(q)));
      await Promise.all(config.queries.map((q) => (q.backfill ? backfill(q, q.backfill) : instant(q))));
    },
    async collectOnce() {
      await Promise.all(config.queries.map(instant));
    },
    async stop() {
      for (const stop of stopTimers.splice(0)) stop();
      lifetime.abort();
      await Promise.all([...inFlight]);
    },
  };
}
