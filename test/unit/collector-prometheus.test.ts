import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCollector, type Collector } from '../../src/actors/collector/index.js';
import { freePort } from '../helpers/servers.js';
import { collectorHarness, counter } from './collector-context.js';

/** A fake Prometheus HTTP API on loopback whose next answers each test scripts. */
interface Answer {
  status?: number;
  type?: string;
  body: string;
  /** Never answer (for timeouts). */
  hang?: boolean;
}
let server: Server;
let baseUrl: string;
let answer: (path: string, params: URLSearchParams) => Answer;
const requests: { path: string; params: URLSearchParams; authorization?: string }[] = [];

async function readBody(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const params = new URLSearchParams(await readBody(req));
    const path = (req.url ?? '').split('?')[0] as string;
    requests.push({ path, params, authorization: req.headers.authorization });
    const a = answer(path, params);
    if (a.hang) return;
    res.writeHead(a.status ?? 200, { 'content-type': a.type ?? 'application/json' }).end(a.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const now = Date.UTC(2026, 10, 23, 10);
const TOKEN = 's3cr3t-token-value';
const tokenFile = join(mkdtempSync(join(tmpdir(), 'vigil-prom-token-')), 'token');
writeFileSync(tokenFile, `${TOKEN}\n`);

const success = (data: unknown): Answer => ({ body: JSON.stringify({ status: 'success', data }) });
const vector = (...result: { metric: Record<string, string>; value: [number, string] }[]) => success({ resultType: 'vector', result });

function config(url: string, extra = '') {
  return [
    'collector:',
    '  sources:',
    '    - kind: prometheus',
    '      name: prom',
    `      url: ${url}`,
    '      interval: 1h',
    '      timeout: 300ms',
    `      bearer_token: { file: ${tokenFile} }`,
    '      queries:',
    "        - { name: cpu_rate, query: 'rate(cpu_seconds_total[1m])'" + extra + ' }',
  ].join('\n');
}

let collector: Collector | undefined;
afterEach(async () => {
  await collector?.stop?.();
  collector = undefined;
  requests.length = 0;
});

async function startCollector(url = baseUrl, extra = '') {
  const h = collectorHarness(config(url, extra), now);
  collector = createCollector(h.ctx);
  await collector.start?.();
  await collector.ready();
  return h;
}

describe('prometheus source', () => {
  it('turns an instant vector into samples, named by __name__ or else by the query, with the bearer token', async () => {
    answer = () => vector(
      { metric: { __name__: 'up', job: 'node', instance: 'a:9100' }, value: [now / 1000 - 1, '1'] },
      { metric: { job: 'node' }, value: [now / 1000, '0.25'] },
    );
    const h = await startCollector();
    expect(requests[0]).toMatchObject({ path: '/api/v1/query', authorization: `Bearer ${TOKEN}` });
    expect(requests[0]?.params.get('query')).toBe('rate(cpu_seconds_total[1m])');
    expect(Number(requests[0]?.params.get('time'))).toBe(now / 1000);
    expect(h.samples()).toEqual([
      { series: 'up{instance="a:9100",job="node"}', name: 'up', labels: { instance: 'a:9100', job: 'node' }, t: now - 1000, v: 1 },
      { series: 'cpu_rate{job="node"}', name: 'cpu_rate', labels: { job: 'node' }, t: now, v: 0.25 },
    ]);
    expect(h.published[0]?.key).toBe('prom');
  });

  it('reads a scalar result', async () => {
    answer = () => success({ resultType: 'scalar', result: [now / 1000, '42'] });
    const h = await startCollector();
    expect(h.samples()).toEqual([{ series: 'cpu_rate', name: 'cpu_rate', labels: {}, t: now, v: 42 }]);
  });

  it('backfills with query_range on start, one point per interval, then runs instant queries', async () => {
    answer = (path) => path === '/api/v1/query_range'
      ? success({ resultType: 'matrix', result: [{ metric: { __name__: 'load', host: 'a' }, values: [[now / 1000 - 120, '1'], [now / 1000 - 60, '2'], [now / 1000, '3']] }] })
      : vector({ metric: { __name__: 'load', host: 'a' }, value: [now / 1000 + 60, '4'] });
    const h = await startCollector(baseUrl, ", interval: 1m, backfill: 2h");
    expect(requests.map((r) => r.path)).toEqual(['/api/v1/query_range']);
    const params = requests[0]?.params;
    expect([params?.get('start'), params?.get('end'), params?.get('step')].map(Number)).toEqual([now / 1000 - 7200, now / 1000, 60]);
    expect(h.samples().map((s) => [s.series, s.t, s.v])).toEqual([
      ['load{host="a"}', now - 120_000, 1], ['load{host="a"}', now - 60_000, 2], ['load{host="a"}', now, 3],
    ]);
    h.clock.set(now + 60_000);
    await collector?.collectOnce();
    expect(h.samples().at(-1)).toMatchObject({ t: now + 60_000, v: 4 });
  });

  it('widens the backfill step so a long backfill stays under Prometheus’ 11,000 points', async () => {
    answer = () => success({ resultType: 'matrix', result: [] });
    await startCollector(baseUrl, ', interval: 15s, backfill: 30d');
    expect(Number(requests[0]?.params.get('step'))).toBe(Math.ceil((30 * 86_400_000) / 11_000) / 1000);
  });

  it.each<[string, Answer, string]>([
    ['an HTTP 500', { status: 500, type: 'text/plain', body: 'internal error' }, 'http_error'],
    ['an HTML page', { type: 'text/html', body: '<html><body>Login</body></html>' }, 'not_json'],
    ['status: error', { status: 400, body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error at char 5' }) }, 'query_error'],
    ['a wrong shape', success({ resultType: 'vector', result: [{ metric: {}, value: 'oops' }] }), 'wrong_shape'],
    ['an unsupported result type', success({ resultType: 'string', result: [0, 'x'] }), 'wrong_shape'],
    ['JSON that is not an object', { body: 'null' }, 'wrong_shape'],
    ['no answer in time', { body: '', hang: true }, 'timeout'],
  ])('counts %s, logs it once, keeps collecting and recovers', async (_, bad, reason) => {
    answer = () => bad;
    const h = await startCollector();
    await collector?.collectOnce();
    expect(await counter(h.metrics.sourceErrors, { source: 'prom', reason })).toBe(2);
    const failing = h.logs.filter((l) => l.msg === 'source failing');
    expect(failing).toEqual([expect.objectContaining({ source: 'prom', scope: 'cpu_rate', reason })]);

    answer = () => vector({ metric: { __name__: 'up' }, value: [now / 1000, '1'] });
    await collector?.collectOnce();
    expect(h.samples()).toHaveLength(1);
    expect(h.logs.filter((l) => l.msg === 'source recovered')).toHaveLength(1);
    expect(JSON.stringify(h.logs)).not.toContain(TOKEN);
  });

  it('counts an unreachable Prometheus', async () => {
    const h = await startCollector(`http://127.0.0.1:${await freePort()}`);
    expect(await counter(h.metrics.sourceErrors, { source: 'prom', reason: 'unreachable' })).toBe(1);
    expect(h.logs.find((l) => l.msg === 'source failing')?.detail).toBe('ECONNREFUSED');
  });

  it('never logs credentials written into the URL', async () => {
    const h = await startCollector(baseUrl.replace('http://', 'http://vigil:url-pa55word@'));
    expect(await counter(h.metrics.sourceErrors, { source: 'prom', reason: 'unreachable' })).toBe(1);
    expect(h.logs.find((l) => l.msg === 'source failing')?.detail).toContain('[redacted]');
    expect(JSON.stringify(h.logs)).not.toContain('url-pa55word');
  });

  it('rejects NaN and Inf values as non_finite and keeps the rest', async () => {
    answer = () => vector(
      { metric: { __name__: 'a' }, value: [now / 1000, 'NaN'] },
      { metric: { __name__: 'b' }, value: [now / 1000, '+Inf'] },
      { metric: { __name__: 'c' }, value: [now / 1000, '7'] },
    );
    const h = await startCollector();
    expect(h.samples().map((s) => s.name)).toEqual(['c']);
    expect(await counter(h.metrics.samplesRejected, { source: 'prom', reason: 'non_finite' })).toBe(2);
    expect(await counter(h.metrics.sourceErrors, { source: 'prom', reason: 'wrong_shape' })).toBe(0);
  });
});
