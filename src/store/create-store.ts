import { isAbsolute, resolve } from 'node:path';
import { readSecret } from '../config/load.js';
import type { StoreConfig } from '../config/schema.js';
import { SqliteStore } from './embedded/sqlite-store.js';
import { MongoStore } from './mongo/mongo-store.js';
import type { Store } from './store.js';

/** Opens the configured store: the embedded file (relative to `baseDir`, the config file's folder) or MongoDB. */
export async function createStore(config: StoreConfig, baseDir: string): Promise<Store> {
  if (config.kind === 'mongodb') {
    if (!config.mongodb_url) throw new Error('store.mongodb_url is required when store.kind is mongodb');
    return MongoStore.open({ url: readSecret(config.mongodb_url, baseDir), database: config.database });
  }
  const path = config.path === ':memory:' || isAbsolute(config.path) ? config.path : resolve(baseDir, config.path);
  return SqliteStore.open(path);
}
