import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedisUrl, uniquePrefix } from '../helpers/env.js';
import { spawnDaemon } from '../helpers/daemon-process.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { freePort, waitFor } from '../helpers/servers.js';

const TOKEN = 'crash-test-token';

/**
 * `kill -9` while an alert is pending: the restarted daemon still fires it exactly once, from the
 * persisted alert state and the durable `for` timer — no loss, no duplicate page.
 */
describe.each(['local', 'bullmq'] as const)('kill -9 while pending on the %s transport', (transport) => {
  let receiver: WebhookReceiver;
  let dir: string;
  let file: string;
  let url: string;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    dir = mkdtempSync(join(tmpdir(), 'vigil-crash-'));
    file = join(dir, 'vigil.yaml');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    writeFileSync(
      file,
      `
server: { port: ${port} }
auth: { tokens: [{ name: ops, role: admin, token: ${TOKEN} }] }
transport: ${transport === 'local' ? '{ kind: local }' : `{ kind: bullmq, redis_url: "${testRedisUrl()}", prefix: ${uniquePrefix('crash')} }`}
store: { kind: embedded, path: vigil.db }
rules:
  - name: QueueBacklog
    kind: threshold
    metric: queue_backlog
    op: '>'
    value: 100
    for: 4s
notifier:
  receivers: [{ name: hook, kind: webhook, url: "${receiver.url}" }]
  default_receiver: hook
`,
    );
  });

  afterAll(async () => {
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, { ...init, headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', ...init.headers } });

  it('fires exactly once after a restart', async () => {
    const first = await spawnDaemon(file, url);
    const push = await api('/api/v1/samples', { method: 'POST', body: JSON.stringify({ samples: [{ name: 'queue_backlog', labels: { queue: 'orders' }, value: 500 }] }) });
    expect(push.status).toBe(202);
    await waitFor('the alert to go pending', async () => {
      const { alerts } = (await (await api('/api/v1/alerts')).json()) as { alerts: { state: string }[] };
      return alerts[0]?.state === 'pending' || undefined;
    });
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    expect(receiver.requests).toHaveLength(0);

    const second = await spawnDaemon(file, url);
    try {
      const page = await waitFor('the firing webhook', async () => receiver.requests[0], 20_000);
      expect((page.json as { status: string }).status).toBe('firing');
      // Long enough for any duplicate timer or replayed transition to have paged again.
      await new Promise((r) => setTimeout(r, 2_000));
      expect(receiver.requests).toHaveLength(1);
      const { alerts } = (await (await api('/api/v1/alerts')).json()) as { alerts: { state: string; labels: Record<string, string> }[] };
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ state: 'firing', labels: { alertname: 'QueueBacklog', queue: 'orders' } });
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  }, 60_000);
});
