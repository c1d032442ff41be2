import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/servers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/main.ts');
const SERIES = 'cpu_usage{instance="h1"}';

const CONFIG = `
server: { port: 0 }
auth:
  tokens:
    - { name: watcher, role: viewer, token: viewer-token }
    - { name: root, role: admin, token: admin-token }
store: { kind: embedded, path: vigil.db }
transport: { journal_path: queue.db }
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

/** The daemon with every actor on the local transport; samples pushed over the API reach the detector through the collector. */
describe('vigil models and /api/v1/models', { timeout: 60_000 }, () => {
  let daemon: TestDaemon;
  let url: string;
  const api = (path: string, token: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });

  beforeAll(async () => {
    daemon = await startTestDaemon(CONFIG);
    url = daemon.url as string;
    const start = Date.now() - 200 * 60_000;
    const samples = Array.from({ length: 200 }, (_, i) => ({ name: 'cpu_usage', labels: { instance: 'h1' }, value: 50 + 10 * Math.sin(i / 10) + (i % 7), timestamp: start + i * 60_000 }));
    expect((await api('/api/v1/samples', 'admin-token', { method: 'POST', body: JSON.stringify({ samples }) })).status).toBe(202);
    await waitFor('the detector to score the pushed points', async () => (await daemon.metrics.registry.getSingleMetricAsString('vigil_anomaly_points_scored_total')).endsWith(' 200') || undefined);
  });
  afterAll(() => daemon?.close());

  it('retrain needs an admin and relearns the model, which list and show then report', async () => {
    expect((await api('/api/v1/models/retrain', 'viewer-token', { method: 'POST', body: JSON.stringify({ series: SERIES }) })).status).toBe(403);
    const refused = await vigil(['models', 'retrain', '--url', url, '--token', 'admin-token']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('name a series, or pass --all');

    const retrain = await vigil(['models', 'retrain', SERIES, '--url', url, '--token', 'admin-token']);
    expect(retrain).toMatchObject({ code: 0, stderr: '' });
    expect(retrain.stdout).toContain(`retraining of ${SERIES} requested`);
    await waitFor('the relearned model to be saved', async () => (await daemon.store.models.load(SERIES))?.meta.version === 1 || undefined);

    const list = await vigil(['models', 'list', '--url', url, '--token', 'viewer-token']);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SERIES\s+KIND\s+VERSION\s+POINTS\s+TRAINED\s+SAVED\s+STATE\s+SIZE$/);
    expect(lines[1]).toMatch(/^cpu_usage\{instance="h1"\}\s+ensemble\s+1\s+200\s+\S+Z\s+\S+Z\s+(normal|anomalous)\s+\d+ KiB$/);

    const show = await vigil(['models', 'show', SERIES, '--url', url, '--token', 'viewer-token']);
    expect(show).toMatchObject({ code: 0, stderr: '' });
    expect(show.stdout).toMatch(/window:\s+\S+Z \.\. \S+Z \(200 points\)/);
    expect(show.stdout).toMatch(/quality:\s+\{"alarmRate":/);

    const json = (await (await api(`/api/v1/models/${encodeURIComponent(SERIES)}`, 'viewer-token')).json()) as { model: { kind: string; bytes: number; params: { hyperParameters: { families: string[] } } } };
    expect(json.model.kind).toBe('ensemble');
    expect(json.model.params.hyperParameters.families).toEqual(['robust']);
    expect((await api('/api/v1/models/nope', 'viewer-token')).status).toBe(404);

    const all = await vigil(['models', 'retrain', '--all', '--url', url, '--token', 'admin-token', '--json']);
    expect(JSON.parse(all.stdout)).toEqual({ status: 'requested', series: 'all' });
    await waitFor('the second relearning', async () => (await daemon.store.models.load(SERIES))?.meta.version === 2 || undefined);
  });
});
