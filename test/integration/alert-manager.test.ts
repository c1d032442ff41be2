import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runActor, type ActorContext, type RunningActor } from '../../src/actors/actor.js';
import { createAlertManager } from '../../src/actors/alert-manager/alert-manager.js';
import { createBus } from '../../src/bus/bus.js';
import { LocalTransport } from '../../src/bus/local/local-transport.js';
import { envelope, type Envelope } from '../../src/bus/messages.js';
import type { Consumer } from '../../src/bus/transport.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { makeSample } from '../../src/series/series.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const MINUTE = 60_000;
const config = parseConfig(
  `rules:\n  - { name: HighCpu, kind: threshold, metric: cpu_usage, op: ">", value: 90, for: 5m }\n`,
  '/etc/vigil/vigil.yaml',
  {},
);

/**
 * The alert manager on the real local transport (journaled, so delayed timers survive a restart) and the
 * real embedded store, both files; the notifier inbox is read by a recorder. The clock is the test's: the
 * transport releases a due timer when its partition next wakes, which the next sample batch does.
 */
describe('alert manager on the local transport', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-alert-manager-'));
  const clock = { t: T0, now: () => clock.t };
  const notified: Envelope<'alert.notify'>[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startDaemon() {
    const transport = new LocalTransport({ partitions: {}, journalPath: join(dir, 'journal.db'), clock });
    const store = SqliteStore.open(join(dir, 'vigil.db'));
    const bus = createBus(transport);
    const ctx: ActorContext = { bus, store, clock, metrics: createMetrics(), logger: createLogger('silent', { pretty: false }), config: () => config };
    const notifier: Consumer = await transport.consume('notifier', async (m) => {
      notified.push(m as Envelope<'alert.notify'>);
    });
    const running: RunningActor = await runActor(createAlertManager(ctx), transport, ctx);
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await running.close();
        await notifier.close();
        await transport.close();
        await store.close();
      })());
    cleanups.push(stop);
    const cpu = (value: number) => {
      const sample = makeSample('cpu_usage', { host: 'h1' }, clock.t, value);
      return bus.publish([envelope('samples', `cpu-${clock.t}`, { source: 'test', samples: [sample] }, sample.series, clock.t)]);
    };
    return { store, cpu, stop };
  }

  it('fires once after a restart while pending and resolves once, through real delayed messages', async () => {
    const first = await startDaemon();
    await first.cpu(95);
    await vi.waitFor(async () => expect((await first.store.alerts.find())[0]?.state).toBe('pending'));
    await first.stop();

    clock.t = T0 + 5 * MINUTE;
    const second = await startDaemon(); // the journaled timer is due: delivered as the inbox opens
    await vi.waitFor(() => expect(notified.map((n) => n.payload.alert.status)).toEqual(['firing']));
    expect(notified[0]!.payload.alert.startsAt).toBe(new Date(T0 + 5 * MINUTE).toISOString());

    clock.t = T0 + 6 * MINUTE;
    await second.cpu(40);
    await vi.waitFor(() => expect(notified.map((n) => n.payload.alert.status)).toEqual(['firing', 'resolved']));
    // The notification is published before the store is written: wait for the write too.
    await vi.waitFor(async () => expect((await second.store.alerts.find())[0]?.state).toBe('resolved'));
    const [alert] = await second.store.alerts.find();
    expect(alert).toMatchObject({ state: 'resolved', activeAt: T0, firedAt: T0 + 5 * MINUTE, resolvedAt: T0 + 6 * MINUTE });
    expect(await second.store.alertEvents.count({ where: { alertId: alert!.id } })).toBe(3);
  });
});
