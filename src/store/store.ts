/**
 * Vigil's persistence: one interface, two adapters (embedded SQLite, MongoDB), one contract suite
 * (test/contract/store.contract.ts). Every record has a string `id`; collections declare which
 * fields can be queried so both adapters index them.
 */

export interface AlertRecord {
  /** The alert fingerprint: a hash of rule name and labels. */
  id: string;
  rule: string;
  /** The series the alert watches: with the rule, how samples find the alert, and its partition key. */
  series?: string;
  state: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value?: number;
  /** The alert machine's persisted XState snapshot. */
  snapshot: unknown;
  activeAt?: number;
  firedAt?: number;
  resolvedAt?: number;
  assignee?: string;
  updatedAt: number;
}

/** One transition in an alert's history. */
export interface AlertEventRecord {
  id: string;
  alertId: string;
  at: number;
  from: string;
  to: string;
  /** `system` or the user's name. */
  by: string;
  reason: string;
  /** Set for entries that are not state changes (from equals to): a comment or an assignment. */
  action?: 'comment' | 'assign';
}

export interface IncidentRecord {
  id: string;
  title: string;
  state: string;
  alertIds: string[];
  createdAt: number;
  updatedAt: number;
  [extra: string]: unknown;
}

export type DeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed' | 'dead';

/** A notification in the outbox: written before it is sent, updated after each attempt. */
export interface DeliveryRecord {
  id: string;
  receiver: string;
  channel: string;
  target: string;
  status: DeliveryStatus;
  payload: unknown;
  attempts: number;
  createdAt: number;
  updatedAt: number;
  nextAttemptAt?: number;
  deliveredAt?: number;
  latencyMs?: number;
  lastError?: string;
}

export interface RunbookExecutionRecord {
  id: string;
  runbook: string;
  state: string;
  snapshot: unknown;
  createdAt: number;
  updatedAt: number;
  [extra: string]: unknown;
}

/**
 * The audit trail of automation: one record per state change, step (arguments, output, exit status,
 * duration; secrets redacted) and kill-switch toggle. `executionId` is `-` for records about no run.
 */
export interface RunbookAuditRecord {
  id: string;
  executionId: string;
  kind: 'transition' | 'step' | 'verify' | 'kill_switch';
  at: number;
  [extra: string]: unknown;
}

export interface SilenceMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

export interface SilenceRecord {
  id: string;
  matchers: SilenceMatcher[];
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
  updatedAt: number;
}

/** Metadata of a trained model; its weights travel separately as bytes. */
export interface ModelRecord {
  id: string;
  seriesId: string;
  kind: string;
  version: number;
  createdAt: number;
  /** Normalisation, hyper-parameters, training window, quality figures: whatever the model needs. */
  params: Record<string, unknown>;
}

export interface StoredModel {
  meta: ModelRecord;
  weights: Buffer;
}

/**
 * Durable state of the notifier's workflows: aggregation groups, escalations, tickets, reports.
 * One collection told apart by `kind`, each workflow keeping its own fields.
 */
export interface NotifierStateRecord {
  id: string;
  kind: 'group' | 'escalation' | 'ticket' | 'report' | 'circuit';
  updatedAt: number;
  /** When the workflow next needs attention (epoch ms), if ever. */
  dueAt?: number;
  [extra: string]: unknown;
}

/** A record of a message handled once, for idempotent handlers. */
export interface ProcessedRecord {
  id: string;
  at: number;
}

export type Scalar = string | number | boolean;

export interface Query<T> {
  /** Equality on indexed fields. */
  where?: { [K in keyof T]?: Scalar };
  /** Inclusive range on one indexed numeric field. */
  range?: { field: keyof T & string; from?: number; to?: number };
  orderBy?: { field: keyof T & string; direction?: 'asc' | 'desc' };
  limit?: number;
}

export interface Collection<T extends { id: string }> {
  get(id: string): Promise<T | undefined>;
  /** Insert or replace. */
  put(doc: T): Promise<void>;
  /** Insert only if no record has this id; returns false when one did. */
  insert(doc: T): Promise<boolean>;
  /**
   * Replaces the stored record only while its `revision` field still equals `revision` (a record without
   * one counts as 0): optimistic concurrency for records that several writers change. Returns false when
   * there is no such record or another writer changed it first. The caller bumps `doc.revision`.
   */
  replaceAtRevision(doc: T, revision: number): Promise<boolean>;
  find(query?: Query<T>): Promise<T[]>;
  count(query?: Omit<Query<T>, 'orderBy' | 'limit'>): Promise<number>;
  delete(id: string): Promise<boolean>;
  /** Deletes every record matching a where and/or range (never "everything"), for retention and GC; returns how many. */
  deleteMany(query: Omit<Query<T>, 'orderBy' | 'limit'>): Promise<number>;
}

export interface ModelStore {
  save(meta: ModelRecord, weights: Buffer): Promise<void>;
  load(id: string): Promise<StoredModel | undefined>;
  list(query?: Query<ModelRecord>): Promise<ModelRecord[]>;
  delete(id: string): Promise<boolean>;
}

export interface Store {
  readonly kind: 'embedded' | 'mongodb';
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
  /** Throws when the backend is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The fields each collection can be queried by; both adapters index exactly these. */
export const INDEXES = {
  alerts: ['rule', 'state', 'updatedAt'],
  alertEvents: ['alertId', 'at'],
  incidents: ['state', 'createdAt', 'updatedAt'],
  deliveries: ['status', 'receiver', 'channel', 'createdAt', 'nextAttemptAt'],
  runbookExecutions: ['runbook', 'state', 'createdAt'],
  runbookAudit: ['executionId', 'kind', 'at'],
  silences: ['endsAt', 'startsAt'],
  notifierState: ['kind', 'updatedAt', 'dueAt'],
  processed: ['at'],
  models: ['seriesId', 'kind', 'createdAt'],
} as const satisfies Record<string, readonly string[]>;

export type CollectionName = keyof typeof INDEXES;

/** A query after checkQuery: only indexed fields, valid values, defaults filled in. */
export interface CheckedQuery {
  where: [field: string, value: Scalar][];
  range?: { field: string; from?: number; to?: number };
  orderBy?: { field: string; direction: 'asc' | 'desc' };
  limit?: number;
}

const QUERY_KEYS = new Set(['where', 'range', 'orderBy', 'limit']);

/**
 * Validates a query against the collection's indexed fields, so both adapters refuse the same bad input.
 * `forDelete` demands a where or range, so a forgotten filter cannot wipe a collection.
 */
export function checkQuery<T>(collection: CollectionName, query: Query<T> | undefined, forDelete = false): CheckedQuery {
  const fail = (message: string): never => {
    throw new Error(`${collection}: invalid query: ${message}`);
  };
  if (query === undefined && !forDelete) return { where: [] };
  if (typeof query !== 'object' || query === null || Array.isArray(query)) fail('must be an object');
  const loose = query as { where?: Record<string, unknown>; range?: Record<string, unknown>; orderBy?: Record<string, unknown>; limit?: unknown };
  for (const key of Object.keys(loose)) if (!QUERY_KEYS.has(key)) fail(`unknown key "${key}" (expected where, range, orderBy or limit)`);
  const indexed: readonly string[] = INDEXES[collection];
  const checkField = (where: string, field: unknown): string =>
    typeof field === 'string' && indexed.includes(field) ? field : fail(`${where} "${String(field)}" is not an indexed field (indexed: ${indexed.join(', ')})`);
  const checkBound = (name: string, value: unknown): number | undefined =>
    value === undefined || (typeof value === 'number' && Number.isFinite(value)) ? value : fail(`range.${name} must be a finite number`);

  const checked: CheckedQuery = { where: [] };
  for (const [field, value] of Object.entries(loose.where ?? {})) {
    if (value === undefined) continue;
    checkField('where field', field);
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) checked.where.push([field, value]);
    else fail(`where.${field} must be a string, a finite number or a boolean`);
  }
  if (loose.range) {
    const field = checkField('range field', loose.range.field);
    const from = checkBound('from', loose.range.from);
    const to = checkBound('to', loose.range.to);
    if (from === undefined && to === undefined) fail('range needs from, to or both');
    if (from !== undefined && to !== undefined && from > to) fail(`range.from (${from}) is after range.to (${to})`);
    checked.range = { field, from, to };
  }
  if (loose.orderBy) {
    const direction = loose.orderBy.direction ?? 'asc';
    if (direction !== 'asc' && direction !== 'desc') fail('orderBy.direction must be "asc" or "desc"');
    checked.orderBy = { field: checkField('orderBy field', loose.orderBy.field), direction: direction as 'asc' | 'desc' };
  }
  if (loose.limit !== undefined) {
    if (typeof loose.limit !== 'number' || !Number.isInteger(loose.limit) || loose.limit < 0) fail('limit must be a whole number >= 0');
    checked.limit = loose.limit as number;
  }
  if (forDelete && checked.where.length === 0 && !checked.range) fail('deleteMany needs a where or a range');
  return checked;
}

/** Refuses a record without a usable id, with a message naming the collection. */
export function checkRecord(collection: CollectionName, record: unknown): asserts record is { id: string } {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new Error(`${collection}: a record must be an object`);
  const { id } = record as { id?: unknown };
  if (typeof id !== 'string' || id === '') throw new Error(`${collection}: a record needs a non-empty string id`);
}
