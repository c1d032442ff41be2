import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { envelope, type AlertPayload } from '../../src/bus/messages.js';
import { createLogger } from '../../src/observability/logger.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { freePort, waitFor } from '../helpers/servers.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { vigil } from '../helpers/cli.js';

const firing: AlertPayload = {
  fingerprint: 'fp-disk',
  status: 'firing',
  labels: { alertname: 'DiskFull', instance: 'db-1' },
  annotations: {},
  startsAt: new Date().toISOString(),
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: '',
};

describe('vigil deliveries against a running daemon', () => {
  let daemon: TestDaemon;
  let hook: WebhookReceiver;
  let receiverUp = false;
  let deadId: string;

  beforeAll(async () => {
    hook = await startWebhookReceiver(() => ({ status: receiverUp ? 200 : 503, body: 'maintenance' }));
    daemon = await startTestDaemon(
      `
server: { host: 127.0.0.1, port: ${await freePort()} }
auth:
  tokens:
    - { name: watcher, role: viewer, token: viewer-token }
    - { name: oncall, role: responder, token: responder-token }
store: { kind: embedded, path: vigil.db }
notifier:
  max_attempts: 1
  default_receiver: ops
  receivers: [{ name: ops, kind: webhook, url: "${hook.url}" }]
`,
      { logger: createLogger('fatal', { destination: process.stderr }) },
    );
    await daemon.transport.send('notifier', [envelope('alert.notify', 'notify-disk', { alert: firing, rule: 'DiskFull' }, firing.fingerprint)]);
    deadId = await waitFor('the delivery dead', async () => (await daemon.store.deliveries.find({ where: { status: 'dead' } }))[0]?.id, 10_000, 10);
  });
  afterAll(async () => {
    await daemon?.close();
    await hook?.close();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('lists deliveries as a table: channel, target, attempts, latency, status, last error', async () => {
    const { out, code } = await vigil('deliveries', 'list', '--url', daemon.url!, '--token', 'viewer-token');
    expect(code).toBe(0);
    const [header, row] = out.trimEnd().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual(['ID', 'CREATED', 'RECEIVER', 'CHANNEL', 'TARGET', 'STATUS', 'ATTEMPTS', 'LATENCY', 'NEXT', 'LAST ERROR']);
    expect(row?.split(/\s{2,}/)).toEqual([deadId, expect.stringMatching(/^\d{4}-\d\d-\d\dT/), 'ops', 'webhook', hook.url, 'dead', '1', '-', '-', 'HTTP 503: maintenance']);
  });

  it('finds the daemon and token from --config and VIGIL_TOKEN, filters, and prints JSON', async () => {
    vi.stubEnv('VIGIL_TOKEN', 'viewer-token');
    const dead = await vigil('deliveries', 'list', '--config', daemon.configFile, '--status', 'dead', '--json');
    expect(JSON.parse(dead.out)).toEqual([expect.objectContaining({ id: deadId, status: 'dead', attempts: 1 })]);
    const none = await vigil('deliveries', 'list', '--config', daemon.configFile, '--receiver', 'nobody');
    expect(none.out).toBe('no deliveries\n');
  });

  it('shows one delivery', async () => {
    const { out, code } = await vigil('deliveries', 'show', deadId, '--url', daemon.url!, '--token', 'viewer-token');
    expect(code).toBe(0);
    expect(out).toContain(`delivery ${deadId}: dead`);
    expect(out).toMatch(/last error: +HTTP 503: maintenance/);
    expect(out).toContain('DiskFull{instance="db-1"}');
    const missing = await vigil('deliveries', 'show', 'dlv-nope', '--url', daemon.url!, '--token', 'viewer-token');
    expect(missing).toMatchObject({ code: 1, err: expect.stringContaining('no delivery dlv-nope') });
  });

  it('re-sends a dead delivery with a responder token, and says why it cannot otherwise', async () => {
    const asViewer = await vigil('deliveries', 'resend', deadId, '--url', daemon.url!, '--token', 'viewer-token');
    expect(asViewer).toMatchObject({ code: 1, err: expect.stringContaining('not allowed (403)') });

    receiverUp = true;
    vi.stubEnv('VIGIL_TOKEN', 'responder-token');
    const resent = await vigil('deliveries', 'resend', deadId, '--url', daemon.url!);
    expect(resent).toMatchObject({ code: 0, out: expect.stringContaining(`delivery ${deadId} re-queued`) });
    await waitFor('the re-sent delivery delivered', async () => ((await daemon.store.deliveries.get(deadId))?.status === 'delivered' ? true : undefined), 10_000, 10);

    const again = await vigil('deliveries', 'resend', deadId, '--url', daemon.url!);
    expect(again).toMatchObject({ code: 1, err: expect.stringContaining('only dead deliveries can be re-sent') });
    const { out } = await vigil('deliveries', 'list', '--url', daemon.url!, '--json');
    expect(JSON.parse(out)).toEqual([expect.objectContaining({ id: deadId, status: 'delivered', latencyMs: expect.any(Number) })]);
  });

  it('explains an unreachable daemon', async () => {
    const { code, err } = await vigil('deliveries', 'list', '--url', `http://127.0.0.1:${await freePort()}`, '--token', 'x');
    expect(code).toBe(1);
    expect(err).toContain('connection refused');
  });
});
