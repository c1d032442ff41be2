import { finished } from 'node:stream/promises';
import { Binary, GridFSBucket, MongoClient, MongoServerError, type Collection as MongoCollection, type Db, type Filter, type ObjectId, type Sort } from 'mongodb';
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
 * The MongoDB store (official driver): one MongoDB collection per Store collection with `_id` = id and
 * an index per INDEXES field. Model weights live inside the model document as BSON Binary, or in a
 * GridFS bucket when larger than `gridfsThresholdBytes` (a document is capped at 16 MiB).
 */

export interface MongoStoreOptions {
  url: string;
  database: string;
  /** Weights larger than this go to GridFS. Default 8 MiB. */
  gridfsThresholdBytes?: number;
  /** How long to look for a reachable server before failing; otherwise the URL's setting or the driver's 30 s. */
  serverSelectionTimeoutMS?: number;
}

const DEFAULT_GRIDFS_THRESHOLD = 8 * 1024 * 1024;
/** Below the 16 MiB document cap, leaving room for the metadata. */
const MAX_INLINE_WEIGHTS = 15 * 1024 * 1024;
const WEIGHTS_BUCKET = 'modelWeights';
const INDEX_PREFIX = 'vigil_';
const DUPLICATE_KEY = 11000;

interface MongoDoc {
  _id: string;
  [field: string]: unknown;
}

interface MongoModelDoc {
  _id: string;
  meta: Omit<ModelRecord, 'id'>;
  weights?: Binary;
  weightsFile?: ObjectId;
}

/** The URL's password, plain and percent-decoded, so it can be scrubbed from any message. */
function passwordsOf(url: string): string[] {
  const password = /^[a-z+]+:\/\/[^:@/]*:([^@/]+)@/i.exec(url)?.[1];
  if (!password) return [];
  try {
    return [password, decodeURIComponent(password)];
  } catch {
    return [password];
  }
}

/** The URL with its password masked, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@/]+@/i, '$1***@');
}

function storeError(what: string, err: unknown, url: string): Error {
  let message = `mongodb store: ${what} (${redactUrl(url)}): ${(err as Error)?.message ?? String(err)}`;
  for (const secret of passwordsOf(url)) message = message.split(secret).join('***');
  return new Error(message);
}

/** Translates a checked query to a filter; `prefix` locates the fields inside the document. */
function toFilter(query: CheckedQuery, prefix: string): Filter<MongoDoc> {
  const filter: Record<string, Record<string, unknown>> = {};
  for (const [field, value] of query.where) filter[prefix + field] = { $eq: value };
  if (query.range) {
    const { field, from, to } = query.range;
    filter[prefix + field] = { ...filter[prefix + field], ...(from !== undefined && { $gte: from }), ...(to !== undefined && { $lte: to }) };
  }
  return filter as Filter<MongoDoc>;
}

/** Ordered by the asked field with ties broken by id, or by id alone, matching the embedded store. */
function toSort(query: CheckedQuery, prefix: string): Sort {
  if (!query.orderBy) return { _id: 1 };
  const direction = query.orderBy.direction === 'asc' ? 1 : -1;
  return { [prefix + query.orderBy.field]: direction, _id: direction };
}

/** Creates the indexes INDEXES asks for (idempotent) and drops ones of ours it no longer lists. */
async function syncIndexes(collection: MongoCollection<MongoDoc>, name: CollectionName, prefix: string): Promise<void> {
  const wanted = new Map<string, string>(INDEXES[name].map((field) => [`${INDEX_PREFIX}${field}`, prefix + field]));
  await collection.createIndexes([...wanted].map(([indexName, path]) => ({ key: { [path]: 1 }, name: indexName })));
  for (const index of await collection.listIndexes().toArray()) {
    const indexName = index.name as string;
    if (indexName.startsWith(INDEX_PREFIX) && !wanted.has(indexName)) await collection.dropIndex(indexName);
  }
}

class MongoStoreCollection<T extends { id: string }> implements Collection<T> {
  constructor(
    private readonly collection: MongoCollection<MongoDoc>,
    private readonly name: CollectionName,
  ) {}

  private static toDoc(record: { id: string }): MongoDoc {
    const { id, ...rest } = record;
    return { _id: id, ...rest };
  }

  private static fromDoc<T>(doc: MongoDoc): T {
    const { _id, ...rest } = doc;
    return { id: _id, ...rest } as T;
  }

  async get(id: string): Promise<T | undefined> {
    const doc = await this.collection.findOne({ _id: id });
    return doc ? MongoStoreCollection.fromDoc<T>(doc) : undefined;
  }

  async put(doc: T): Promise<void> {
    checkRecord(this.name, doc);
    await this.collection.replaceOne({ _id: doc.id }, MongoStoreCollection.toDoc(doc), { upsert: true });
  }

  async insert(doc: T): Promise<boolean> {
    checkRecord(this.name, doc);
    try {
      await this.collection.insertOne(MongoStoreCollection.toDoc(doc));
      return true;
    } catch (err) {
      if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) return false;
      throw err;
    }
  }

  async replaceAtRevision(doc: T, revision: number): Promise<boolean> {
    checkRecord(this.name, doc);
    const current = revision === 0 ? { $in: [0, null] } : revision; // null also matches a missing field
    const result = await this.collection.replaceOne({ _id: doc.id, revision: current }, MongoStoreCollection.toDoc(doc));
    return result.matchedCount === 1;
  }

  async find(query?: Query<T>): Promise<T[]> {
    const checked = checkQuery(this.name, query);
    // MongoDB reads limit 0 as "no limit".
    if (checked.limit === 0) return [];
    const docs = await this.collection.find(toFilter(checked, ''), { sort: toSort(checked, ''), ...(checked.limit !== undefined && { limit: checked.limit }) }).toArray();
    return docs.map((doc) => MongoStoreCollection.fromDoc<T>(doc));
  }

  async count(query?: Omit<Query<T>, 'orderBy' | 'limit'>): Promise<number> {
    return this.collection.countDocuments(toFilter(checkQuery(this.name, query), ''));
  }

  async delete(id: string): Promise<boolean> {
    return (await this.collection.deleteOne({ _id: id })).deletedCount === 1;
  }

  async deleteMany(query: Omit<Query<T>, 'orderBy' | 'limit'>): Promise<number> {
    return (await this.collection.deleteMany(toFilter(checkQuery(this.name, query, true), ''))).deletedCount;
  }
}

class MongoModelStore implements ModelStore {
  constructor(
    private readonly collection: MongoCollection<MongoModelDoc>,
    private readonly bucket: GridFSBucket,
    private readonly gridfsThreshold: number,
  ) {}

  async save(meta: ModelRecord, weights: Buffer): Promise<void> {
    checkRecord('models', meta);
    if (!Buffer.isBuffer(weights)) throw new Error(`models: weights of ${meta.id} must be a Buffer`);
    const { id, ...rest } = meta;
    let weightsFile: ObjectId | undefined;
    if (weights.length > this.gridfsThreshold) {
      // Upload first, then switch the document to it: a crash in between leaves the old version intact.
      const upload = this.bucket.openUploadStream(id, { metadata: { modelId: id } });
      upload.end(weights);
      await finished(upload);
      weightsFile = upload.id;
    }
    await this.collection.replaceOne({ _id: id }, { meta: rest, ...(weightsFile ? { weightsFile } : { weights: new Binary(weights) }) }, { upsert: true });
    await this.deleteFiles(id, weightsFile);
  }

  /** Deletes the model's GridFS files except `keep`: the previous version's and any a crash left behind. */
  private async deleteFiles(id: string, keep?: ObjectId): Promise<void> {
    for (const file of await this.bucket.find({ filename: id }, { projection: { _id: 1 } }).toArray()) {
      if (!keep?.equals(file._id)) await this.bucket.delete(file._id);
    }
  }

  async load(id: string): Promise<StoredModel | undefined> {
    const doc = await this.collection.findOne({ _id: id });
    if (!doc) return undefined;
    const meta = { id, ...doc.meta } as ModelRecord;
    if (doc.weightsFile) {
      const chunks: Buffer[] = [];
      for await (const chunk of this.bucket.openDownloadStream(doc.weightsFile)) chunks.push(chunk as Buffer);
      return { meta, weights: Buffer.concat(chunks) };
    }
    const bytes = doc.weights?.value() ?? new Uint8Array();
    return { meta, weights: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  }

  async list(query?: Query<ModelRecord>): Promise<ModelRecord[]> {
    const checked = checkQuery('models', query);
    if (checked.limit === 0) return [];
    const docs = await this.collection
      .find(toFilter(checked, 'meta.') as Filter<MongoModelDoc>, {
        sort: toSort(checked, 'meta.'),
        projection: { meta: 1 },
        ...(checked.limit !== undefined && { limit: checked.limit }),
      })
      .toArray();
    return docs.map((doc) => ({ id: doc._id, ...doc.meta }) as ModelRecord);
  }

  async delete(id: string): Promise<boolean> {
    const deleted = (await this.collection.deleteOne({ _id: id })).deletedCount === 1;
    await this.deleteFiles(id);
    return deleted;
  }
}

export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
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
    private readonly client: MongoClient,
    db: Db,
    private readonly url: string,
    gridfsThreshold: number,
  ) {
    const collection = <T extends { id: string }>(name: CollectionName) => new MongoStoreCollection<T>(db.collection<MongoDoc>(name), name);
    this.alerts = collection('alerts');
    this.alertEvents = collection('alertEvents');
    this.incidents = collection('incidents');
    this.deliveries = collection('deliveries');
    this.runbookExecutions = collection('runbookExecutions');
    this.runbookAudit = collection('runbookAudit');
    this.silences = collection('silences');
    this.notifierState = collection('notifierState');
    this.processed = collection('processed');
    this.models = new MongoModelStore(db.collection<MongoModelDoc>('models'), new GridFSBucket(db, { bucketName: WEIGHTS_BUCKET }), gridfsThreshold);
  }

  /** Connects, checks the server answers and creates the indexes. Errors name the store, never the password. */
  static async open(options: MongoStoreOptions): Promise<MongoStore> {
    const { url, database } = options;
    const threshold = options.gridfsThresholdBytes ?? DEFAULT_GRIDFS_THRESHOLD;
    if (!Number.isInteger(threshold) || threshold < 0 || threshold > MAX_INLINE_WEIGHTS) {
      throw new Error(`mongodb store: gridfsThresholdBytes must be a whole number from 0 to ${MAX_INLINE_WEIGHTS}`);
    }
    let client: MongoClient;
    try {
      // ignoreUndefined: an absent optional field stays absent rather than becoming null, as in the embedded store.
      client = new MongoClient(url, {
        ignoreUndefined: true,
        ...(options.serverSelectionTimeoutMS !== undefined && { serverSelectionTimeoutMS: options.serverSelectionTimeoutMS }),
      });
    } catch (err) {
      throw storeError('invalid mongodb_url', err, url);
    }
    try {
      await client.connect();
      const db = client.db(database);
      await db.command({ ping: 1 });
      for (const name of Object.keys(INDEXES) as CollectionName[]) {
        await syncIndexes(db.collection<MongoDoc>(name), name, name === 'models' ? 'meta.' : '');
      }
      return new MongoStore(client, db, url, threshold);
    } catch (err) {
      await client.close().catch(() => undefined);
      throw storeError(`cannot open database "${database}"`, err, url);
    }
  }

  async ping(): Promise<void> {
    try {
      await this.client.db('admin').command({ ping: 1 });
    } catch (err) {
      throw storeError('ping failed', err, this.url);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
