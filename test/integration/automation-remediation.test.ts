import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { automationHarness, FIXTURES, type AutomationHarness } from '../helpers/automation-harness.js';
import { freePort, waitFor } from '../helpers/servers.js';

const NODE = process.execPath;

/** A runbook that restarts the test's service and verifies its /health; rollback writes a marker file. */
const config = (port: number) => (dir: string) => `
automation:
  command_allowlist: [${JSON.stringify(NODE)}]
runbooks:
  - name: restart-service
    trigger: { kind: alert, matchers: ['alertname="ServiceUnhealthy"'] }
    target: '{{ $labels.instance }}'
    steps:
      - { name: restart, kind: command, argv: [${JSON.stringify(NODE)}, ${JSON.stringify(join(FIXTURES, 'restart-service.mjs'))}, '${port}', ${JSON.stringify(dir)}], timeout: 20s }
    verify: { kind: http, url: 'http://{{ $labels.instance }}/health', expect_status: 200, interval: 5s, timeout: 30s }
    rollback:
      - { name: page-and-mark, kind: command, argv: [${JSON.stringify(NODE)}, ${JSON.stringify(join(FIXTURES, 'write-argv.mjs'))}, ${JSON.stringify(join(dir, 'rolled-back'))}, '{{ $labels.instance }}'] }
`;

let h: AutomationHarness | undefined;
afterEach(async () => {
  if (h) {
    // Stop whichever service process is current.
    const pidFile = join(h.dir, 'service.pid');
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
      } catch {
        // gone
      }
    }
    await h.close();
    h = undefined;
  }
});

async function startService(dir: string, port: number): Promise<number> {
  const child = spawn(NODE, [join(FIXTURES, 'service.mjs'), String(port), dir], { detached: true, stdio: 'ignore' });
  child.unref();
  await waitFor('the service', async () => (await fetch(`http://127.0.0.1:${port}/health`)).status > 0, 10_000);
  return Number(readFileSync(join(dir, 'service.pid'), 'utf8'));
}

const health = async (port: number) => (await fetch(`http://127.0.0.1:${port}/health`)).status;

describe('remediation against a real service process', () => {
  it('restarts an unhealthy service, verifies it healthy and succeeds', async () => {
    const port = await freePort();
    h = automationHarness(config(port));
    const firstPid = await startService(h.dir, port);
    await fetch(`http://127.0.0.1:${port}/break`, { method: 'POST' });
    expect(await health(port)).toBe(503);

    await h.firing({ alertname: 'ServiceUnhealthy', instance: `127.0.0.1:${port}`, severity: 'warning' });

    const run = await h.run();
    expect(run.state).toBe('succeeded');
    expect(await health(port)).toBe(200);
    expect(Number(readFileSync(join(h.dir, 'service.pid'), 'utf8'))).not.toBe(firstPid);
    const audit = await h.audit(run.id);
    expect(audit.filter((a) => a.kind === 'transition').map((a) => a.to)).toEqual(['approved', 'executing', 'verifying', 'succeeded']);
    const step = audit.find((a) => a.kind === 'step');
    expect(step).toMatchObject({ name: 'restart', ok: true, status: 0, dryRun: false });
    expect(step?.stdout).toMatch(/^restarted: pid \d+/);
    expect(step?.durationMs).toBeGreaterThan(0);
    expect(audit.find((a) => a.kind === 'verify')).toMatchObject({ ok: true, detail: expect.stringContaining(': 200') });
    expect(existsSync(join(h.dir, 'rolled-back'))).toBe(false);
    expect(h.systemEvents()).toEqual([]);
  });

  it('rolls back and raises a system event when the restart does not help', async () => {
    const port = await freePort();
    h = automationHarness(config(port));
    writeFileSync(join(h.dir, 'broken-for-good'), '');
    await startService(h.dir, port);
    expect(await health(port)).toBe(503);

    await h.firing({ alertname: 'ServiceUnhealthy', instance: `127.0.0.1:${port}` });
    expect((await h.run()).state).toBe('verifying');
    // Re-checks every 5s (simulated) and gives up at the 30s verification timeout.
    await h.advanceTo(h.clock.now() + 31_000);

    const run = await h.run();
    expect(run.state).toBe('rolled_back');
    expect(run.reason).toBe('verification did not pass in time');
    const audit = await h.audit(run.id);
    expect(audit.filter((a) => a.kind === 'verify').length).toBeGreaterThanOrEqual(5);
    expect(audit.filter((a) => a.kind === 'verify').every((a) => a.ok === false)).toBe(true);
    expect(JSON.parse(readFileSync(join(h.dir, 'rolled-back'), 'utf8')).args).toEqual([`127.0.0.1:${port}`]);
    expect(h.systemEvents()).toEqual([expect.objectContaining({ source: 'automation', kind: 'runbook.rolled_back', severity: 'warning', labels: expect.objectContaining({ runbook: 'restart-service' }) })]);
  });
});
