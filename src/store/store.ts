/**
 * Vigil's persistence: one interface, two adapters (embedded SQLite, MongoDB), one contract suite
 * (test/contract/store.contract.ts). Every record has a string `id`; collections declare which
 * fields can be queried so both adapters index them.
 */

export interface AlertRecord {
  /** The alert fingerprint: a hash of rule name and labels. */
  id: string;
  rule: string;
  state: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value?: number;
  /** The alert machine's persisted XState snapshot. */
  snapshot: unknown;
  activeAt?: number;
  firedAt?: number;
  resolvedAt?: number;
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

/** A record of a message handled once, for idempotent handlers. */
export interface ProcessedRecord {
  id: string;
  at: number;
}

type Scalar = string | number | boolean;

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
  find(query?: Query<T>): Promise<T[]>;
  count(query?: Omit<Query<T>, 'orderBy' | 'limit'>): Promise<number>;
  delete(id: string): Promise<boolean>;
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
  readonly silences: Collection<SilenceRecord>;
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
  silences: ['endsAt', 'startsAt'],
  processed: ['at'],
  models: ['seriesId', 'kind', 'createdAt'],
} as const satisfies Record<string, readonly string[]>;

export type CollectionName = keyof typeof INDEXES;
