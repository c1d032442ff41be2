import pg from 'pg';
import type { SourceConfig } from '../../config/schema.js';
import { readSecret } from '../../config/load.js';
import { sampleFromJson } from '../../ingest/json.js';
import { checkSample, DEFAULT_LIMITS, parseFloatToken, type Checked, type Rejection } from '../../ingest/sample-check.js';
import { parseDuration } from '../../series/duration.js';
import type { Sample } from '../../series/series.js';
import { every, scrubSecrets, urlSecrets, type Source, type SourceDeps } from './source.js';

export type SqlSourceConfig = Extract<SourceConfig, { kind: 'sql' }>;

export interface SqlSourceOptions {
  /** Delay before the first reconnect of the LISTEN connection, doubled per failed attempt up to `reconnectMaxMs`. */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  connectTimeoutMs?: number;
}

type Row = Record<string, unknown>;

function timeOf(raw: unknown): number | undefined {
  if (raw instanceof Date) return raw.getTime();
  if (typeof raw === 'number') return raw;
  // bigint columns arrive as strings; timestamps as text are accepted in ISO form.
  if (typeof raw === 'string') return /^-?\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  return undefined;
}

/**
 * One row to a sample. Values may be numbers or numeric text (pg returns numeric and bigint as text);
 * times may be timestamp columns, ISO text or epoch ms; NULL labels are left out, like empty labels in Prometheus.
 */
function sampleFromRow(row: Row, config: Pick<SqlSourceConfig, 'name' | 'metric' | 'value_column' | 'time_column' | 'label_columns'>, now: number): Checked {
  const rawValue = row[config.value_column];
  const value = typeof rawValue === 'number' ? rawValue : typeof rawValue === 'string' ? parseFloatToken(rawValue.trim()) : undefined;
  if (value === undefined) return { reason: 'invalid_value', detail: `column ${config.value_column} is ${rawValue === null ? 'NULL' : `not a number (${typeof rawValue})`}` };
  let t = now;
  if (config.time_column) {
    const parsed = timeOf(row[config.time_column]);
    if (parsed === undefined || Number.isNaN(parsed)) return { reason: 'invalid_timestamp', detail: `column ${config.time_column} is not a time` };
    t = parsed;
  }
  const labels: Record<string, string> = {};
  for (const column of config.label_columns) {
    const raw = row[column];
    if (raw === null || raw === undefined) continue;
    labels[column] = raw instanceof Date ? raw.toISOString() : String(raw);
  }
  return checkSample(config.metric ?? config.name, labels, t, value, now);
}

/** A PostgreSQL query on an interval and/or LISTEN on a channel, each NOTIFY payload (JSON) one sample. */
export function createSqlSource(config: SqlSourceConfig, deps: SourceDeps, options: SqlSourceOptions = {}): Source {
  const url = readSecret(config.url, deps.baseDir);
  const secrets = urlSecrets(url);
  const scrub = (err: unknown) => scrubSecrets(err instanceof Error ? err.message : String(err), secrets);
  const intervalMs = parseDuration(config.interval);
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const reconnectInitialMs = options.reconnectInitialMs ?? 500;
  const reconnectMaxMs = options.reconnectMaxMs ?? 30_000;
  const defaultName = config.metric ?? config.name;

  let stopped = false;
  let stopTimer: (() => void) | undefined;
  let pool: pg.Pool | undefined;
  let listener: pg.Client | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let reconnectAttempt = 0;
  let pending: { samples: Sample[]; rejected: Rejection[] } | undefined;
  const inFlight = new Set<Promise<void>>();

  const track = (task: Promise<void>) => {
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
    return task;
  };

  function queryPool(): pg.Pool {
    if (!pool) {
      // A query may not outlast its interval; the pool reconnects by itself on the next query.
      pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: connectTimeoutMs, idleTimeoutMillis: intervalMs * 2, statement_timeout: intervalMs });
      pool.on('error', (err) => deps.report.fail('query', 'connection_lost', scrub(err)));
    }
    return pool;
  }

  async function runQuery(query: string): Promise<void> {
    let rows: Row[];
    try {
      rows = (await queryPool().query<Row>(query)).rows;
    } catch (err) {
      if (!stopped) deps.report.fail('query', 'query_failed', scrub(err));
      return;
    }
    if (stopped) return;
    deps.report.ok('query');
    const now = deps.clock.now();
    const samples: Sample[] = [];
    const rejected: Rejection[] = [];
    rows.forEach((row, item) => {
      const checked = sampleFromRow(row, config, now);
      if ('sample' in checked) samples.push(checked.sample);
      else rejected.push({ item, ...checked });
    });
    await deps.ingest(samples, rejected);
  }

  /** A burst of notifications becomes one batch: they are gathered until the event loop is idle. */
  function onNotification(payload: string | undefined): void {
    if (!pending) {
      pending = { samples: [], rejected: [] };
      setImmediate(() => {
        const batch = pending as NonNullable<typeof pending>;
        pending = undefined;
        if (!stopped) void track(deps.ingest(batch.samples, batch.rejected));
      });
    }
    const item = pending.samples.length + pending.rejected.length;
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload ?? '');
    } catch {
      pending.rejected.push({ item, reason: 'malformed', detail: `NOTIFY payload on ${config.listen} is not JSON` });
      return;
    }
    const checked = sampleFromJson(parsed, deps.clock.now(), DEFAULT_LIMITS, defaultName);
    if ('sample' in checked) pending.samples.push(checked.sample);
    else pending.rejected.push({ item, ...checked });
  }

  function scheduleReconnect(channel: string): void {
    if (stopped || reconnectTimer) return;
    const delay = Math.min(reconnectMaxMs, reconnectInitialMs * 2 ** reconnectAttempt);
    reconnectAttempt++;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void track(listen(channel));
    }, delay);
  }

  /** A dedicated connection for LISTEN; when it drops (error or end), it is replaced after a backoff. */
  async function listen(channel: string): Promise<void> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (listener === client) listener = undefined;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (stopped) return;
      deps.report.fail('listen', 'connection_lost', err ? scrub(err) : 'connection closed');
      scheduleReconnect(channel);
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (msg) => {
      if (msg.channel === channel) onNotification(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (err) {
      if (lost) return;
      lost = true;
      void client.end().catch(() => undefined);
      if (stopped) return;
      deps.report.fail('listen', 'connect_failed', scrub(err));
      scheduleReconnect(channel);
      return;
    }
    if (stopped) {
      lost = true;
      await client.end().catch(() => undefined);
      return;
    }
    listener = client;
    reconnectAttempt = 0;
    deps.report.ok('listen');
  }

  return {
    name: config.name,
    async start() {
      const query = config.query;
      if (query) stopTimer = every(intervalMs, () => track(runQuery(query)));
      await Promise.all([query ? track(runQuery(query)) : undefined, config.listen ? track(listen(config.listen)) : undefined]);
    },
    async collectOnce() {
      if (config.query) await track(runQuery(config.query));
    },
    async stop() {
      stopped = true;
      stopTimer?.();
      clearTimeout(reconnectTimer);
      await Promise.all([...inFlight]);
      await Promise.all([listener?.end().catch(() => undefined), pool?.end().catch(() => undefined)]);
      listener = undefined;
      pool = undefined;
    },
  };
}
