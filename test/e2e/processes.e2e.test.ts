import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedisUrl, uniquePrefix } from '../helpers/env.js';
import { spawnDaemon, type DaemonProcess } from '../helpers/daemon-process.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { freePort, waitFor } from '../helpers/servers.js';

const TOKEN = 'process-test-token';
const auth = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };

function metricValue(text: string, pattern: RegExp): number {
  return text.split('\n').filter((l) => pattern.test(l)).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe('the daemon as an operator runs it', () => {
  let dir: string;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-proc-'));
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reloads on SIGHUP, keeps the old config when the new one is invalid, and drains on SIGTERM', async () => {
    const file = join(dir, 'signals.yaml');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const config = (rules: string) => `server: { port: ${port} }\nauth: { tokens: [{ name: ops, role: admin, token: ${TOKEN} }] }\nstore: { path: signals.db }\ntransport: { journal_path: signals-queue.db }\nrules:\n${rules}`;
    writeFileSync(file, config("  - { name: A, kind: threshold, metric: m, op: '>', value: 1 }\n"));
    const daemon = await spawnDaemon(file, url);
    const reloadMetric = async () => metricValue(await (await fetch(`${url}/metrics`)).text(), /^vigil_config_last_reload_successful /);

    writeFileSync(file, config("  - { name: A, kind: threshold, metric: m, op: '>', value: 1, for: later }\n"));
    daemon.child.kill('SIGHUP');
    await waitFor('the rejected reload', async () => (await reloadMetric()) === 0 || undefined);
    // The log line may reach the pipe a moment after the metric changed.
    await waitFor('the rejection in the log', async () => /configuration reload rejected/.test(daemon.output()) || undefined);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    writeFileSync(file, config("  - { name: A, kind: threshold, metric: m, op: '>', value: 1 }\n  - { name: B, kind: threshold, metric: m, op: '<', value: 0 }\n"));
    daemon.child.kill('SIGHUP');
    await waitFor('the accepted reload', async () => (await reloadMetric()) === 1 || undefined);

    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  }, 60_000);

  it('splits the actors over processes on BullMQ, and shards the alert manager by series', async () => {
    const file = join(dir, 'scaled.yaml');
    writeFileSync(
      file,
      `
auth: { tokens: [{ name: ops, role: admin, token: ${TOKEN} }] }
transport: { kind: bullmq, redis_url: "${testRedisUrl()}", prefix: ${uniquePrefix('scale')}, partitions: { alert-manager: 4 } }
store: { kind: embedded, path: scaled.db }
rules:
  - { name: GpuHot, kind: threshold, metric: gpu_temp, op: '>', value: 85 }
notifier:
  receivers: [{ name: hook, kind: webhook, url: "${receiver.url}" }]
  # One group per GPU, so each page names exactly one alert.
  route: { receiver: hook, group_by: [alertname, gpu], group_wait: 0s, group_interval: 0s }
`,
    );
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    const [front, ...shards]: DaemonProcess[] = await Promise.all([
      spawnDaemon(file, `http://127.0.0.1:${ports[0]}`, ['--actors', 'collector,notifier', '--port', String(ports[0])]),
      spawnDaemon(file, `http://127.0.0.1:${ports[1]}`, ['--actors', 'alert-manager', '--shard', '0/2', '--port', String(ports[1])]),
      spawnDaemon(file, `http://127.0.0.1:${ports[2]}`, ['--actors', 'alert-manager', '--shard', '1/2', '--port', String(ports[2])]),
    ]);
    try {
      const gpus = Array.from({ length: 24 }, (_, i) => `gpu${i}`);
      const push = await fetch(`http://127.0.0.1:${ports[0]}/api/v1/samples`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify(gpus.map((gpu) => ({ name: 'gpu_temp', labels: { gpu }, value: 90 }))),
      });
      expect(push.status).toBe(202);
      await waitFor('a page per GPU', async () => receiver.requests.length >= gpus.length || undefined, 30_000);
      await new Promise((r) => setTimeout(r, 1_000));
      const paged = receiver.requests.map((r) => (r.json as { alerts: { labels: { gpu: string } }[] }).alerts[0]!.labels.gpu).sort();
      expect(paged).toEqual([...gpus].sort());

      // Each shard evaluated only its own partitions' series, and both had some.
      const handled = await Promise.all(
        ports.slice(1).map(async (p) => metricValue(await (await fetch(`http://127.0.0.1:${p}/metrics`)).text(), /^vigil_messages_handled_total\{actor="alert-manager",type="samples",outcome="ok"\}/)),
      );
      expect(handled.every((n) => n > 0)).toBe(true);
    } finally {
      for (const d of [front!, ...shards]) d.child.kill('SIGTERM');
      expect(await Promise.all([front!, ...shards].map((d) => d.exited))).toEqual([0, 0, 0]);
    }
  }, 90_000);
});
