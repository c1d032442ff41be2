import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { testRedisUrl, uniquePrefix } from '../helpers/env.js';
import { startMetricsTarget } from '../helpers/metrics-target.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { startPrometheus, waitFor, type ManagedServer } from '../helpers/servers.js';

/**
 * The whole path with real parts: a scrape target → real Prometheus → collector (PromQL over HTTP) →
 * threshold rule with `for` → alert machine → notifier → webhook POST at a real receiver.
 */
describe.each(['local', 'bullmq'] as const)('end to end on the %s transport', (transport) => {
  const SERIES = 'vigil_e2e_temperature{room="lab"}';
  let target: Awaited<ReturnType<typeof startMetricsTarget>>;
  let prometheus: ManagedServer;
  let receiver: WebhookReceiver;
  let daemon: TestDaemon;

  beforeAll(async () => {
    target = await startMetricsTarget({ [SERIES]: 20 });
    [prometheus, receiver] = await Promise.all([startPrometheus([target.address], '1s'), startWebhookReceiver()]);
    daemon = await startTestDaemon(
      `
server: { port: 0 }
auth: { tokens: [{ name: ops, role: admin, token: e2e-token }] }
transport: ${transport === 'local' ? '{ kind: local }' : `{ kind: bullmq, redis_url: "${testRedisUrl()}", prefix: ${uniquePrefix('e2e')} }`}
store: { kind: embedded, path: vigil.db }
collector:
  sources:
    - kind: prometheus
      name: prom
      url: ${prometheus.url}
      interval: 250ms
      queries:
        - name: temperature
          query: vigil_e2e_temperature
rules:
  - name: LabTooHot
    kind: threshold
    metric: vigil_e2e_temperature
    op: '>'
    value: 50
    for: 2s
    severity: critical
    annotations:
      summary: 'Lab at {{ $value }} degrees'
notifier:
  receivers: [{ name: hook, kind: webhook, url: "${receiver.url}" }]
  default_receiver: hook
`,
    );
  }, 60_000);

  afterAll(async () => {
    await daemon?.close();
    await Promise.all([prometheus?.stop(), receiver?.close(), target?.close()]);
  });

  it('pages once when the metric stays over the threshold longer than `for`, and once when it recovers', async () => {
    target.set(SERIES, 80);
    const pendingSince = await waitFor('the alert to go pending', async () => {
      const [alert] = await daemon.store.alerts.find({ where: { rule: 'LabTooHot' } });
      return alert?.state === 'pending' ? Date.now() : undefined;
    });
    expect(receiver.requests).toHaveLength(0);

    const firing = await waitFor('the firing webhook', async () => receiver.requests[0], 20_000);
    // The rule holds `for: 2s` from the first sample seen over the threshold.
    expect(firing.at - pendingSince).toBeGreaterThanOrEqual(1_000);
    const body = firing.json as { version: string; status: string; alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[] };
    expect(body.version).toBe('4');
    expect(body.status).toBe('firing');
    expect(body.alerts).toHaveLength(1);
    expect(body.alerts[0]!.labels).toMatchObject({ alertname: 'LabTooHot', room: 'lab', severity: 'critical' });
    expect(body.alerts[0]!.annotations.summary).toBe('Lab at 80 degrees');

    target.set(SERIES, 20);
    const resolved = await waitFor('the resolved webhook', async () => receiver.requests[1], 20_000);
    expect((resolved.json as { status: string }).status).toBe('resolved');

    // Scrapes keep arriving; nothing more is sent for an alert that stays resolved.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(receiver.requests.map((r) => (r.json as { status: string }).status)).toEqual(['firing', 'resolved']);
  });
});
