import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../../src/actors/anomaly-detector/model-codec.js';
import { SeriesWatch } from '../../src/actors/anomaly-detector/series-watch.js';
import { createDetector, restoreDetector } from '../../src/models/anomaly/detector.js';
import { INDEXES, type Collection, type CollectionName, type ModelRecord, type Store } from '../../src/store/store.js';

/**
 * The behaviour every Store adapter must have. `open` gives a fresh, empty store; `reopen`, when given,
 * opens again the data of the store `open` returned last (after it was closed), to prove persistence.
 */

type RecordCollection = Exclude<CollectionName, 'models'>;
type AnyRecord = { id: string; [field: string]: unknown };

/** Above the GridFS threshold the MongoDB contract run sets (64 KiB), and more than one 255 KiB chunk. */
export const LARGE_WEIGHTS_BYTES = 600 * 1024;

const STATES = ['pending', 'firing'];

/** A valid record of each collection; its numeric indexed fields grow with `i`, its string ones alternate. */
const makers: Record<RecordCollection, (i: number) => AnyRecord> = {
  alerts: (i) => ({
    id: `alert-${i}`,
    rule: `rule_${i % 2}`,
    state: STATES[i % 2],
    labels: { alertname: `rule_${i % 2}`, instance: `host-${i}` },
    annotations: { summary: 'disk nearly full' },
    value: i * 1.5,
    snapshot: { status: 'active', value: STATES[i % 2], context: { since: 1000 + i }, children: {}, historyValue: {} },
    updatedAt: 1000 + i,
  }),
  alertEvents: (i) => ({ id: `event-${i}`, alertId: `alert-${i % 2}`, at: 2000 + i, from: 'pending', to: 'firing', by: 'system', reason: 'for elapsed' }),
  incidents: (i) => ({ id: `incident-${i}`, title: `Incident ${i}`, state: STATES[i % 2], alertIds: [`alert-${i}`], createdAt: 3000 + i, updatedAt: 3100 + i }),
  deliveries: (i) => ({
    id: `delivery-${i}`,
    receiver: `receiver-${i % 2}`,
    channel: i % 2 ? 'webhook' : 'log',
    target: 'http://127.0.0.1/hook',
    status: i % 2 ? 'pending' : 'delivered',
    payload: { alerts: [{ fingerprint: `f${i}` }] },
    attempts: i,
    createdAt: 4000 + i,
    updatedAt: 4000 + i,
    nextAttemptAt: 4500 + i,
  }),
  runbookExecutions: (i) => ({ id: `run-${i}`, runbook: `restart-${i % 2}`, state: STATES[i % 2], snapshot: { value: 'running' }, createdAt: 5000 + i, updatedAt: 5000 + i }),
  runbookAudit: (i) => ({ id: `audit-${i}`, executionId: `run-${i % 2}`, kind: i % 2 ? 'step' : 'transition', at: 9000 + i, output: 'ok', args: ['a; rm -rf /'] }),
  silences: (i) => ({
    id: `silence-${i}`,
    matchers: [{ name: 'alertname', value: 'Disk.*', isRegex: true, isEqual: true }],
    startsAt: 6000 + i,
    endsAt: 6100 + i,
    createdBy: 'ops',
    comment: 'maintenance',
    updatedAt: 6000 + i,
  }),
  processed: (i) => ({ id: `msg-${i}`, at: 7000 + i }),
  notifierState: (i) => ({ id: `state-${i}`, kind: i % 2 ? 'group' : 'escalation', updatedAt: 8000 + i, dueAt: 8500 + i, alerts: ['f1', `f${i}`] }),
};

const RECORD_COLLECTIONS = Object.keys(makers) as RecordCollection[];
const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const model = (id: string, seriesId: string, createdAt: number): ModelRecord => ({
  id,
  seriesId,
  kind: 'lstm',
  version: 1,
  createdAt,
  params: { window: 60, mean: 0.25, std: [1, 2, 3], note: 'ünïcødé ✓' },
});

export function storeContract(name: string, open: () => Promise<Store>, reopen?: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });
    const collection = (c: RecordCollection) => store[c] as unknown as Collection<AnyRecord>;

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe.each(RECORD_COLLECTIONS)('%s', (c) => {
      const records = Array.from({ length: 6 }, (_, i) => makers[c](i));
      const fill = async () => {
        // Written out of id order, so ordering by id is the store's doing.
        for (const r of [...records].reverse()) await collection(c).put(r);
      };

      it('round-trips a record with nested objects and unicode', async () => {
        const record = { ...makers[c](1), nested: { list: [1, 'two', { three: [true, null] }], text: 'naïve — 日本語 — 🚨' } };
        await collection(c).put(record);
        expect(await collection(c).get(record.id)).toEqual(record);
        expect(await collection(c).get('missing')).toBeUndefined();
      });

      it('put replaces the whole record; insert only adds when the id is free', async () => {
        const first = makers[c](0);
        expect(await collection(c).insert(first)).toBe(true);
        expect(await collection(c).insert({ ...first, extra: 'second' })).toBe(false);
        expect(await collection(c).get(first.id)).toEqual(first);
        const replacement: AnyRecord = { ...first, extra: 'replaced' };
        delete replacement[INDEXES[c][0]];
        await collection(c).put(replacement);
        expect(await collection(c).get(first.id)).toEqual(replacement);
        expect(await collection(c).count()).toBe(1);
      });

      it('replaceAtRevision replaces only while the revision is unchanged (a record without one is at 0)', async () => {
        const first = makers[c](0);
        expect(await collection(c).replaceAtRevision({ ...first, revision: 1 }, 0)).toBe(false); // nothing stored yet
        await collection(c).put(first);
        expect(await collection(c).replaceAtRevision({ ...first, revision: 1, extra: 'a' }, 0)).toBe(true);
        expect(await collection(c).replaceAtRevision({ ...first, revision: 2, extra: 'b' }, 0)).toBe(false); // a stale writer
        expect(await collection(c).replaceAtRevision({ ...first, revision: 2, extra: 'c' }, 1)).toBe(true);
        expect(await collection(c).get(first.id)).toEqual({ ...first, revision: 2, extra: 'c' });
        expect(await collection(c).count()).toBe(1);
      });

      it('finds by equality on every indexed field, in id order', async () => {
        await fill();
        for (const field of INDEXES[c]) {
          const value = records[3]![field] as string | number;
          const expected = records.filter((r) => r[field] === value).sort(byId);
          expect(await collection(c).find({ where: { [field]: value } })).toEqual(expected);
          expect(await collection(c).count({ where: { [field]: value } })).toBe(expected.length);
        }
        expect(await collection(c).find()).toEqual([...records].sort(byId));
        expect(await collection(c).find({ where: { [INDEXES[c][0]]: 'no-such-value' } })).toEqual([]);
      });

      it('finds by inclusive range, ordered and limited', async () => {
        await fill();
        const numeric = INDEXES[c].filter((f) => typeof records[0]![f] === 'number');
        expect(numeric.length).toBeGreaterThan(0);
        for (const field of numeric) {
          const from = records[1]![field] as number;
          const to = records[4]![field] as number;
          const inRange = records.filter((r) => (r[field] as number) >= from && (r[field] as number) <= to);
          expect(inRange).toHaveLength(4);
          expect(await collection(c).find({ range: { field, from, to }, orderBy: { field, direction: 'desc' } })).toEqual([...inRange].reverse());
          expect(await collection(c).find({ range: { field, from }, orderBy: { field }, limit: 2 })).toEqual(records.slice(1, 3));
          expect(await collection(c).find({ range: { field, to }, orderBy: { field, direction: 'desc' }, limit: 1 })).toEqual([records[4]]);
          expect(await collection(c).count({ range: { field, from, to } })).toBe(4);
          expect(await collection(c).find({ limit: 0 })).toEqual([]);
        }
      });

      const eqField = INDEXES[c].find((f) => typeof records[0]![f] === 'string');
      const rangeField = INDEXES[c].find((f) => typeof records[0]![f] === 'number');
      it.skipIf(!eqField)('combines where and range', async () => {
        await fill();
        const value = records[0]![eqField!] as string;
        const from = records[1]![rangeField!] as number;
        const expected = records.filter((r) => r[eqField!] === value && (r[rangeField!] as number) >= from);
        expect(expected.length).toBeGreaterThan(0);
        expect(await collection(c).find({ where: { [eqField!]: value }, range: { field: rangeField!, from }, orderBy: { field: rangeField! } })).toEqual(expected);
      });

      it('deletes one record and many by range', async () => {
        await fill();
        expect(await collection(c).delete(records[0]!.id)).toBe(true);
        expect(await collection(c).delete(records[0]!.id)).toBe(false);
        expect(await collection(c).get(records[0]!.id)).toBeUndefined();
        const field = rangeField!;
        expect(await collection(c).deleteMany({ range: { field, to: records[3]![field] as number } })).toBe(3);
        expect(await collection(c).find()).toEqual(records.slice(4));
        expect(await collection(c).deleteMany({ range: { field, to: records[3]![field] as number } })).toBe(0);
      });
    });

    it('keeps an alert with an XState-like snapshot intact', async () => {
      const snapshot = {
        status: 'active',
        value: { firing: 'notified' },
        context: { fingerprint: 'abc123', labels: { severity: 'critical' }, firedAt: 1_700_000_000_000, values: [0.5, 0.75, -1e-9] },
        historyValue: {},
        children: {},
        output: null,
        error: null,
      };
      const alert = { ...makers.alerts(7), state: 'firing', snapshot, firedAt: 1_700_000_000_000 };
      await store.alerts.put(alert as never);
      expect((await store.alerts.get(alert.id))?.snapshot).toEqual(snapshot);
      expect(await store.alerts.find({ where: { state: 'firing', rule: 'rule_1' } })).toEqual([alert]);
    });

    it('leaves an absent optional field absent, and range queries skip it', async () => {
      const { nextAttemptAt: _n, ...delivered } = makers.deliveries(0);
      await store.deliveries.put(delivered as never);
      await store.deliveries.put(makers.deliveries(1) as never);
      const read = await store.deliveries.get(delivered.id);
      expect(read && 'nextAttemptAt' in read).toBe(false);
      expect((await store.deliveries.find({ range: { field: 'nextAttemptAt', to: 1e15 } })).map((d) => d.id)).toEqual(['delivery-1']);
      expect((await store.deliveries.find({ where: { status: 'pending' } })).map((d) => d.id)).toEqual(['delivery-1']);
    });

    it('matches ranges only against numbers, as MongoDB does', async () => {
      await store.processed.put({ id: 'number', at: 5 });
      await store.processed.put({ id: 'text', at: 'soon' } as never);
      expect((await store.processed.find({ range: { field: 'at', from: 0 } })).map((r) => r.id)).toEqual(['number']);
      expect((await store.processed.find({ range: { field: 'at', to: 10 } })).map((r) => r.id)).toEqual(['number']);
    });

    it('matches each JSON type only to itself: booleans, numbers, text', async () => {
      await store.processed.put({ id: 'true', at: true } as never);
      await store.processed.put({ id: 'one', at: 1 });
      expect((await store.processed.find({ where: { at: true } })).map((r) => r.id)).toEqual(['true']);
      expect((await store.processed.find({ where: { at: 1 } })).map((r) => r.id)).toEqual(['one']);
      expect((await store.processed.find({ range: { field: 'at', from: 0 } })).map((r) => r.id)).toEqual(['one']);
      await store.alerts.put({ ...makers.alerts(0), rule: { name: 'nested' } } as never);
      expect(await store.alerts.find({ where: { rule: JSON.stringify({ name: 'nested' }) } })).toEqual([]);
    });

    it('refuses bad input with a clear error', async () => {
      await expect(store.alerts.find({ where: { annotations: 'x' } } as never)).rejects.toThrow(/alerts: invalid query: where field "annotations" is not an indexed field \(indexed: rule, state, updatedAt\)/);
      await expect(store.alerts.find({ rule: 'x' } as never)).rejects.toThrow(/unknown key "rule"/);
      await expect(store.alerts.find({ orderBy: { field: 'labels' } } as never)).rejects.toThrow(/orderBy field "labels"/);
      await expect(store.alerts.find({ limit: -1 })).rejects.toThrow(/limit must be a whole number/);
      await expect(store.alerts.find({ range: { field: 'updatedAt' } })).rejects.toThrow(/range needs from, to or both/);
      await expect(store.alerts.find({ range: { field: 'updatedAt', from: 5, to: 1 } })).rejects.toThrow(/range.from \(5\) is after range.to \(1\)/);
      await expect(store.alerts.find({ where: { rule: { $ne: 'x' } } } as never)).rejects.toThrow(/where.rule must be a string/);
      await expect(store.processed.deleteMany({})).rejects.toThrow(/processed: invalid query: deleteMany needs a where or a range/);
      await expect(store.processed.put({ id: '', at: 1 })).rejects.toThrow(/processed: a record needs a non-empty string id/);
      await expect(store.models.save({ ...model('m', 's', 1) }, 'weights' as never)).rejects.toThrow(/models: weights of m must be a Buffer/);
      expect(await store.processed.count()).toBe(0);
    });

    describe('models', () => {
      it('round-trips metadata and weights byte for byte, small and above the GridFS threshold', async () => {
        const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const large = randomBytes(LARGE_WEIGHTS_BYTES);
        for (const [id, weights] of [['small', every], ['large', large], ['empty', Buffer.alloc(0)]] as const) {
          const meta = model(id, 'cpu{host="a"}', 1);
          await store.models.save(meta, weights);
          const loaded = await store.models.load(id);
          expect(loaded?.meta).toEqual(meta);
          expect(Buffer.isBuffer(loaded?.weights)).toBe(true);
          expect(loaded!.weights.equals(weights)).toBe(true);
        }
        expect(await store.models.load('missing')).toBeUndefined();
      });

      it('a new version replaces the weights, whichever way either was stored', async () => {
        const meta = model('m1', 'mem', 1);
        const versions = [randomBytes(LARGE_WEIGHTS_BYTES), randomBytes(LARGE_WEIGHTS_BYTES + 1), randomBytes(100), randomBytes(LARGE_WEIGHTS_BYTES)];
        for (const [n, weights] of versions.entries()) {
          await store.models.save({ ...meta, version: n + 1 }, weights);
          const loaded = await store.models.load(meta.id);
          expect(loaded?.meta.version).toBe(n + 1);
          expect(loaded!.weights.equals(weights)).toBe(true);
        }
        expect(await store.models.list()).toHaveLength(1);
      });

      it('lists by seriesId, ordered and limited, without weights', async () => {
        for (const [i, series] of ['a', 'b', 'a', 'a'].entries()) await store.models.save(model(`m${i}`, series, 100 + i), randomBytes(10));
        expect((await store.models.list({ where: { seriesId: 'a' } })).map((m) => m.id)).toEqual(['m0', 'm2', 'm3']);
        const newest = await store.models.list({ where: { seriesId: 'a' }, orderBy: { field: 'createdAt', direction: 'desc' }, limit: 2 });
        expect(newest).toEqual([model('m3', 'a', 103), model('m2', 'a', 102)]);
        expect((await store.models.list({ range: { field: 'createdAt', from: 101, to: 102 } })).map((m) => m.id)).toEqual(['m1', 'm2']);
        await expect(store.models.list({ where: { version: 1 } } as never)).rejects.toThrow(/models: invalid query: where field "version"/);
      });

      it("an anomaly detector's model saved mid-series resumes scoring exactly where it was", async () => {
        const rules = { threshold: 0.5, settlePoints: 5, settleAfterMs: 900_000, driftPoints: 20 };
        const value = (i: number) => 50 + 10 * Math.sin(i / 20) + ((i * 7919) % 13) / 5 + (i === 420 ? 60 : 0);
        const watch = new SeriesWatch('cpu{host="a"}', 'cpu', { host: 'a' }, createDetector(), 512);
        for (let i = 0; i < 300; i++) watch.observe(i * 60_000, value(i), rules);
        const { meta, weights } = encodeModel(watch, watch.save(), 1);
        await store.models.save(meta, weights);
        const decoded = decodeModel((await store.models.load(meta.id))!);
        const restored = new SeriesWatch(decoded.id, decoded.name, decoded.labels, restoreDetector(decoded.saved.detector), 512, decoded.saved.watch);
        for (let i = 300; i < 500; i++) expect(restored.observe(i * 60_000, value(i), rules)).toEqual(watch.observe(i * 60_000, value(i), rules));
        expect(restored.save()).toEqual(watch.save());
      });

      it('deletes a model and its weights', async () => {
        await store.models.save(model('big', 's', 1), randomBytes(LARGE_WEIGHTS_BYTES));
        expect(await store.models.delete('big')).toBe(true);
        expect(await store.models.delete('big')).toBe(false);
        expect(await store.models.load('big')).toBeUndefined();
      });
    });

    it.skipIf(!reopen)('keeps every collection and model across close and reopen', async () => {
      for (const c of RECORD_COLLECTIONS) await collection(c).put(makers[c](1));
      const weights = randomBytes(LARGE_WEIGHTS_BYTES);
      await store.models.save(model('kept', 'disk', 5), weights);
      await store.close();
      store = await reopen!();
      for (const c of RECORD_COLLECTIONS) {
        expect(await collection(c).get(makers[c](1).id)).toEqual(makers[c](1));
        expect(await collection(c).insert(makers[c](1))).toBe(false);
      }
      expect((await store.models.load('kept'))!.weights.equals(weights)).toBe(true);
      expect(await store.models.list({ where: { seriesId: 'disk' } })).toEqual([model('kept', 'disk', 5)]);
    });
  });
}
