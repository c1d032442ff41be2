import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Actor } from '../../src/actors/actor.js';
import { createAutomation, type ExecutionRecord } from '../../src/actors/automation/automation.js';
import type { Bus } from '../../src/bus/bus.js';
import { envelope, type Envelope, type MessagePayloads, type MessageType, type SystemEvent } from '../../src/bus/messages.js';
import { parseConfig, type VigilConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';
import type { RunbookAuditRecord } from '../../src/store/store.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'automation');

interface Published {
  message: Envelope;
  deliverAt: number;
}

/**
 * The automation actor on a real store with a simulated clock. Published messages are kept; timers are
 * delivered by `advanceTo`, which moves the clock to each timer's due time, in order.
 */
export interface AutomationHarness {
  actor: Actor;
  store: SqliteStore;
  dir: string;
  metrics: Metrics;
  published: Published[];
  clock: { now(): number; set(t: number): void };
  config(): VigilConfig;
  setConfig(yaml: string): VigilConfig;
  /** Another actor on the same store, as after a restart. */
  restart(): Actor;
  send<T extends MessageType>(type: T, payload: MessagePayloads[T], id?: string): Promise<void>;
  firing(labels: Record<string, string>, options?: { value?: number; fingerprint?: string }): Promise<void>;
  advanceTo(t: number): Promise<void>;
  runs(): Promise<ExecutionRecord[]>;
  run(): Promise<ExecutionRecord>;
  audit(executionId: string): Promise<RunbookAuditRecord[]>;
  systemEvents(): SystemEvent[];
  close(): Promise<void>;
}

export const T0 = Date.parse('2026-11-23T10:00:00Z');

export function automationHarness(yaml: (dir: string) => string, now = T0): AutomationHarness {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-automation-'));
  const store = SqliteStore.open(':memory:');
  const published: Published[] = [];
  let t = now;
  const clock = { now: () => t, set: (next: number) => void (t = next) };
  const bus: Bus = { publish: async (messages, opts) => void messages.forEach((message) => published.push({ message, deliverAt: t + (opts?.delayMs ?? 0) })) };
  let config = parseConfig(yaml(dir), join(dir, 'vigil.yaml'), {});
  const metrics = createMetrics();
  const ctx = { bus, store, clock, metrics, logger: createLogger('silent'), config: () => config };
  let actor = createAutomation(ctx);
  let seq = 0;
  const h: AutomationHarness = {
    actor,
    store,
    dir,
    metrics,
    published,
    clock,
    config: () => config,
    setConfig(text) {
      config = parseConfig(text, join(dir, 'vigil.yaml'), {});
      return config;
    },
    restart() {
      actor = createAutomation(ctx);
      h.actor = actor;
      return actor;
    },
    async send(type, payload, id = `m${++seq}`) {
      // Each message a millisecond after the one before, so runs keep their order by createdAt.
      t += 1;
      await actor.handle(envelope(type, id, payload, undefined, t));
    },
    async firing(labels, options = {}) {
      const fingerprint = options.fingerprint ?? `fp-${Object.values(labels).join('-')}`;
      const alert = { fingerprint, status: 'firing' as const, labels, annotations: {}, startsAt: new Date(t).toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', value: options.value ?? 1 };
      await h.send('alert.notify', { alert, rule: labels.alertname ?? 'Rule' });
    },
    async advanceTo(until) {
      for (;;) {
        const due = published.filter((p) => p.message.type === 'runbook.timer' && p.deliverAt <= until).sort((a, b) => a.deliverAt - b.deliverAt)[0];
        if (!due) break;
        published.splice(published.indexOf(due), 1);
        t = Math.max(t, due.deliverAt);
        await actor.handle(due.message);
      }
      t = Math.max(t, until);
    },
    runs: async () => (await store.runbookExecutions.find({ orderBy: { field: 'createdAt' } })) as ExecutionRecord[],
    async run() {
      const runs = await h.runs();
      if (runs.length !== 1) throw new Error(`expected one run, found ${runs.length}`);
      return runs[0] as ExecutionRecord;
    },
    audit: async (executionId) => (await store.runbookAudit.find({ where: { executionId } })).sort((a, b) => (a.seq as number) - (b.seq as number)),
    systemEvents: () => published.filter((p) => p.message.type === 'system.event').map((p) => p.message.payload as SystemEvent),
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}
