import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Incidents } from '../../src/incidents/incidents.js';
import { createTopology } from '../../src/noise/topology.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/main.ts');

const CONFIG = `
server: { port: 0 }
auth:
  tokens:
    - { name: watcher, role: viewer, token: viewer-token }
    - { name: oncall, role: responder, token: responder-token }
store: { kind: embedded, path: vigil.db }
topology:
  nodes: [{ name: lb }, { name: app-1, depends_on: [lb] }]
`;

/** Runs `vigil ARGS` from source in a child process, as an operator would. */
function vigil(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { VIGIL_TOKEN: _ignored, ...env } = process.env;
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

// Each case starts the CLI from source: 1-3 s apiece on a busy two-core machine.
describe('vigil silences and vigil incidents', { timeout: 60_000 }, () => {
  let daemon: TestDaemon;
  let api: string[];

  beforeAll(async () => {
    daemon = await startTestDaemon(CONFIG);
    api = ['--url', daemon.url as string];
  });
  afterAll(() => daemon?.close());

  it('adds, lists and expires a silence; a viewer is refused in words', async () => {
    const added = await vigil(['silences', 'add', 'instance="db-1"', 'alertname=~"Disk.*"', '--duration', '2h', '--comment', 'resizing', ...api, '--token', 'responder-token']);
    expect(added.stderr).toBe('');
    const id = /^silence (\S+) active: instance="db-1" alertname=~"Disk\.\*" from /.exec(added.stdout)?.[1] as string;
    expect(id).toBeDefined();
    const listed = await vigil(['silences', 'list', ...api, '--token', 'viewer-token']);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+active\\s+instance="db-1" alertname=~"Disk\\.\\*"\\s+\\S+\\s+\\S+\\s+oncall\\s+resizing`));
    const refused = await vigil(['silences', 'expire', id, ...api, '--token', 'viewer-token']);
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.stderr).toMatch(/^vigil: not allowed \(403\)/);
    expect((await vigil(['silences', 'expire', id, ...api, '--token', 'responder-token'])).stdout).toMatch(new RegExp(`^silence ${id} expired at `));
  });

  it('lists, shows and acknowledges an incident', async () => {
    const topology = createTopology(daemon.config().topology);
    const incidents = new Incidents({ store: daemon.store, topology: () => topology, config: () => daemon.config().incidents, recentSamples: () => [], activeAlerts: () => [] });
    const at = Date.now();
    const change = (fingerprint: string, alertname: string, instance: string) => ({ fingerprint, labels: { alertname, instance }, annotations: {}, state: 'firing', activeAt: at, firedAt: at });
    await incidents.observe(change('a1', 'LowTraffic', 'app-1'), at);
    const id = (await incidents.observe(change('l1', 'LoadBalancerDown', 'lb'), at))?.incident.id as string;

    const listed = await vigil(['incidents', 'list', ...api, '--token', 'viewer-token']);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+open\\s+\\S+\\s+2\\s+high\\s+-\\s+LoadBalancerDown on lb \\(\\+1 related\\)`));
    const shown = await vigil(['incidents', 'show', id, ...api, '--token', 'viewer-token']);
    expect(shown.stdout).toContain('root cause:  LoadBalancerDown on lb (l1): deepest failing dependency: 1 other alert depends on lb');
    expect(shown.stdout).toMatch(/l1\s+LoadBalancerDown\s+lb\s+firing\s+\S+\s+high\s+app-1 depends on lb/);
    expect((await vigil(['incidents', 'ack', id, ...api, '--token', 'responder-token'])).stdout).toBe(`incident ${id} is investigating, assigned to oncall\n`);
  });
});
