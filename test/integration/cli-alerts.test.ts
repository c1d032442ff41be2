import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/servers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/main.ts');

const CONFIG = `
server: { port: 0 }
auth:
  tokens:
    - { name: watcher, role: viewer, token: viewer-token }
    - { name: oncall, role: responder, token: responder-token }
store: { kind: embedded, path: vigil.db }
rules:
  - { name: DiskFull, kind: threshold, metric: disk_used_percent, op: '>', value: 90, annotations: { summary: 'disk at {{ $value }}%' } }
  - { name: LoadHigh, kind: threshold, metric: load, op: '>', value: 10, for: 1h }
`;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `vigil ARGS` from source in a child process, as an operator would. */
function vigil(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const { VIGIL_TOKEN: _ignored, ...inherited } = process.env;
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: { ...inherited, ...env } }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

// Each case starts the CLI from source: 1-3 s apiece on a busy two-core machine.
describe('vigil alerts', { timeout: 60_000 }, () => {
  let daemon: TestDaemon;
  let url: string;
  let diskAlert: string;
  let loadAlert: string;

  beforeAll(async () => {
    daemon = await startTestDaemon(CONFIG);
    url = daemon.url as string;
    const push = await fetch(`${url}/api/v1/samples`, {
      method: 'POST',
      headers: { authorization: 'Bearer responder-token', 'content-type': 'application/json' },
      body: JSON.stringify({ samples: [{ name: 'disk_used_percent', labels: { host: 'db1' }, value: 95 }, { name: 'load', labels: { host: 'app1' }, value: 42 }] }),
    });
    expect(push.status).toBe(202);
    diskAlert = (await waitFor('the disk alert to fire', async () => (await daemon.store.alerts.find({ where: { rule: 'DiskFull', state: 'firing' } }))[0])).id;
    loadAlert = (await waitFor('the load alert to be pending', async () => (await daemon.store.alerts.find({ where: { rule: 'LoadHigh' } }))[0])).id;
  });
  afterAll(() => daemon?.close());

  it('lists alerts, filtered by state', async () => {
    const all = await vigil(['alerts', 'list', '--url', url, '--token', 'viewer-token']);
    expect(all).toMatchObject({ code: 0, stderr: '' });
    const lines = all.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATE\s+RULE\s+VALUE\s+ACTIVE SINCE\s+LABELS$/);
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.startsWith(diskAlert))).toMatch(/^\S+\s+firing\s+DiskFull\s+95\s+\S+Z\s+host=db1 severity=warning$/);
    expect(lines.find((l) => l.startsWith(loadAlert))).toMatch(/^\S+\s+pending\s+LoadHigh\s+42\s+\S+Z\s+host=app1 severity=warning$/);

    const pending = await vigil(['alerts', 'list', '--state', 'pending', '--url', url], { VIGIL_TOKEN: 'viewer-token' });
    expect(pending.code).toBe(0);
    expect(pending.stdout).toContain(loadAlert);
    expect(pending.stdout).not.toContain(diskAlert);

    const json = await vigil(['alerts', 'list', '--state', 'firing', '--json', '--url', url, '--token', 'viewer-token']);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ id: diskAlert, state: 'firing', labels: { alertname: 'DiskFull', host: 'db1', severity: 'warning' } })]);

    const bad = await vigil(['alerts', 'list', '--state', 'burning', '--url', url, '--token', 'viewer-token']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Allowed choices are inactive, pending, firing, acknowledged, suppressed, resolved, closed');
  });

  it('acknowledges a firing alert, then shows it with its history', async () => {
    const ack = await vigil(['alerts', 'ack', diskAlert, '--comment', 'rotating logs', '--url', url, '--token', 'responder-token']);
    expect(ack).toMatchObject({ code: 0, stderr: '' });
    expect(ack.stdout).toContain(`acknowledgement of ${diskAlert} accepted as oncall`);
    await waitFor('the acknowledgement to be recorded', async () => (await daemon.store.alerts.get(diskAlert))?.state === 'acknowledged');

    const show = await vigil(['alerts', 'show', diskAlert, '--url', url, '--token', 'viewer-token']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`alert ${diskAlert}: DiskFull, acknowledged`);
    expect(show.stdout).toContain('summary:      disk at 95%');
    expect(show.stdout).toMatch(/^\s+\S+Z\s+inactive -> firing\s+system\s+condition met$/m);
    expect(show.stdout).toMatch(/^\s+\S+Z\s+firing -> acknowledged\s+oncall\s+rotating logs$/m);

    const again = await vigil(['alerts', 'ack', diskAlert, '--url', url, '--token', 'responder-token']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`alert ${diskAlert} is acknowledged; only a firing alert can be acknowledged`);
  });

  it('assigns, comments, and resolves several alerts at once, naming the ones skipped', async () => {
    const opts = ['--url', url, '--token', 'responder-token'];
    const [assign, comment] = await Promise.all([vigil(['alerts', 'assign', diskAlert, 'bob', ...opts]), vigil(['alerts', 'comment', diskAlert, 'logs rotated', ...opts])]);
    expect(assign).toMatchObject({ code: 0, stdout: expect.stringContaining(`assignment of ${diskAlert} to bob accepted as oncall`) });
    expect(comment).toMatchObject({ code: 0, stdout: expect.stringContaining(`comment on ${diskAlert} accepted as oncall`) });
    await waitFor('the assignment', async () => (await daemon.store.alerts.get(diskAlert))?.assignee === 'bob');
    const resolve = await vigil(['alerts', 'resolve', diskAlert, loadAlert, '--comment', 'done', ...opts]);
    expect(resolve.code).toBe(0);
    expect(resolve.stdout).toContain('resolution of 1 alert(s) accepted as oncall');
    expect(resolve.stdout).toContain(`skipped ${loadAlert}: alert is pending`);
    await waitFor('the resolution', async () => (await daemon.store.alerts.get(diskAlert))?.state === 'resolved');
    const show = await vigil(['alerts', 'show', diskAlert, '--url', url, '--token', 'viewer-token']);
    expect(show.stdout).toContain('assignee:     bob');
    expect(show.stdout).toMatch(/^\s+\S+Z\s+comment\s+oncall\s+logs rotated$/m);
    expect(show.stdout).toMatch(/^\s+\S+Z\s+acknowledged -> resolved\s+oncall\s+done$/m);
  });

  // The client's other errors (no token, no daemon) are covered in test/unit/api-client.test.ts.
  it('explains refusals without a stack trace: not firing, unknown alert, viewer token, wrong token', async () => {
    const cases: [string[], string][] = [
      [['alerts', 'ack', loadAlert, '--url', url, '--token', 'responder-token'], `alert ${loadAlert} is pending`],
      [['alerts', 'show', 'fedcba9876543210', '--url', url, '--token', 'viewer-token'], 'no alert fedcba9876543210'],
      [['alerts', 'ack', loadAlert, '--url', url, '--token', 'viewer-token'], 'not allowed (403): role viewer may not do this; it needs responder'],
      [['alerts', 'list', '--url', url, '--token', 'wrong'], `the daemon at ${url} rejected the token (401)`],
    ];
    const results = await Promise.all(cases.map(([args]) => vigil(args)));
    results.forEach((result, i) => {
      expect(result.code, cases[i]![0].join(' ')).toBe(1);
      expect(result.stderr).toContain(`vigil: ${cases[i]![1]}`);
      expect(result.stderr).not.toContain('    at '); // a message, not a stack trace
    });
  });
});
