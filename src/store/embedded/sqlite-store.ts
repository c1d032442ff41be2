import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setImmediate } from 'node:timers';
import Database from 'better-sqlite3';
import {
  INDEXES,
  checkQuery,
  checkRecord,
  type AlertEventRecord,
  type AlertRecord,
  type CheckedQuery,
  type Collection,
  type CollectionName,
  type DeliveryRecord,
  type IncidentRecord,
  type ModelRecord,
  type ModelStore,
  type NotifierStateRecord,
  type ProcessedRecord,
  type Query,
  type RunbookExecutionRecord,
  type RunbookAuditRecord,
  type SilenceRecord,
  type Store,
  type StoredModel,
} from '../store.js';

/**
 * The embedded store: one SQLite file (better-sqlite3), one table per collection holding each record as
 * JSON, with an expression index per INDEXES field. WAL with synchronous=NORMAL: a committed write
 * survives the process being killed (not necessarily a power cut). Work is synchronous underneath.
 * Writes are group-committed (GroupCommit below).
 */

/** Bump when the table layout changes, and add the step from the previous version to `migrate`. */
const SCHEMA_VERSION = 1;

type Row = Record<string, unknown>;
type Param = string | number | bigint | Buffer | null;

const NUMBER_TYPES = ['integer', 'real'];
const TEXT_TYPES = ['text', 'text'];

const quote = (identifier: string) => `"${identifier}"`;

/**
 * Group commit: the writes made in one turn of the event loop share one transaction, committed on the
 * next turn, and each write's promise settles only once its transaction has committed, so whoever awaits
 * a write has it on disk before going on, as with one commit per write. A commit costs several times a
 * row (WAL frames for the table and every index page it touched), so handlers writing concurrently (the
 * partitions of an inbox) pay it once. Reads on this connection also see writes not yet committed.
 * The write lock is held until the next turn: another process waits for it (busy timeout), but a second
 * store on the same file in this process would wait on a commit that cannot run, so open one per file.
 */
class GroupCommit {
  private waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  // Prepared once: exec() would parse them again for every transaction.
  private readonly begin: Database.Statement;
  private readonly end: Database.Statement;
  private readonly rollback: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.end = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
  }

  /** Runs a write statement in the current transaction (opening one); resolves to its result once committed. */
  async write<R>(statement: () => R): Promise<R> {
    // SQLite rolls a transaction back itself after some errors (disk full, I/O): its writes are lost.
    if (this.waiting.length > 0 && !this.db.inTransaction) this.settle(new Error('embedded store: a write failed and SQLite rolled its transaction back'));
    if (this.waiting.length === 0) {
      this.begin.run();
      setImmediate(() => this.commit());
    }
    let result: R;
    try {
      result = statement();
    } catch (err) {
      // Only this statement failed (SQLite undoes it alone); the others in the transaction stand.
      if (this.waiting.length === 0 && this.db.inTransaction) this.rollback.run();
      throw err;
    }
    return new Promise<R>((resolve, reject) => this.waiting.push({ resolve: () => resolve(result), reject }));
  }

  /** Commits what is waiting now (the store is closing, or the turn has come). */
  commit(): void {
    if (this.waiting.length === 0) return;
    if (!this.db.inTransaction) return this.settle(new Error('embedded store: a write failed and SQLite rolled its transaction back'));
    try {
      this.end.run();
    } catch (err) {
      if (this.db.inTransaction) this.rollback.run();
      return this.settle(err);
    }
    this.settle();
  }

  private settle(err?: unknown): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) {
      if (err === undefined) w.resolve();
      else w.reject(err);
    }
  }
}

/**
 * One table whose `column` holds JSON: builds the SQL for queries on the collection's indexed fields
 * (values always bound as parameters; field names come only from INDEXES) and caches prepared statements.
 */
class SqliteTable {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly table: string;

  constructor(
    private readonly db: Database.Database,
    readonly collection: CollectionName,
    private readonly column: 'doc' | 'meta',
    readonly commits: GroupCommit,
  ) {
    this.table = quote(collection);
  }

  /** Creates the expression indexes INDEXES asks for and drops ones it no longer lists. */
  syncIndexes(): void {
    const wanted = new Map<string, string>(INDEXES[this.collection].map((field) => [`idx_${this.collection}_${field}`, field]));
    const existing = this.db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name LIKE 'idx\\_%' ESCAPE '\\'")
      .pluck()
      .all(this.collection) as string[];
    for (const name of existing) if (!wanted.has(name)) this.db.exec(`DROP INDEX ${quote(name)}`);
    for (const [name, field] of wanted) this.db.exec(`CREATE INDEX IF NOT EXISTS ${quote(name)} ON ${this.table} (${this.field(field)})`);
  }

  statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** The same expression text as the index, so SQLite's planner uses it. */
  private field(name: string): string {
    return `json_extract(${this.column}, '$.${name}')`;
  }

  private type(name: string): string {
    return `json_type(${this.column}, '$.${name}')`;
  }

  private filter(query: CheckedQuery): { sql: string; params: Param[] } {
    const clauses: string[] = [];
    const params: Param[] = [];
    // json_extract reads true as 1 and an object as text; json_type keeps each match to its own JSON type, as in MongoDB.
    for (const [field, value] of query.where) {
      clauses.push(`${this.field(field)} = ? AND ${this.type(field)} IN (?, ?)`);
      if (typeof value === 'boolean') params.push(Number(value), String(value), String(value));
      else params.push(value, ...(typeof value === 'number' ? NUMBER_TYPES : TEXT_TYPES));
    }
    if (query.range) {
      // Both bounds always bound (±Infinity when open): one statement shape per field.
      clauses.push(`${this.field(query.range.field)} BETWEEN ? AND ? AND ${this.type(query.range.field)} IN (?, ?)`);
      params.push(query.range.from ?? -Infinity, query.range.to ?? Infinity, ...NUMBER_TYPES);
    }
    return { sql: clauses.length ? ` WHERE ${clauses.join(' AND ')}` : '', params };
  }

  select<T>(columns: string, query: Query<T> | undefined): Row[] {
    const checked = checkQuery(this.collection, query);
    const { sql, params } = this.filter(checked);
    const order = checked.orderBy
      ? `${this.field(checked.orderBy.field)} ${checked.orderBy.direction.toUpperCase()}, id ${checked.orderBy.direction.toUpperCase()}`
      : 'id';
    const limit = checked.limit === undefined ? '' : ' LIMIT ?';
    if (checked.limit !== undefined) params.push(checked.limit);
    return this.statement(`SELECT ${columns} FROM ${this.table}${sql} ORDER BY ${order}${limit}`).all(...params) as Row[];
  }

  count<T>(query: Query<T> | undefined): number {
    const { sql, params } = this.filter(checkQuery(this.collection, query));
    return this.statement(`SELECT count(*) FROM ${this.table}${sql}`).pluck().get(...params) as number;
  }

  deleteMany<T>(query: Query<T>): Promise<number> {
    const { sql, params } = this.filter(checkQuery(this.collection, query, true));
    return this.commits.write(() => this.statement(`DELETE FROM ${this.table}${sql}`).run(...params).changes);
  }

  delete(id: string): Promise<boolean> {
    return this.commits.write(() => this.statement(`DELETE FROM ${this.table} WHERE id = ?`).run(id).changes === 1);
  }
}

/**
 * JSON keeps no NaN or Infinity (it would silently write null), so refuse them. Only text with a null in
 * it can hide one, so only that is stringified again with the (much slower) checking replacer.
 */
function toJson(collection: CollectionName, value: unknown): string {
  const json = JSON.stringify(value);
  if (!json.includes('null')) return json;
  return JSON.stringify(value, (key, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`${collection}: field "${key}" is ${v}; only finite numbers can be stored`);
    return v;
  });
}

class SqliteCollection<T extends { id: string }> implements Collection<T> {
  constructor(private readonly table: SqliteTable) {}

  async get(id: string): Promise<T | undefined> {
    const doc = this.table.statement(`SELECT doc FROM ${quote(this.table.collection)} WHERE id = ?`).pluck().get(id) as string | undefined;
    return doc === undefined ? undefined : (JSON.parse(doc) as T);
  }

  async put(doc: T): Promise<void> {
    checkRecord(this.table.collection, doc);
    const json = toJson(this.table.collection, doc);
    const upsert = this.table.statement(`INSERT INTO ${quote(this.table.collection)} (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`);
    await this.table.commits.write(() => upsert.run(doc.id, json));
  }

  async insert(doc: T): Promise<boolean> {
    checkRecord(this.table.collection, doc);
    const json = toJson(this.table.collection, doc);
    const insert = this.table.statement(`INSERT INTO ${quote(this.table.collection)} (id, doc) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`);
    return this.table.commits.write(() => insert.run(doc.id, json).changes === 1);
  }

  async replaceAtRevision(doc: T, revision: number): Promise<boolean> {
    checkRecord(this.table.collection, doc);
    const json = toJson(this.table.collection, doc);
    const update = this.table.statement(`UPDATE ${quote(this.table.collection)} SET doc = ? WHERE id = ? AND coalesce(json_extract(doc, '$.revision'), 0) = ?`);
    return this.table.commits.write(() => update.run(json, doc.id, revision).changes === 1);
  }

  async find(query?: Query<T>): Promise<T[]> {
    return this.table.select('doc', query).map((row) => JSON.parse(row.doc as string) as T);
  }

  async count(query?: Omit<Query<T>, 'orderBy' | 'limit'>): Promise<number> {
    return this.table.count(query);
  }

  async delete(id: string): Promise<boolean> {
    return this.table.delete(id);
  }

  async deleteMany(query: Omit<Query<T>, 'orderBy' | 'limit'>): Promise<number> {
    return this.table.deleteMany(query);
  }
}

/** Model metadata as JSON (indexed like a collection) beside the weights as a BLOB. */
class SqliteModelStore implements ModelStore {
  constructor(private readonly table: SqliteTable) {}

  async save(meta: ModelRecord, weights: Buffer): Promise<void> {
    checkRecord('models', meta);
    if (!Buffer.isBuffer(weights)) throw new Error(`models: weights of ${meta.id} must be a Buffer`);
    const json = toJson('models', meta);
    const upsert = this.table.statement('INSERT INTO models (id, meta, weights) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET meta = excluded.meta, weights = excluded.weights');
    await this.table.commits.write(() => upsert.run(meta.id, json, weights));
  }

  async load(id: string): Promise<StoredModel | undefined> {
    const row = this.table.statement('SELECT meta, weights FROM models WHERE id = ?').get(id) as { meta: string; weights: Buffer } | undefined;
    return row && { meta: JSON.parse(row.meta) as ModelRecord, weights: row.weights };
  }

  async list(query?: Query<ModelRecord>): Promise<ModelRecord[]> {
    return this.table.select('meta', query).map((row) => JSON.parse(row.meta as string) as ModelRecord);
  }

  async delete(id: string): Promise<boolean> {
    return this.table.delete(id);
  }
}

export class SqliteStore implements Store {
  readonly kind = 'embedded' as const;
  readonly alerts: Collection<AlertRecord>;
  readonly alertEvents: Collection<AlertEventRecord>;
  readonly incidents: Collection<IncidentRecord>;
  readonly deliveries: Collection<DeliveryRecord>;
  readonly runbookExecutions: Collection<RunbookExecutionRecord>;
  readonly runbookAudit: Collection<RunbookAuditRecord>;
  readonly silences: Collection<SilenceRecord>;
  readonly notifierState: Collection<NotifierStateRecord>;
  readonly processed: Collection<ProcessedRecord>;
  readonly models: ModelStore;

  private constructor(
    private readonly db: Database.Database,
    private readonly commits: GroupCommit,
    tables: Record<CollectionName, SqliteTable>,
  ) {
    this.alerts = new SqliteCollection(tables.alerts);
    this.alertEvents = new SqliteCollection(tables.alertEvents);
    this.incidents = new SqliteCollection(tables.incidents);
    this.deliveries = new SqliteCollection(tables.deliveries);
    this.runbookExecutions = new SqliteCollection(tables.runbookExecutions);
    this.runbookAudit = new SqliteCollection(tables.runbookAudit);
    this.silences = new SqliteCollection(tables.silences);
    this.notifierState = new SqliteCollection(tables.notifierState);
    this.processed = new SqliteCollection(tables.processed);
    this.models = new SqliteModelStore(tables.models);
  }

  /** Opens (creating it and its folder if needed) the store file at `path`; `:memory:` gives a private in-memory store. */
  static open(path: string): SqliteStore {
    let db: Database.Database;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      // Several processes may share one file (e.g. `vigil run --actors` on one machine): wait for a lock instead of failing.
      db = new Database(path, { timeout: 5_000 });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    } catch (err) {
      throw new Error(`embedded store: cannot open ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const commits = new GroupCommit(db);
      const tables = db.transaction(() => migrate(db, path, commits))();
      return new SqliteStore(db, commits, tables);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  async ping(): Promise<void> {
    if (!this.db.open) throw new Error('embedded store: closed');
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.commits.commit();
    this.db.close();
  }
}

/** Brings the file to SCHEMA_VERSION; tables and indexes follow INDEXES on every open, idempotently. */
function migrate(db: Database.Database, path: string, commits: GroupCommit): Record<CollectionName, SqliteTable> {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const current = (db.prepare('SELECT max(version) FROM schema_version').pluck().get() as number | null) ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new Error(`embedded store: ${path} has schema version ${current}, newer than this Vigil understands (${SCHEMA_VERSION}); upgrade Vigil`);
  }
  const tables = {} as Record<CollectionName, SqliteTable>;
  for (const collection of Object.keys(INDEXES) as CollectionName[]) {
    const isModels = collection === 'models';
    db.exec(
      isModels
        ? 'CREATE TABLE IF NOT EXISTS models (id TEXT PRIMARY KEY, meta TEXT NOT NULL, weights BLOB NOT NULL)'
        : `CREATE TABLE IF NOT EXISTS ${quote(collection)} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)`,
    );
    tables[collection] = new SqliteTable(db, collection, isModels ? 'meta' : 'doc', commits);
    tables[collection].syncIndexes();
  }
  if (current < SCHEMA_VERSION) {
    db.prepare('DELETE FROM schema_version').run();
    db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
  }
  return tables;
}
