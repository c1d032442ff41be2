import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { envelope, type AlertPayload } from '../../src/bus/messages.js';
import type { Store } from '../../src/store/store.js';
import { waitFor } from '../helpers/servers.js';
import { startWebhookReceiver, type Reply, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { runNotifier } from './notifier-process.js';

const alert: AlertPayload = {
  fingerprint: 'c0ffee0123456789',
  status: 'firing',
  labels: { alertname: 'HighCPU', instance: 'db-1' },
  annotations: {},
  startsAt: '2024-05-01T10:00:00.000Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: '',
};
const notifyMessage = envelope('alert.notify', 'alert-HighCPU-1', { alert, rule: 'HighCPU', receiver: 'ops' }, alert.fingerprint);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-notifier-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function receive(reply?: Reply): Promise<WebhookReceiver> {
  const receiver = await startWebhookReceiver(reply);
  cleanups.push(() => receiver.close());
  return receiver;
}

async function started(dir: string, url: string) {
  const notifier = await runNotifier(dir, url);
  cleanups.push(() => notifier.close());
  return notifier;
}

/** The alert's one delivery (to ops, from its aggregation group's first flush), once delivered. */
const delivered = (store: Store) =>
  waitFor('delivery delivered', async () => {
    const [record, ...others] = await store.deliveries.find({ where: { receiver: 'ops' } });
    if (others.length) throw new Error(`${others.length + 1} deliveries, expected one`);
    return record?.status === 'delivered' ? record : undefined;
  }, 10_000, 10);

describe('notifier on the journaled local transport', () => {
  it('retries through delayed bus messages until the receiver accepts', async () => {
    const hook = await receive((n) => ({ status: n <= 2 ? 500 : 200 }));
    const { store, ctx } = await started(tempDir(), hook.url);
    await ctx.bus.publish([notifyMessage]);
    const record = await delivered(store);
    expect(record.attempts).toBe(3);
    expect(hook.requests.map((r) => r.headers['idempotency-key'])).toEqual([record.id, record.id, record.id]);
  });

  it('re-sends, once, a notification whose process was killed with SIGKILL mid-send', async () => {
    let answering = false;
    // Until the child is killed the receiver holds the request open, so the delivery stays `sending`.
    const hook = await receive(() => (answering ? { status: 200 } : { status: 200, delayMs: 60_000 }));
    const dir = tempDir();
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'notifier-process.ts'), dir, hook.url, JSON.stringify(notifyMessage)], { stdio: 'inherit' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    cleanups.push(() => void child.kill('SIGKILL'));
    await waitFor('the child to start sending', async () => hook.requests.length === 1, 20_000);
    child.kill('SIGKILL');
    await exited;

    answering = true;
    const restarted = await started(dir, hook.url);
    const record = await delivered(restarted.store);
    expect(record).toMatchObject({ attempts: 2 });
    // The journal redelivers the unacknowledged alert.notify too: it must find the delivery done and send nothing.
    // What stays queued is the group's one repeat timer (4h away), re-published on start under the same id.
    await waitFor('the redelivered alert.notify taken', async () => (await restarted.transport.depth('notifier')) === 1, 2_000, 10);
    await restarted.close();
    expect(hook.requests.map((r) => r.headers['idempotency-key'])).toEqual([record.id, record.id]);
  });
});
