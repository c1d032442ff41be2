import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createNotifier } from '../../src/actors/notifier/notifier.js';
import type { Notification } from '../../src/actors/notifier/notify.js';
import type { Bus } from '../../src/bus/bus.js';
import type { Envelope } from '../../src/bus/messages.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';

const T0 = Date.parse('2026-11-23T07:00:00Z');
const CONFIG = `
notifier:
  receivers:
    - { name: log, kind: log }
  daily_report: { at: "09:00", time_zone: Europe/Berlin, receivers: [log] }
  tickets: { receiver: log, after: 30m, escalate_after: 4h }
`;

const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** The notifier actor routes the daily report and ticket workflows' messages to them. */
describe('notifier wiring', () => {
  function start() {
    const store = SqliteStore.open(':memory:');
    stores.push(store);
    const published: { message: Envelope; delayMs: number | undefined }[] = [];
    const bus: Bus = { publish: async (messages, opts) => void messages.forEach((message) => published.push({ message, delayMs: opts?.delayMs })) };
    const clock = { t: T0, now: () => clock.t };
    const config = parseConfig(CONFIG, join(tmpdir(), 'vigil-wiring.yaml'), {});
    const notifier = createNotifier({ bus, store, clock, logger: createLogger('silent'), metrics: createMetrics(), config: () => config });
    return { notifier, store, published, clock };
  }

  it('schedules the daily report at start and delivers it when due', async () => {
    const h = start();
    await h.notifier.start?.();
    const scheduled = h.published.find((p) => p.message.type === 'report.daily');
    // 09:00 in Berlin is 08:00 UTC in November: one hour after T0.
    expect(scheduled?.delayMs).toBe(3_600_000);
    h.clock.t = T0 + 3_600_000;
    await h.notifier.handle(scheduled!.message);
    const [delivery] = await h.store.deliveries.find({});
    expect((delivery?.payload as Notification).alerts[0]?.labels.alertname).toBe('VigilDailyReport');
  });

  it('starts the ticket workflow for a firing alert', async () => {
    const h = start();
    const startsAt = new Date(T0).toISOString();
    const alert = { fingerprint: 'fp1', status: 'firing' as const, labels: { alertname: 'Down', severity: 'critical' }, annotations: {}, startsAt, endsAt: '0001-01-01T00:00:00Z', generatorURL: '' };
    await h.notifier.handle({ id: 'n1', type: 'alert.notify', ts: T0, payload: { alert, rule: 'Down' } });
    const check = h.published.find((p) => p.message.type === 'ticket.check');
    expect(check?.delayMs).toBe(30 * 60_000);
  });
});
