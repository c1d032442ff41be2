import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createEscalations, escalationId, type EscalationRecord, type Escalations } from '../../src/actors/notifier/escalation.js';
import type { Notification } from '../../src/actors/notifier/notify.js';
import type { Bus } from '../../src/bus/bus.js';
import type { Envelope } from '../../src/bus/messages.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';

const MINUTE = 60_000;
// Tuesday 2024-01-02 10:00 Berlin: alice's turn (daily from 2024-01-01 09:00, alice, bob).
const START = Date.parse('2024-01-02T09:00:00Z');

const CONFIG = parseConfig(
  [
    'notifier:',
    '  receivers:',
    '    - { name: log, kind: log }',
    '    - { name: pager, kind: log }',
    '  oncall:',
    '    users:',
    '      - { name: alice, email: alice@example.com }',
    '      - { name: bob, email: bob@example.com }',
    '      - { name: carol, email: carol@example.com, slack: "@carol" }',
    '    schedules:',
    '      - name: primary',
    '        time_zone: Europe/Berlin',
    '        layers: [{ rotation: daily, handoff: "09:00", start: "2024-01-01", users: [bob, alice] }]',
    '  escalation_policies:',
    '    - name: default',
    '      repeat: 1',
    '      steps:',
    '        - { targets: ["schedule:primary"], timeout: 15m }',
    '        - { targets: ["user:carol", "receiver:pager"], timeout: 10m }',
    '',
  ].join('\n'),
  '/tmp/vigil-escalation-test.yaml',
);

const notification: Notification = {
  receiver: 'log',
  rule: 'HighCPU',
  groupKey: '{}:{alertname="HighCPU"}',
  raisedAt: START,
  alerts: [
    {
      fingerprint: 'fp-1',
      status: 'firing',
      labels: { alertname: 'HighCPU', instance: 'db-1' },
      annotations: {},
      startsAt: '2024-01-02T08:58:00.000Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: '',
    },
  ],
};
const ID = escalationId(notification.groupKey!, Date.parse('2024-01-02T08:58:00.000Z'));

interface Published {
  message: Envelope<'escalation.step'>;
  delayMs: number | undefined;
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** One notifier process: its escalations over a store, a recording bus and a hand-driven clock. */
function harness(store = SqliteStore.open(':memory:'), clock = { t: START, now() { return this.t; } }) {
  const delivered: Notification[] = [];
  const published: Published[] = [];
  const bus: Bus = {
    async publish(messages, options) {
      for (const message of messages) published.push({ message: message as Envelope<'escalation.step'>, delayMs: options?.delayMs });
    },
  };
  const logger = createLogger('debug', { destination: new Writable({ write: (_c, _e, done) => done() }) });
  const escalations: Escalations = createEscalations({ store, bus, clock, config: () => CONFIG, logger, deliver: async (n) => void delivered.push(n) });
  /** Moves the clock to the last published step's due time and delivers that message. */
  const fireLastStep = async () => {
    const last = published[published.length - 1]!;
    clock.t = last.message.payload.due;
    await escalations.onStep(last.message.payload);
  };
  const record = async () => (await store.notifierState.get(ID)) as EscalationRecord;
  return { store, clock, delivered, published, escalations, fireLastStep, record };
}

const who = (n: Notification) => `${n.receiver}:${(n.recipients ?? []).map((r) => r.name).join(',')}`;

describe('escalation', () => {
  it('step 0 notifies whoever is on call, with contacts, and schedules its timeout as a delayed message', async () => {
    const h = harness();
    await h.escalations.start(notification.groupKey!, 'default', notification);
    expect(h.delivered).toHaveLength(1);
    expect(h.delivered[0]!.recipients).toEqual([{ name: 'alice', email: 'alice@example.com' }]);
    expect(h.delivered[0]!.receiver).toBe('log');
    expect(h.delivered[0]!.escalation).toEqual({ id: ID, step: 0, loop: 0 });
    expect(h.published).toEqual([
      { message: expect.objectContaining({ id: `${ID}:0:0`, type: 'escalation.step', key: ID, payload: { escalationId: ID, due: START + 15 * MINUTE } }), delayMs: 15 * MINUTE },
    ]);
    expect(await h.record()).toMatchObject({ kind: 'escalation', status: 'active', step: 0, loop: 0, stepNotified: true, dueAt: START + 15 * MINUTE, fingerprints: ['fp-1'] });

    // The same group notified again (repeat, redelivery) does not start over.
    await h.escalations.start(notification.groupKey!, 'default', notification);
    expect(h.delivered).toHaveLength(1);
  });

  it('an unacknowledged step times out to the next one, then repeats, then stops exhausted', async () => {
    const h = harness();
    await h.escalations.start(notification.groupKey!, 'default', notification);
    await h.fireLastStep(); // step 1: carol through the group's receiver, and the pager receiver
    expect(h.delivered.slice(1).map(who)).toEqual(['log:carol', 'pager:']);
    expect(h.delivered[1]!.recipients).toEqual([{ name: 'carol', email: 'carol@example.com', slack: '@carol' }]);
    expect(h.published[1]!.delayMs).toBe(10 * MINUTE);

    await h.fireLastStep(); // repeat 1: step 0 again
    expect(h.delivered.slice(3).map(who)).toEqual(['log:alice']);
    // The repeat is not the first page again: a content-addressed outbox must not take it for a duplicate.
    expect(h.delivered[3]).not.toEqual(h.delivered[0]);
    expect(h.delivered[3]!.escalation).toEqual({ id: ID, step: 0, loop: 1 });
    await h.fireLastStep(); // step 1 again
    expect(h.delivered.slice(4).map(who)).toEqual(['log:carol', 'pager:']);
    await h.fireLastStep(); // no repeats left
    expect(h.delivered).toHaveLength(6);
    expect(h.published).toHaveLength(4);
    const record = await h.record();
    expect(record).toMatchObject({ status: 'exhausted', stoppedAt: h.clock.t });
    expect(record.dueAt).toBeUndefined();
    expect(record.notified.map((n) => `${n.loop}.${n.step}`)).toEqual(['0.0', '0.1', '1.0', '1.1']);
  });

  it('acknowledging an alert stops the escalation: its pending step does nothing', async () => {
    const h = harness();
    await h.escalations.start(notification.groupKey!, 'default', notification);
    h.clock.t += 5 * MINUTE;
    await h.escalations.acknowledge('fp-1', 'alice');
    await h.fireLastStep();
    expect(h.delivered).toHaveLength(1);
    expect(h.published).toHaveLength(1);
    expect(await h.record()).toMatchObject({ status: 'acknowledged', acknowledged: { by: 'alice', at: START + 5 * MINUTE } });
    // Acknowledging an alert that is in no escalation changes nothing.
    await h.escalations.acknowledge('fp-other', 'bob');
  });

  it('resolving the group stops it', async () => {
    const h = harness();
    await h.escalations.start(notification.groupKey!, 'default', notification);
    await h.escalations.resolve(notification.groupKey!);
    await h.fireLastStep();
    expect(h.delivered).toHaveLength(1);
    expect((await h.record()).status).toBe('resolved');
  });

  it('a stale step message (an older due, or one already handled) is ignored', async () => {
    const h = harness();
    await h.escalations.start(notification.groupKey!, 'default', notification);
    const first = h.published[0]!.message.payload;
    await h.escalations.onStep({ escalationId: ID, due: first.due - 1 });
    expect(h.delivered).toHaveLength(1);
    await h.fireLastStep();
    expect(h.delivered).toHaveLength(3);
    await h.escalations.onStep(first); // redelivered after it was handled
    await h.escalations.onStep({ escalationId: 'esc-unknown', due: first.due });
    expect(h.delivered).toHaveLength(3);
    expect((await h.record()).step).toBe(1);
  });

  it('survives a restart: a new instance on the same store file continues when the step message arrives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-escalation-'));
    dirs.push(dir);
    const path = join(dir, 'vigil.db');
    const before = harness(SqliteStore.open(path));
    await before.escalations.start(notification.groupKey!, 'default', notification);
    const pending = before.published[0]!.message.payload;
    await before.store.close();

    // The transport kept the delayed message; the new process receives it when due.
    const after = harness(SqliteStore.open(path), { t: pending.due, now() { return this.t; } });
    await after.escalations.onStep(pending);
    expect(after.delivered.map(who)).toEqual(['log:carol', 'pager:']);
    expect(after.published[0]!.message.id).toBe(`${ID}:0:1`);
    expect(await after.record()).toMatchObject({ status: 'active', step: 1, loop: 0 });
    await after.escalations.acknowledge('fp-1', 'carol');
    expect((await after.record()).status).toBe('acknowledged');
    await after.store.close();
  });

  it('a crash between moving to a step and telling its targets is finished by the redelivered message', async () => {
    const store = SqliteStore.open(':memory:');
    const h = harness(store);
    await h.escalations.start(notification.groupKey!, 'default', notification);
    const pending = h.published[0]!.message.payload;
    // What a crash right after the state write leaves behind: the step entered, nobody told yet.
    const record = await h.record();
    await store.notifierState.put({ ...record, step: 1, enteredBy: pending.due, dueAt: pending.due + 10 * MINUTE, stepNotified: false });

    const restarted = harness(store, { t: pending.due + 1000, now() { return this.t; } });
    await restarted.escalations.onStep(pending);
    expect(restarted.delivered.map(who)).toEqual(['log:carol', 'pager:']);
    expect(restarted.published[0]!.message.payload.due).toBe(pending.due + 10 * MINUTE);
    expect((await restarted.record()).stepNotified).toBe(true);
    await restarted.escalations.onStep(pending);
    expect(restarted.delivered).toHaveLength(2);
  });

  it('the same group firing again after it resolved escalates afresh; an unknown policy is an error', async () => {
    const h = harness();
    await h.escalations.start(notification.groupKey!, 'default', notification);
    await h.escalations.resolve(notification.groupKey!);
    const later = { ...notification, alerts: [{ ...notification.alerts[0]!, startsAt: '2024-01-02T12:00:00.000Z' }] };
    await h.escalations.start(notification.groupKey!, 'default', later);
    expect(h.delivered).toHaveLength(2);
    expect(h.published[1]!.message.payload.escalationId).not.toBe(ID);
    await expect(h.escalations.start('other', 'nope', notification)).rejects.toThrow(/no escalation policy named "nope"/);
  });
});
