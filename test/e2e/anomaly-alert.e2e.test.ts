import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/servers.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const RULES = `rules:
  - { name: CpuAnomaly, kind: anomaly, metric: cpu_usage, min_score: 0.5, severity: critical, annotations: { summary: 'CPU of {{ $labels.instance }} is unusual' } }
`;

/**
 * The whole anomaly path with real parts: samples pushed over the API → collector → anomaly detector
 * (a spike in a synthetic series) → `anomaly` message → the alert manager's anomaly rule → notifier →
 * webhook POST at a real receiver; the detector's `normal` verdict resolves the alert.
 */
describe('an anomaly rule pages on a detected spike', { timeout: 60_000 }, () => {
  let receiver: WebhookReceiver;
  let daemon: TestDaemon;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    daemon = await startTestDaemon(
      `
server: { port: 0 }
auth: { tokens: [{ name: ops, role: admin, token: e2e-token }] }
store: { kind: embedded, path: vigil.db }
transport: { journal_path: queue.db }
${RULES}
notifier:
  receivers: [{ name: hook, kind: webhook, url: "${receiver.url}", send_resolved: true }]
  default_receiver: hook
`,
    );
  });

  afterAll(async () => {
    await daemon?.close();
    await receiver?.close();
  });

  it('fires CpuAnomaly on the spike and resolves it when the series settles', async () => {
    const n = 500;
    const spike = 450;
    const start = Date.now() - n * 60_000;
    let seed = 1;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const samples = Array.from({ length: n }, (_, i) => ({
      name: 'cpu_usage',
      labels: { instance: 'h1' },
      value: 50 + 10 * Math.sin((2 * Math.PI * i) / 120) + rand() * 3 + (i === spike ? 80 : 0),
      timestamp: start + i * 60_000,
    }));
    const push = await fetch(`${daemon.url}/api/v1/samples`, {
      method: 'POST',
      headers: { authorization: 'Bearer e2e-token', 'content-type': 'application/json' },
      body: JSON.stringify({ samples }),
    });
    expect(push.status).toBe(202);

    type Alert = { status: string; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string };
    const alerts = () => receiver.requests.flatMap((r) => (r.json as { alerts: Alert[] }).alerts).filter((a) => a.labels.alertname === 'CpuAnomaly');
    // The detector may also flag a point soon after its warm-up; the page that matters starts at the spike.
    const spikeAt = new Date(start + spike * 60_000).toISOString();
    const alert = await waitFor('the CpuAnomaly page for the spike', async () => alerts().find((a) => a.status === 'firing' && a.startsAt === spikeAt));
    expect(alert.labels).toMatchObject({ alertname: 'CpuAnomaly', instance: 'h1', severity: 'critical' });
    expect(alert.annotations.summary).toBe('CPU of h1 is unusual');
    await waitFor('the resolved notification', async () => alerts().find((a) => a.status === 'resolved' && a.startsAt === spikeAt));
  });
});
