import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../src/actors/automation/automation.js';
import { createLogger } from '../../src/observability/logger.js';
import { FIXTURES } from '../helpers/automation-harness.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { freePort, startPrometheus, waitFor, type ManagedServer } from '../helpers/servers.js';

/**
 * The whole loop with real parts: a service process whose health metric Prometheus scrapes; the
 * collector queries Prometheus; a rule fires; the automation restarts the service (a command that kills
 * and restarts it); verification asks Prometheus until the metric is healthy; the alert resolves.
 */
describe('automation end to end: unhealthy service → alert → restart → verified → resolved', () => {
  let daemon: TestDaemon;
  let prometheus: ManagedServer;
  let serviceDir: string;
  let port: number;

  beforeAll(async () => {
    // The service's own dir, not the daemon's: its pid file is read to stop it after the daemon has closed.
    serviceDir = mkdtempSync(join(tmpdir(), 'vigil-automation-service-'));
    port = await freePort();
    spawn(process.execPath, [join(FIXTURES, 'service.mjs'), String(port), serviceDir], { detached: true, stdio: 'ignore' }).unref();
    await waitFor('the service', async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, 10_000);
    prometheus = await startPrometheus([`127.0.0.1:${port}`]);
    daemon = await startTestDaemon(
      `
store: { kind: embedded, path: vigil.db }
transport: { journal_path: queue.db }
auth: { bootstrap_token_file: admin.token }
collector:
  sources:
    - { kind: prometheus, name: prom, url: ${prometheus.url}, interval: 1s, queries: [{ name: service_healthy, query: service_healthy }] }
rules:
  - { name: ServiceUnhealthy, kind: threshold, metric: service_healthy, op: '<', value: 1, severity: warning }
automation:
  command_allowlist: [${JSON.stringify(process.execPath)}]
  prometheus_url: ${prometheus.url}
runbooks:
  - name: restart-service
    trigger: { kind: alert, matchers: ['alertname="ServiceUnhealthy"'] }
    steps:
      - { name: restart, kind: command, argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(join(FIXTURES, 'restart-service.mjs'))}, '${port}', ${JSON.stringify(serviceDir)}], timeout: 20s }
    verify: { kind: prometheus, query: 'service_healthy{instance="{{ $labels.instance }}"}', op: '==', value: 1, interval: 1s, timeout: 30s }
`,
      { listen: false, logger: createLogger('fatal', { destination: process.stderr }) },
    );
  }, 60_000);

  afterAll(async () => {
    await daemon?.close();
    await prometheus?.stop();
    const pidFile = join(serviceDir, 'service.pid');
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
      } catch {
        // gone
      }
    }
    rmSync(serviceDir, { recursive: true, force: true });
  });

  it('restarts the service, verifies it through Prometheus, and the alert resolves', async () => {
    await fetch(`http://127.0.0.1:${port}/break`, { method: 'POST' });
    const alert = await waitFor('the alert firing', async () => (await daemon.store.alerts.find({ where: { rule: 'ServiceUnhealthy' } })).find((a) => a.state === 'firing'), 20_000, 50);
    expect(alert.labels.instance).toBe(`127.0.0.1:${port}`);
    const run = (await waitFor('the run succeeded', async () => (await daemon.store.runbookExecutions.find()).find((r) => r.state === 'succeeded' || r.state === 'rolled_back' || r.state === 'failed'), 30_000, 50)) as ExecutionRecord;
    expect(run.state).toBe('succeeded');
    expect(run.target).toBe(`127.0.0.1:${port}`);
    const verify = (await daemon.store.runbookAudit.find({ where: { executionId: run.id, kind: 'verify' } })).find((a) => a.ok);
    expect(verify?.detail).toContain(`service_healthy{instance="127.0.0.1:${port}"}: 1`);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    await waitFor('the alert resolved', async () => (await daemon.store.alerts.get(alert.id))?.state === 'resolved', 20_000, 50);
  }, 60_000);
});
