import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/servers.js';

const CONFIG = (extraRule = '') => `
auth:
  tokens:
    - { name: watcher, role: viewer, token: viewer-token }
    - { name: oncall, role: responder, token: responder-token }
    - { name: root, role: admin, token: "\${ADMIN_TOKEN}" }
store: { kind: embedded, path: vigil.db }
rules:
  - { name: DiskFull, kind: threshold, metric: disk_used_percent, op: '>', value: 90 }
${extraRule}`;

describe('HTTP API', () => {
  let daemon: TestDaemon;
  const logLines: string[] = [];

  beforeAll(async () => {
    const sink = { write: (line: string) => logLines.push(line) } as unknown as NodeJS.WritableStream;
    daemon = await startTestDaemon(CONFIG(), { listen: false, env: { ADMIN_TOKEN: 'admin-token' }, logger: createLogger('info', { destination: sink }) });
  });
  afterAll(() => daemon?.close());

  const call = (method: 'GET' | 'POST', url: string, token?: string, payload?: unknown) =>
    daemon.api.inject({ method, url, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}), ...(payload !== undefined ? { payload: payload as string } : {}) });

  it('serves health, readiness and metrics without a token', async () => {
    expect((await call('GET', '/healthz')).statusCode).toBe(200);
    const ready = await call('GET', '/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ checks: { transport: 'ok', store: 'ok' } });
    const metrics = await call('GET', '/metrics');
    expect(metrics.body).toContain('vigil_queue_depth{actor="alert-manager"}');
    expect(metrics.body).toContain('vigil_samples_ingested_total');
  });

  it.each([
    ['no token', undefined],
    ['a wrong token', 'nope'],
  ])('answers 401 with %s', async (_name, token) => {
    const res = await call('GET', '/api/v1/alerts', token);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toContain('Bearer');
  });

  it('lets a viewer read but not write', async () => {
    expect((await call('GET', '/api/v1/alerts', 'viewer-token')).statusCode).toBe(200);
    const write = await call('POST', '/api/v1/samples', 'viewer-token', { samples: [] });
    expect(write.statusCode).toBe(403);
    expect(write.json().message).toContain('needs responder');
    expect((await call('POST', '/-/reload', 'responder-token')).statusCode).toBe(403);
  });

  it('accepts pushed samples from a responder, listing the bad ones with reasons', async () => {
    const res = await call('POST', '/api/v1/samples', 'responder-token', {
      samples: [
        { name: 'disk_used_percent', labels: { host: 'db1' }, value: 95 },
        { name: 'disk_used_percent', labels: { host: 'db2' }, value: 'NaN' },
        { name: '9bad', labels: {}, value: 1 },
      ],
    });
    expect(res.statusCode).toBe(202);
    const body = res.json() as { accepted: number; rejected: { reason: string }[] };
    expect(body.accepted).toBe(1);
    expect(body.rejected).toHaveLength(2);
    const alert = await waitFor('the pushed sample to fire the rule', async () => (await daemon.store.alerts.find({ where: { rule: 'DiskFull' } }))[0]);
    expect(alert.labels).toMatchObject({ host: 'db1', alertname: 'DiskFull' });
    const list = await call('GET', '/api/v1/alerts?state=firing', 'viewer-token');
    expect(list.json().alerts[0]).not.toHaveProperty('snapshot');
    const one = await call('GET', `/api/v1/alerts/${alert.id}`, 'viewer-token');
    expect(one.json().history.map((h: { to: string }) => h.to)).toContain('firing');
  });

  it('rejects malformed bodies with a reason and counts them', async () => {
    const res = await daemon.api.inject({ method: 'POST', url: '/api/v1/samples', headers: { authorization: 'Bearer responder-token', 'content-type': 'application/json' }, payload: '{"samples": [' });
    expect(res.statusCode).toBe(400);
    const metrics = await call('GET', '/metrics');
    expect(metrics.body).toMatch(/vigil_api_rejected_requests_total\{reason="bad_request"\} [1-9]/);
    expect((await call('GET', '/api/v1/alerts?limit=0', 'viewer-token')).statusCode).toBe(400);
  });

  it('reloads a valid config and keeps the old one when the new one is invalid', async () => {
    writeFileSync(daemon.configFile, CONFIG("  - { name: CpuHot, kind: threshold, metric: cpu, op: '>', value: 1 }"));
    expect((await call('POST', '/-/reload', 'admin-token')).statusCode).toBe(200);
    expect(daemon.config().rules.map((r) => r.name)).toEqual(['DiskFull', 'CpuHot']);

    writeFileSync(daemon.configFile, CONFIG("  - { name: Broken, kind: threshold, metric: cpu, op: '>', value: 1, for: soon }"));
    const res = await call('POST', '/-/reload', 'admin-token');
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/vigil\.yaml:\d+: rules\[1\]\.for: must be a duration/);
    expect(daemon.config().rules.map((r) => r.name)).toEqual(['DiskFull', 'CpuHot']);
    expect((await call('GET', '/metrics')).body).toContain('vigil_config_last_reload_successful 0');
  });

  it('never writes tokens to the log', () => {
    const log = logLines.join('');
    expect(log.length).toBeGreaterThan(0);
    for (const secret of ['admin-token', 'responder-token', 'viewer-token']) expect(log).not.toContain(secret);
  });

  it('generates a bootstrap admin token when none are configured', async () => {
    const d = await startTestDaemon('store: { kind: embedded, path: bare.db }\ntransport: { journal_path: bare-queue.db }\n', { listen: false });
    try {
      const token = readFileSync(join(d.dir, 'data/admin.token'), 'utf8').trim();
      expect(token.length).toBeGreaterThanOrEqual(32);
      expect((await d.api.inject({ method: 'GET', url: '/api/v1/alerts' })).statusCode).toBe(401);
      expect((await d.api.inject({ method: 'GET', url: '/api/v1/alerts', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    } finally {
      await d.close();
    }
  });
});
