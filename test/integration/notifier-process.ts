import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runActor, systemClock, type ActorContext } from '../../src/actors/actor.js';
import { createNotifier } from '../../src/actors/notifier/notifier.js';
import { createBus } from '../../src/bus/bus.js';
import { LocalTransport } from '../../src/bus/local/local-transport.js';
import type { Envelope } from '../../src/bus/messages.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';

export interface NotifierProcess {
  store: SqliteStore;
  transport: LocalTransport;
  ctx: ActorContext;
  /** Drains the inbox, then closes transport and store. Idempotent. */
  close(): Promise<void>;
}

/** The notifier as the daemon runs it: a journaled local transport and the embedded store, both files in `dir`. */
export async function runNotifier(dir: string, webhookUrl: string): Promise<NotifierProcess> {
  const yaml = `notifier:\n  default_receiver: ops\n  receivers:\n    - { name: ops, kind: webhook, url: "${webhookUrl}", timeout: 30s }\n`;
  const config = parseConfig(yaml, join(dir, 'vigil.yaml'), {});
  const store = SqliteStore.open(join(dir, 'vigil.db'));
  const transport = new LocalTransport({ partitions: {}, journalPath: join(dir, 'queue.db') });
  const ctx: ActorContext = { bus: createBus(transport), store, logger: createLogger('silent'), metrics: createMetrics(), clock: systemClock, config: () => config };
  const running = await runActor(createNotifier(ctx, { backoff: { baseMs: 5, capMs: 20 } }), transport, ctx);
  let closing: Promise<void> | undefined;
  return {
    store,
    transport,
    ctx,
    close: () =>
      (closing ??= (async () => {
        await running.close();
        await transport.close();
        await store.close();
      })()),
  };
}

// As a script (the crash test's child process): run the notifier and publish one message, then wait to be killed.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [dir, url, message] = process.argv.slice(2) as [string, string, string];
  const { ctx } = await runNotifier(dir, url);
  await ctx.bus.publish([JSON.parse(message) as Envelope]);
}
