import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/servers.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const STEP = 10 * MINUTE;
const PER_DAY = DAY / STEP;
const DAYS = 15;

/** A disk filling 4% a day with a daily cycle and a little seeded noise: 10% fifteen days ago, 70% now, 90% in about five days. */
const disk = (k: number) => 10 + (4 * k) / PER_DAY + 1.5 * Math.sin((2 * Math.PI * k) / PER_DAY);
let seed = 7;
const noise = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5;

/**
 * The predictive path with real parts: samples pushed over the API → collector → predictive analyzer
 * (forecast, time to threshold) → `prediction` message → the alert manager's predict rule → notifier →
 * webhook POST at a real receiver, carrying when the breach is expected.
 */
describe('a predict rule pages before the disk is full', { timeout: 60_000 }, () => {
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
anomaly: { enabled: false }
forecast: { step: 10m, evaluate_every: 6h }
rules:
  - name: DiskFillingUp
    kind: predict
    metric: disk_used_percent
    threshold: 90
    within: 7d
    min_confidence: 0.5
    annotations: { summary: '{{ $labels.mount }} on {{ $labels.host }} fills up' }
notifier:
  receivers: [{ name: hook, kind: webhook, url: "${receiver.url}" }]
  default_receiver: hook
`,
      { logger: createLogger('silent', { pretty: false }) },
    );
  });

  afterAll(async () => {
    await daemon?.close();
    await receiver?.close();
  });

  it('fires with the expected breach time, its range and the fill rate', async () => {
    const t0 = Date.now() - DAYS * DAY;
    const n = DAYS * PER_DAY;
    const samples = Array.from({ length: n }, (_, k) => ({ name: 'disk_used_percent', labels: { host: 'db1', mount: '/data' }, timestamp: t0 + k * STEP, value: disk(k) + 0.3 * noise() }));
    // Six hours per request, as a collector would deliver them over time: the analyzer forecasts at most every `evaluate_every` of sample time.
    for (let i = 0; i < n; i += 36) {
      const push = await fetch(`${daemon.url}/api/v1/samples`, {
        method: 'POST',
        headers: { authorization: 'Bearer e2e-token', 'content-type': 'application/json' },
        body: JSON.stringify({ samples: samples.slice(i, i + 36) }),
      });
      expect(push.status).toBe(202);
    }
    let k = n;
    while (disk(k) < 90) k++;
    const trueAt = t0 + k * STEP;
    const lastT = t0 + (n - 1) * STEP;

    type Alert = { status: string; labels: Record<string, string>; annotations: Record<string, string> };
    const alert = await waitFor('the DiskFillingUp page', async () =>
      receiver.requests.flatMap((r) => (r.json as { alerts: Alert[] }).alerts).find((a) => a.status === 'firing' && a.labels.alertname === 'DiskFillingUp'),
    );
    expect(alert.labels).toMatchObject({ host: 'db1', mount: '/data' });
    expect(alert.annotations.summary).toBe('/data on db1 fills up');
    const predictedAt = Date.parse(alert.annotations.predicted_at as string);
    expect(Math.abs(predictedAt - trueAt)).toBeLessThan(0.1 * (trueAt - lastT));
    const [earliest, latest] = (alert.annotations.predicted_range as string).split(' .. ').map(Date.parse) as [number, number];
    expect(earliest).toBeLessThanOrEqual(predictedAt);
    expect(latest).toBeGreaterThanOrEqual(predictedAt);
  });
});
