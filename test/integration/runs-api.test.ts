import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, type AlertPayload } from '../../src/bus/messages.js';
import { createLogger } from '../../src/observability/logger.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startMetricsTarget } from '../helpers/metrics-target.js';
import { startPrometheus, waitFor, type ManagedServer } from '../helpers/servers.js';
import { FIXTURES } from '../helpers/automation-harness.js';
import { vigil } from '../helpers/cli.js';

const alert = (instance: string): AlertPayload => ({
  fingerprint: `fp-${instance}`,
  status: 'firing',
  labels: { alertname: 'Broken', instance },
  annotations: {},
  startsAt: new Date().toISOString(),
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: '',
});

describe('runs API and CLI (daemon with the automation actor)', () => {
  let daemon: TestDaemon;
  let prometheus: ManagedServer;
  let target: Awaited<ReturnType<typeof startMetricsTarget>>;

  beforeAll(async () => {
    target = await startMetricsTarget({ 'cpu_percent{box="small"}': 8, 'cpu_percent{box="busy"}': 85, 'mem_percent{box="small"}': 21, 'mem_percent{box="busy"}': 25 });
    prometheus = await startPrometheus([target.address]);
    daemon = await startTestDaemon(
      (dir) => `
auth:
  tokens:
    - { name: watcher, role: viewer, token: viewer-token }
    - { name: oncall, role: responder, token: responder-token }
    - { name: ops, role: admin, token: admin-token }
store: { kind: embedded, path: vigil.db }
transport: { journal_path: queue.db }
automation:
  command_allowlist: [${JSON.stringify(process.execPath)}]
  prometheus_url: ${prometheus.url}
  recommendations: { cpu_query: cpu_percent, memory_query: mem_percent, by: box, window: 1m, step: 1s }
runbooks:
  - name: fix
    trigger: { kind: alert, matchers: ['alertname="Broken"'] }
    approval: { required: true }
    steps:
      - { name: act, kind: command, argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(join(FIXTURES, 'write-argv.mjs'))}, '${dir}/ran-{{ $labels.instance }}'] }
`,
      { port: 0, logger: createLogger('fatal', { destination: process.stderr }) },
    );
  }, 60_000);
  afterAll(async () => {
    await daemon?.close();
    await prometheus?.stop();
    await target?.close();
  });

  const call = (method: 'GET' | 'POST', url: string, token: string, payload?: object) =>
    daemon.api.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
  const runOf = (instance: string) => waitFor(`run for ${instance}`, async () => (await daemon.store.runbookExecutions.find()).find((r) => (r as { target?: string }).target === instance), 10_000, 10);
  const settled = (id: string, state: string) => waitFor(`run ${id} ${state}`, async () => (await daemon.store.runbookExecutions.get(id))?.state === state, 10_000, 10);
  const api = () => ['--url', daemon.url as string];

  it('a responder approves through the CLI; the run acts and its audit names who approved', async () => {
    await daemon.transport.send('automation', [envelope('alert.notify', 'notify-web-1', { alert: alert('web-1'), rule: 'Broken' }, 'fp-web-1')]);
    const run = await runOf('web-1');
    await settled(run.id, 'awaiting_approval');

    const list = await vigil('runs', 'list', ...api(), '--token', 'viewer-token', '--state', 'awaiting_approval');
    expect(list.out).toMatch(new RegExp(`${run.id}\\s+\\S+\\s+fix\\s+web-1\\s+awaiting_approval`));

    expect((await call('POST', `/api/v1/runs/${run.id}/approve`, 'viewer-token')).statusCode).toBe(403);
    const approved = await vigil('runs', 'approve', run.id, ...api(), '--token', 'responder-token', '-m', 'looks safe');
    expect(approved.code).toBe(0);
    await settled(run.id, 'succeeded');
    expect(existsSync(join(daemon.dir, 'ran-web-1'))).toBe(true);

    const shown = await vigil('runs', 'show', run.id, ...api(), '--token', 'viewer-token');
    expect(shown.out).toContain(`run ${run.id}: succeeded`);
    expect(shown.out).toContain('awaiting_approval → approved  by oncall: looks safe');
    expect(shown.out).toMatch(/steps act: ok status 0 in \d+ms/);

    const again = await vigil('runs', 'approve', run.id, ...api(), '--token', 'responder-token');
    expect(again).toMatchObject({ code: 1, err: expect.stringContaining('is succeeded, not awaiting approval (409)') });
  });

  it('a responder denies; unknown runs are 404', async () => {
    await daemon.transport.send('automation', [envelope('alert.notify', 'notify-web-2', { alert: alert('web-2'), rule: 'Broken' }, 'fp-web-2')]);
    const run = await runOf('web-2');
    await settled(run.id, 'awaiting_approval');
    expect((await call('POST', `/api/v1/runs/${run.id}/deny`, 'responder-token', { comment: 'not during the release' })).statusCode).toBe(202);
    await settled(run.id, 'denied');
    const shown = (await call('GET', `/api/v1/runs/${run.id}`, 'viewer-token')).json();
    expect(shown.run).not.toHaveProperty('snapshot');
    expect(shown.audit.at(-1)).toMatchObject({ kind: 'transition', to: 'denied', by: 'oncall', reason: 'not during the release' });
    expect((await call('GET', '/api/v1/runs/nope', 'viewer-token')).statusCode).toBe(404);
  });

  it('only an admin toggles the kill switch; while engaged no run starts', async () => {
    expect((await call('POST', '/api/v1/automation/kill-switch', 'responder-token', { engaged: true })).statusCode).toBe(403);
    expect((await vigil('runs', 'kill-switch', 'on', ...api(), '--token', 'admin-token')).out).toBe('kill switch ENGAGED: no runbook starts (by ops)\n');
    await daemon.transport.send('automation', [envelope('alert.notify', 'notify-web-3', { alert: alert('web-3'), rule: 'Broken' }, 'fp-web-3')]);
    const run = await runOf('web-3');
    await settled(run.id, 'blocked');
    expect((await vigil('runs', 'kill-switch', 'off', ...api(), '--token', 'admin-token')).out).toBe('kill switch released (by ops)\n');
    expect((await vigil('runs', 'kill-switch', ...api(), '--token', 'viewer-token')).out).toBe('kill switch released (by ops)\n');
  });

  it('reports downsizing candidates from Prometheus: under 20% CPU and 30% memory', async () => {
    await waitFor('a scrape', async () => (await call('GET', '/api/v1/recommendations', 'viewer-token')).json().recommendations?.length > 0, 20_000, 200);
    const { recommendations } = (await call('GET', '/api/v1/recommendations', 'viewer-token')).json();
    expect(recommendations).toEqual([expect.objectContaining({ resource: 'small', maxCpuPercent: 8, maxMemoryPercent: 21, window: '1m' })]);
    const cli = await vigil('runs', 'recommendations', ...api(), '--token', 'viewer-token');
    expect(cli.out).toMatch(/small\s+8\.0\s+21\.0\s+1m\s+peaked at 8\.0% CPU/);
  });
});
