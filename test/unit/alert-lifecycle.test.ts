import { afterEach, describe, expect, it } from 'vitest';
import type { Suppression, Suppressor } from '../../src/actors/alert-manager/suppressor.js';
import { alertWorld, MINUTE, T0 } from './alert-world.js';

const RULES = `
alerting: { evaluation_interval: 1m, close_after: 1h }
rules:
  - { name: Hot, kind: threshold, metric: temp, op: ">", value: 80, for: 2m }
`;
const at = (minutes: number) => T0 + minutes * MINUTE;
const worlds: ReturnType<typeof alertWorld>[] = [];
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.store.close()));
});

/** A suppressor the test switches, standing in for silences and maintenance windows. */
function switchable(): Suppressor & { set(s: Suppression | undefined): void } {
  let current: Suppression | undefined;
  return { check: () => current, set: (s) => void (current = s) };
}

async function setup(suppressor?: Suppressor) {
  const w = alertWorld(RULES);
  worlds.push(w);
  await w.boot(suppressor ? { suppressor } : {});
  const temp = (v: number, m: number) => w.sample('temp', { room: 'a' }, v, at(m));
  const fp = async () => (await w.store.alerts.find())[0]!.id;
  const state = async () => (await w.store.alerts.find())[0]?.state;
  return { w, temp, fp, state };
}

describe('alert lifecycle', () => {
  it('pending → firing → acknowledged → resolved → closed, every step in the history with who and why', async () => {
    const { w, temp, fp, state } = await setup();
    await temp(90, 0);
    await temp(91, 2);
    await w.advanceTo(at(2) + 1000); // people answer after the page
    await w.request('alert.ack', { fingerprint: await fp(), by: 'alice', comment: 'on it' });
    await temp(50, 5);
    expect(await state()).toBe('resolved');
    await w.advanceTo(at(5 + 60));
    expect(await state()).toBe('closed');
    expect(await w.history(await fp())).toEqual([
      'inactive->pending by system: condition met',
      'pending->firing by system: condition held for the for duration',
      'firing->acknowledged by alice: on it',
      'acknowledged->resolved by system: condition cleared',
      'resolved->closed by system: retention elapsed',
    ]);
    expect(w.pages()).toEqual(['firing Hot@2', 'resolved Hot@5']);
  });

  it('re-fires when the condition returns after resolving, and again after closing', async () => {
    const { w, temp } = await setup();
    await temp(90, 0);
    await temp(90, 2);
    await temp(50, 3);
    await temp(90, 4);
    await temp(90, 6);
    await temp(50, 7);
    await w.advanceTo(at(70));
    await temp(90, 80);
    await temp(90, 82);
    expect(w.pages()).toEqual(['firing Hot@2', 'resolved Hot@3', 'firing Hot@6', 'resolved Hot@7', 'firing Hot@82']);
  });

  it('suppressed and back: muted alerts do not page, and page once unmuted if they fired meanwhile', async () => {
    const suppressor = switchable();
    const { w, temp, fp, state } = await setup(suppressor);
    suppressor.set({ by: 'silence:42', reason: 'deploying' });
    await temp(90, 0);
    expect(await state()).toBe('suppressed');
    await temp(90, 2); // for elapsed while muted: fires silently
    expect(w.pages()).toEqual([]);
    suppressor.set(undefined);
    await w.advanceTo(at(3)); // the tick lifts it
    expect(await state()).toBe('firing');
    expect(w.pages()).toEqual(['firing Hot@2']);
    suppressor.set({ by: 'maintenance:rack-4', reason: 'in maintenance window' });
    await w.advanceTo(at(4));
    expect(await state()).toBe('suppressed');
    await temp(50, 5);
    expect(await state()).toBe('resolved');
    expect(w.pages()).toEqual(['firing Hot@2', 'resolved Hot@5']);
    expect(await w.history(await fp())).toEqual([
      // Muted the moment the condition became true: straight to suppressed, never pending in the open.
      'inactive->suppressed by silence:42: condition met; deploying',
      'suppressed->firing by system: suppression ended',
      'firing->suppressed by maintenance:rack-4: in maintenance window',
      'suppressed->resolved by system: condition cleared',
    ]);
  });

  it('a suppressed alert that clears before anyone heard of it never pages', async () => {
    const suppressor = switchable();
    suppressor.set({ by: 'inhibited-by:lb', reason: 'load balancer down' });
    const { w, temp, state } = await setup(suppressor);
    await temp(90, 0);
    await temp(90, 3);
    await temp(50, 4);
    expect(await state()).toBe('resolved');
    expect(w.pages()).toEqual([]);
  });

  it('workflow: assign and comment at any time, resolve by hand; closed alerts still take comments', async () => {
    const { w, temp, fp, state } = await setup();
    await temp(90, 0);
    const id = await fp();
    await w.advanceTo(at(1));
    await w.request('alert.workflow', { fingerprint: id, by: 'alice', action: 'assign', text: 'bob' });
    await w.request('alert.workflow', { fingerprint: id, by: 'bob', action: 'resolve', text: 'pending cannot be resolved' });
    await temp(90, 2);
    await w.advanceTo(at(3));
    await w.request('alert.workflow', { fingerprint: id, by: 'bob', action: 'comment', text: 'looking' });
    await w.request('alert.workflow', { fingerprint: id, by: 'bob', action: 'resolve', text: 'fixed the fan' });
    expect(await state()).toBe('resolved');
    await w.advanceTo(at(70));
    await w.request('alert.workflow', { fingerprint: id, by: 'carol', action: 'comment', text: 'postmortem filed' });
    expect(await w.store.alerts.get(id)).toMatchObject({ assignee: 'bob', state: 'closed' });
    expect(await w.history(id)).toEqual([
      'inactive->pending by system: condition met',
      'pending->pending by alice: bob',
      'pending->firing by system: condition held for the for duration',
      'firing->firing by bob: looking',
      'firing->resolved by bob: fixed the fan',
      'resolved->closed by system: retention elapsed',
      'closed->closed by carol: postmortem filed',
    ]);
    expect(w.pages()).toEqual(['firing Hot@2', 'resolved Hot@3']);
  });
});

describe('restart resumes every alert where it was', () => {
  /** Drives one alert into a state, restarts, then checks it continues from there. */
  const cases: { state: string; drive: (s: Awaited<ReturnType<typeof setup>>, sup: ReturnType<typeof switchable>) => Promise<void>; after: (s: Awaited<ReturnType<typeof setup>>) => Promise<void>; pages: string[] }[] = [
    {
      state: 'pending',
      drive: async ({ temp }) => temp(90, 0),
      after: async ({ w }) => w.advanceTo(at(2)), // the restored for-timer fires it
      pages: ['firing Hot@2'],
    },
    {
      state: 'firing',
      drive: async ({ temp }) => {
        await temp(90, 0);
        await temp(90, 2);
      },
      after: async ({ temp }) => temp(50, 3),
      pages: ['firing Hot@2', 'resolved Hot@3'],
    },
    {
      state: 'acknowledged',
      drive: async ({ w, temp, fp }) => {
        await temp(90, 0);
        await temp(90, 2);
        await w.request('alert.ack', { fingerprint: await fp(), by: 'alice' });
      },
      after: async ({ temp }) => temp(50, 3),
      pages: ['firing Hot@2', 'resolved Hot@3'],
    },
    {
      state: 'suppressed',
      drive: async ({ temp }, sup) => {
        sup.set({ by: 'silence:1', reason: 'test' });
        await temp(90, 0);
        await temp(90, 2);
      },
      after: async ({ w }, ) => w.advanceTo(at(3)), // no suppression after the restart: the tick lifts it
      pages: ['firing Hot@2'],
    },
    {
      state: 'resolved',
      drive: async ({ temp }) => {
        await temp(90, 0);
        await temp(90, 2);
        await temp(50, 3);
      },
      after: async ({ w }) => w.advanceTo(at(63)), // the restored close timer closes it
      pages: ['firing Hot@2', 'resolved Hot@3'],
    },
    {
      state: 'closed',
      drive: async ({ w, temp }) => {
        await temp(90, 0);
        await temp(90, 2);
        await temp(50, 3);
        await w.advanceTo(at(63));
      },
      after: async ({ temp }) => {
        await temp(90, 70);
        await temp(90, 72);
      },
      pages: ['firing Hot@2', 'resolved Hot@3', 'firing Hot@72'],
    },
  ];
  it.each(cases)('$state', async ({ state: expected, drive, after, pages }) => {
    const sup = switchable();
    const s = await setup(sup);
    await drive(s, sup);
    expect(await s.state()).toBe(expected);
    await s.w.boot(); // a new process on the same store and bus; its suppressor suppresses nothing
    expect(await s.state()).toBe(expected);
    await after(s);
    expect(s.w.pages()).toEqual(pages);
  });
});
