import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollector } from '../../src/actors/collector/index.js';
import { startPrometheus, waitFor, type ManagedServer } from '../helpers/servers.js';
import { collectorHarness } from '../unit/collector-context.js';

/** A real Prometheus scraping a tiny /metrics target served by this test. */
let target: Server;
let targetAddress: string;
let prometheus: ManagedServer;

const METRICS = [
  '# HELP vigil_test_queue_depth Jobs waiting.',
  '# TYPE vigil_test_queue_depth gauge',
  'vigil_test_queue_depth{queue="orders"} 12',
  'vigil_test_queue_depth{queue="billing",note="a \\"quoted\\" value"} 3.5',
  '',
].join('\n');

beforeAll(async () => {
  target = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(METRICS));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const address = target.address();
  targetAddress = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  prometheus = await startPrometheus([targetAddress], '1s');
  // Wait for three scrapes, so a range query has several points per series.
  await waitFor('three scrapes', async () => {
    const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent('count_over_time(vigil_test_queue_depth[1m])')}`);
    const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
    return body.data.result.length === 2 && body.data.result.every((r) => Number(r.value[1]) >= 3) ? true : undefined;
  }, 30_000, 250);
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await new Promise((r) => target?.close(r));
});

function config(queries: string[]): string {
  return [
    'collector:',
    '  sources:',
    '    - kind: prometheus',
    '      name: prom',
    `      url: ${prometheus.url}`,
    '      interval: 1h',
    '      queries:',
    ...queries.map((q) => `        - ${q}`),
  ].join('\n');
}

describe('prometheus source against a real Prometheus', () => {
  it('brings instant query results in as samples with their labels and values', async () => {
    const h = collectorHarness(config([
      "{ name: depth, query: 'vigil_test_queue_depth' }",
      "{ name: depth_total, query: 'sum(vigil_test_queue_depth)' }",
    ]), Date.now());
    const collector = createCollector(h.ctx);
    await collector.start?.();
    await collector.ready();
    await collector.stop?.();

    const samples = h.samples();
    const byQueue = Object.fromEntries(samples.filter((s) => s.name === 'vigil_test_queue_depth').map((s) => [s.labels.queue, s]));
    expect(byQueue.orders?.labels).toEqual({ queue: 'orders', instance: targetAddress, job: 'test' });
    expect(byQueue.orders?.v).toBe(12);
    expect(byQueue.billing?.labels).toEqual({ queue: 'billing', note: 'a "quoted" value', instance: targetAddress, job: 'test' });
    expect(byQueue.billing?.v).toBe(3.5);
    expect(samples.find((s) => s.name === 'depth_total')).toMatchObject({ labels: {}, v: 15.5 });
    for (const s of samples) expect(Math.abs(s.t - h.clock.now())).toBeLessThan(1000);
  });

  it('backfills history with query_range on start', async () => {
    const h = collectorHarness(config(["{ name: depth, query: 'vigil_test_queue_depth{queue=\"orders\"}', interval: 1s, backfill: 1m }"]), Date.now());
    const collector = createCollector(h.ctx);
    await collector.start?.();
    await collector.ready();
    await collector.stop?.();

    const points = h.samples();
    expect(points.length).toBeGreaterThanOrEqual(3);
    for (const p of points) expect(p).toMatchObject({ name: 'vigil_test_queue_depth', labels: { queue: 'orders', job: 'test' }, v: 12 });
    const times = points.map((p) => p.t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // One point per 1s step, evaluated on the step grid ending now.
    expect(new Set(times.slice(1).map((t, i) => t - (times[i] as number)))).toEqual(new Set([1000]));
  });
});
