import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/create-store.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';
import { MongoStore } from '../../src/store/mongo/mongo-store.js';
import { INDEXES, type ModelRecord } from '../../src/store/store.js';
import { freePort } from '../helpers/servers.js';
import { LARGE_WEIGHTS_BYTES, storeContract } from './store.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let opened = 0;
let lastPath = '';
storeContract(
  'embedded (file)',
  async () => {
    // A fresh file in a folder that does not exist yet, which open must create.
    lastPath = join(dir, `store-${++opened}`, 'vigil.db');
    return SqliteStore.open(lastPath);
  },
  async () => SqliteStore.open(lastPath),
);

storeContract('embedded (:memory:)', async () => SqliteStore.open(':memory:'));

describe('embedded store specifics', () => {
  it('indexes exactly the INDEXES fields, runs in WAL mode and records its schema version', async () => {
    const path = join(dir, 'layout', 'vigil.db');
    await (SqliteStore.open(path)).close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT version FROM schema_version').pluck().all()).toEqual([1]);
      const indexes = db.prepare("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%' ORDER BY name").all();
      const expected = Object.entries(INDEXES).flatMap(([table, fields]) => fields.map((f) => ({ tbl_name: table, name: `idx_${table}_${f}` })));
      expect(indexes).toEqual(expected.sort((a, b) => (a.name < b.name ? -1 : 1)));
      const plan = db.prepare("EXPLAIN QUERY PLAN SELECT doc FROM alerts WHERE json_extract(doc, '$.rule') = ? AND json_type(doc, '$.rule') IN (?, ?)").all('r', 'text', 'text') as { detail: string }[];
      expect(plan.map((p) => p.detail).join()).toContain('idx_alerts_rule');
    } finally {
      db.close();
    }
  });

  it('drops an index of its own that INDEXES no longer lists', async () => {
    const path = join(dir, 'stale', 'vigil.db');
    await SqliteStore.open(path).close();
    const db = new Database(path);
    db.exec("CREATE INDEX idx_alerts_value ON alerts (json_extract(doc, '$.value'))");
    db.close();
    await SqliteStore.open(path).close();
    const check = new Database(path, { readonly: true });
    expect(check.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'idx_alerts_value'").pluck().get()).toBe(0);
    check.close();
  });

  it('refuses a file written by a newer schema version', async () => {
    const path = join(dir, 'newer', 'vigil.db');
    await SqliteStore.open(path).close();
    const db = new Database(path);
    db.prepare('UPDATE schema_version SET version = 99').run();
    db.close();
    expect(() => SqliteStore.open(path)).toThrow(/embedded store: .*newer\/vigil.db has schema version 99, newer than this Vigil understands \(1\)/);
  });

  it('says which file it cannot open', () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'not a folder');
    expect(() => SqliteStore.open(join(blocker, 'vigil.db'))).toThrow(/embedded store: cannot open .*a-file\/vigil.db/);
  });

  it('refuses numbers JSON cannot keep rather than writing null', async () => {
    const store = SqliteStore.open(':memory:');
    await expect(store.processed.put({ id: 'nan', at: Number.NaN })).rejects.toThrow(/processed: field "at" is NaN/);
    expect(await store.processed.get('nan')).toBeUndefined();
    await store.close();
  });

  it('commits the writes made together in one transaction, each acknowledged once it is on disk', async () => {
    const path = join(dir, 'group-commit', 'vigil.db');
    const store = SqliteStore.open(path);
    const disk = new Database(path, { readonly: true });
    const onDisk = () => disk.prepare('SELECT count(*) FROM processed').pluck().get();
    const writes = [store.processed.put({ id: 'a', at: 1 }), store.processed.insert({ id: 'b', at: 2 }), store.processed.put({ id: 'c', at: Number.NaN })];
    // Not committed yet, but this connection reads its own writes; the refused record fails alone.
    expect(onDisk()).toBe(0);
    expect(await store.processed.count()).toBe(2);
    expect((await Promise.allSettled(writes)).map((w) => (w.status === 'fulfilled' ? w.value : String(w.reason)))).toEqual([
      undefined,
      true,
      'Error: processed: field "at" is NaN; only finite numbers can be stored',
    ]);
    expect(onDisk()).toBe(2);
    // Closing commits what is still waiting.
    const last = store.processed.delete('a');
    await store.close();
    expect(await last).toBe(true);
    expect(onDisk()).toBe(1);
    disk.close();
  });

  it('keeps every acknowledged write when the process is killed with SIGKILL', async () => {
    const path = join(dir, 'killed', 'vigil.db');
    const storeModule = pathToFileURL(fileURLToPath(new URL('../../src/store/embedded/sqlite-store.ts', import.meta.url))).href;
    const writer = `
      const { SqliteStore } = await import(${JSON.stringify(storeModule)});
      const store = SqliteStore.open(process.env.VIGIL_STORE_PATH);
      for (let i = 0; ; i++) { await store.processed.put({ id: 'm' + i, at: i }); process.stdout.write(i + '\\n'); }
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', writer], { env: { ...process.env, VIGIL_STORE_PATH: path }, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    const acked = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
      child.stdout.on('data', (data: Buffer) => {
        output += data.toString();
        const lines = output.split('\n');
        if (lines.length > 500) {
          child.kill('SIGKILL');
          resolve(Number(lines[lines.length - 2]));
        }
      });
    });
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
    expect(child.signalCode).toBe('SIGKILL');
    const store = SqliteStore.open(path);
    expect(await store.processed.count({ range: { field: 'at', from: 0, to: acked } })).toBe(acked + 1);
    await store.close();
  });

  it('createStore opens the embedded file relative to the config folder, or in memory', async () => {
    const base = join(dir, 'config-dir');
    const store = await createStore({ kind: 'embedded', path: 'data/vigil.db', database: 'vigil' }, base);
    expect(store.kind).toBe('embedded');
    await store.processed.put({ id: 'x', at: 1 });
    await store.close();
    expect(existsSync(join(base, 'data', 'vigil.db'))).toBe(true);
    const memory = await createStore({ kind: 'embedded', path: ':memory:', database: 'vigil' }, base);
    expect(await memory.processed.count()).toBe(0);
    await memory.close();
    expect(existsSync(join(base, ':memory:'))).toBe(false);
  });
});

describe('mongodb store without a server', () => {
  it('fails to open with an error naming the store and the host but not the password', async () => {
    const port = await freePort();
    const secretFile = join(dir, 'mongo-url');
    writeFileSync(secretFile, `mongodb://vigil:s3cr%40t-pw@127.0.0.1:${port}/?serverSelectionTimeoutMS=300\n`);
    const error = await createStore({ kind: 'mongodb', mongodb_url: { file: secretFile }, path: '', database: 'vigil' }, dir).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.message).toMatch(new RegExp(`^mongodb store: cannot open database "vigil" \\(mongodb://vigil:\\*\\*\\*@127.0.0.1:${port}/`));
    expect(error?.message).not.toMatch(/s3cr/);
  });

  it('rejects a GridFS threshold a document cannot hold', async () => {
    await expect(MongoStore.open({ url: 'mongodb://127.0.0.1:1', database: 'x', gridfsThresholdBytes: 64 * 1024 * 1024 })).rejects.toThrow(/gridfsThresholdBytes must be a whole number from 0 to/);
  });
});

const mongoUrl = process.env.VIGIL_TEST_MONGO_URL;
describe.skipIf(!mongoUrl)('mongodb store (VIGIL_TEST_MONGO_URL)', () => {
  const runId = randomUUID().slice(0, 8);
  const databases: string[] = [];
  // Lowered so the contract's large weights go through GridFS and small ones stay inline.
  const gridfsThresholdBytes = 64 * 1024;
  if (LARGE_WEIGHTS_BYTES <= gridfsThresholdBytes) throw new Error('the contract\'s large weights must exceed the lowered GridFS threshold');
  const openDatabase = (database: string) => MongoStore.open({ url: mongoUrl!, database, gridfsThresholdBytes, serverSelectionTimeoutMS: 5_000 });
  const freshDatabase = () => {
    databases.push(`vigil_test_${runId}_${databases.length}`);
    return databases[databases.length - 1]!;
  };

  afterAll(async () => {
    const client = await MongoClient.connect(mongoUrl!);
    for (const database of databases) await client.db(database).dropDatabase();
    await client.close();
  });

  storeContract(
    'mongodb',
    () => openDatabase(freshDatabase()),
    () => openDatabase(databases[databases.length - 1]!),
  );

  describe('model weights placement', () => {
    let client: MongoClient;
    beforeAll(async () => {
      client = await MongoClient.connect(mongoUrl!);
    });
    afterAll(() => client.close());

    it('keeps small weights inline, large ones in GridFS, and removes superseded GridFS files', async () => {
      const database = freshDatabase();
      const store = await openDatabase(database);
      const db = client.db(database);
      const files = () => db.collection('modelWeights.files').countDocuments({ filename: 'm' });
      const meta: ModelRecord = { id: 'm', seriesId: 's', kind: 'lstm', version: 1, createdAt: 1, params: {} };

      await store.models.save(meta, randomBytes(gridfsThresholdBytes + 1));
      await store.models.save({ ...meta, version: 2 }, randomBytes(gridfsThresholdBytes + 2));
      expect(await files()).toBe(1);
      expect(await db.collection('models').findOne({ _id: 'm' as never })).toMatchObject({ weightsFile: expect.anything() });

      await store.models.save({ ...meta, version: 3 }, randomBytes(gridfsThresholdBytes));
      expect(await files()).toBe(0);
      expect(await db.collection('models').findOne({ _id: 'm' as never })).not.toHaveProperty('weightsFile');
      await store.close();
    });

    it('creates its indexes idempotently on every open', async () => {
      const database = freshDatabase();
      await (await openDatabase(database)).close();
      const store = await openDatabase(database);
      const names = (await client.db(database).collection('alerts').listIndexes().toArray()).map((i) => i.name as string).sort();
      expect(names).toEqual(['_id_', ...INDEXES.alerts.map((f) => `vigil_${f}`)].sort());
      await store.ping();
      await store.close();
    });
  });
});
