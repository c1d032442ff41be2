import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCollector, type Collector } from '../../src/actors/collector/index.js';
import { waitFor } from '../helpers/servers.js';
import { collectorHarness, counter } from '../unit/collector-context.js';

const URL = process.env.VIGIL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const suffix = randomUUID().slice(0, 8);
const table = `vigil_collector_${suffix}`;
const channel = `vigil_events_${suffix}`;
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: URL });
  await admin.connect();
  await admin.query(`CREATE TABLE ${table} (queue text, region text, depth numeric, at timestamptz)`);
  await admin.query(
    `INSERT INTO ${table} VALUES ('orders', 'eu', 12, '2026-11-23T09:59:00Z'), ('billing', NULL, 3.5, '2026-11-23T09:59:30Z'), ('broken', 'eu', NULL, '2026-11-23T09:59:40Z')`,
  );
});
afterAll(async () => {
  await admin.query(`DROP TABLE IF EXISTS ${table}`);
  await admin.end();
});

let collector: Collector | undefined;
afterEach(async () => {
  await collector?.stop?.();
  collector = undefined;
});

const now = Date.UTC(2026, 10, 23, 10);

function sqlConfig(lines: string[]): string {
  return ['collector:', '  sources:', '    - kind: sql', '      name: jobs', `      url: ${URL}`, '      interval: 1h', ...lines.map((l) => `      ${l}`)].join('\n');
}

async function listening(): Promise<void> {
  await waitFor('LISTEN connection', async () => {
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1`, [`LISTEN "${channel}"`]);
    return (rows[0] as { n: number }).n > 0;
  }, 10_000);
}

describe('sql source (PostgreSQL)', () => {
  it('turns each row into a sample: value, time and label columns, NULL labels left out, bad rows counted', async () => {
    const h = collectorHarness(sqlConfig([
      `query: SELECT queue, region, depth, at FROM ${table} ORDER BY queue`,
      'metric: queue_depth', 'value_column: depth', 'time_column: at', 'label_columns: [queue, region]',
    ]), now);
    collector = createCollector(h.ctx);
    await collector.start?.();
    await collector.ready();
    expect(h.samples()).toEqual([
      { series: 'queue_depth{queue="orders",region="eu"}', name: 'queue_depth', labels: { queue: 'orders', region: 'eu' }, t: Date.UTC(2026, 10, 23, 9, 59), v: 12 },
      { series: 'queue_depth{queue="billing"}', name: 'queue_depth', labels: { queue: 'billing' }, t: Date.UTC(2026, 10, 23, 9, 59, 30), v: 3.5 },
    ]);
    expect(await counter(h.metrics.samplesRejected, { source: 'jobs', reason: 'invalid_value' })).toBe(1);

    await admin.query(`UPDATE ${table} SET depth = depth + 1, at = at + interval '10 seconds'`);
    await collector.collectOnce();
    // Published in time order.
    expect(h.samples().slice(2).map((s) => s.v)).toEqual([13, 4.5]);
  });

  it('counts a failing query and logs it without the password in the URL', async () => {
    const password = 'hunter2-not-logged';
    const urlWithPassword = URL.replace('postgres@', `postgres:${password}@`);
    const h = collectorHarness(sqlConfig(['query: SELECT * FROM no_such_table_here']).replace(`url: ${URL}`, `url: ${urlWithPassword}`), now);
    collector = createCollector(h.ctx);
    await collector.start?.();
    await collector.ready();
    expect(await counter(h.metrics.sourceErrors, { source: 'jobs', reason: 'query_failed' })).toBe(1);
    expect(h.logs.find((l) => l.msg === 'source failing')?.detail).toMatch(/no_such_table_here/);
    expect(JSON.stringify(h.logs)).not.toContain(password);
  });

  it('counts an unreachable database without leaking the password', async () => {
    const password = 'pa55-unreachable';
    const h = collectorHarness(sqlConfig(['query: SELECT 1 AS value']).replace(`url: ${URL}`, `url: postgres://postgres:${password}@127.0.0.1:1/test`), now);
    collector = createCollector(h.ctx);
    await collector.start?.();
    await collector.ready();
    expect(await counter(h.metrics.sourceErrors, { source: 'jobs', reason: 'query_failed' })).toBe(1);
    expect(JSON.stringify(h.logs)).not.toContain(password);
  });

  it('turns NOTIFY payloads into samples, rejects bad ones, and reconnects after the LISTEN connection is killed', async () => {
    const h = collectorHarness(sqlConfig([`listen: ${channel}`, 'metric: deploys']), now);
    collector = createCollector(h.ctx, { sql: { reconnectInitialMs: 50, reconnectMaxMs: 200 } });
    await collector.start?.();
    await collector.ready();
    await listening();

    const notify = (payload: string) => admin.query('SELECT pg_notify($1, $2)', [channel, payload]);
    await notify(JSON.stringify({ labels: { service: 'api' }, value: 1, timestamp: now - 5000 }));
    await notify(JSON.stringify({ name: 'rollbacks', value: 2, timestamp: '2026-11-23T09:59:58Z' }));
    await notify('not json');
    await notify(JSON.stringify({ value: 'NaN' }));
    await waitFor('two samples', async () => h.samples().length === 2 || undefined, 5_000);
    expect(h.samples()).toEqual([
      { series: 'deploys{service="api"}', name: 'deploys', labels: { service: 'api' }, t: now - 5000, v: 1 },
      { series: 'rollbacks', name: 'rollbacks', labels: {}, t: Date.UTC(2026, 10, 23, 9, 59, 58), v: 2 },
    ]);
    await waitFor('rejections counted', async () => (await counter(h.metrics.samplesRejected, { source: 'jobs', reason: 'non_finite' })) === 1 || undefined, 5_000);
    expect(await counter(h.metrics.samplesRejected, { source: 'jobs', reason: 'malformed' })).toBe(1);

    const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1`, [`LISTEN "${channel}"`]);
    expect(killed.rowCount).toBe(1);
    await waitFor('connection loss counted', async () => (await counter(h.metrics.sourceErrors, { source: 'jobs', reason: 'connection_lost' })) >= 1 || undefined, 5_000);
    await listening();
    await waitFor('recovery logged', async () => h.logs.some((l) => l.msg === 'source recovered' && l.scope === 'listen') || undefined, 5_000);

    await notify(JSON.stringify({ value: 3, timestamp: now }));
    await waitFor('sample after reconnect', async () => h.samples().length === 3 || undefined, 5_000);
    expect(h.samples()[2]).toMatchObject({ name: 'deploys', t: now, v: 3 });
  });
});
