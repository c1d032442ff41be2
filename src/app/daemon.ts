import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createApi } from '../api/server.js';
import type { TokenEntry } from '../api/auth.js';
import { runActor, systemClock, type ActorContext, type Clock, type RunningActor } from '../actors/actor.js';
import { createBus } from '../bus/bus.js';
import { sampleSubscribers } from './interest.js';
import type { InboxName } from '../bus/messages.js';
import { createTransport } from '../bus/create-transport.js';
import type { Transport } from '../bus/transport.js';
import { configPath, loadConfig, readSecret, type VigilConfig } from '../config/load.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { createStore } from '../store/create-store.js';
import type { Store } from '../store/store.js';
import { ACTOR_FACTORIES, AVAILABLE_ACTORS } from './actors.js';

export interface Shard {
  index: number;
  count: number;
}

export interface DaemonOptions {
  configFile: string;
  /** Actors this process runs; all available ones when omitted. */
  actors?: readonly InboxName[] | undefined;
  /** This process's share of each partitioned inbox: partitions p with p % count === index. */
  shard?: Shard | undefined;
  logger?: Logger;
  clock?: Clock;
  /** HTTP port overriding server.port. */
  port?: number | undefined;
  /** Listen for HTTP (default true). */
  listen?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface Daemon {
  config(): VigilConfig;
  readonly store: Store;
  readonly transport: Transport;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly api: FastifyInstance;
  /** `http://host:port` once listening. */
  readonly url: string | undefined;
  /** Re-reads the config file; an invalid file is rejected and the running config kept. */
  reload(): Promise<{ ok: true } | { ok: false; error: string }>;
  /** Stops HTTP, drains every actor's inbox, closes transport and store. Idempotent. */
  close(): Promise<void>;
}

export function ownedPartitions(total: number, shard: Shard | undefined): number[] {
  const all = Array.from({ length: total }, (_, p) => p);
  return shard ? all.filter((p) => p % shard.count === shard.index) : all;
}

/** Configured tokens; with none, the bootstrap admin token (generated once), so the API is never open. */
function resolveTokens(config: VigilConfig): TokenEntry[] {
  if (config.auth.tokens.length) return config.auth.tokens.map((t) => ({ name: t.name, role: t.role, token: readSecret(t.token, config.baseDir) }));
  const file = configPath(config, config.auth.bootstrap_token_file);
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  }
  return [{ name: 'bootstrap-admin', role: 'admin', token: readFileSync(file, 'utf8').trim() }];
}

/** The composition root: the only place that knows the concrete transport, store and actors. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const env = options.env ?? process.env;
  let config = loadConfig(options.configFile, env);
  let tokens = resolveTokens(config);
  const logger = options.logger ?? createLogger(config.log.level);
  const metrics = createMetrics();
  const clock = options.clock ?? systemClock;
  const names = options.actors ?? AVAILABLE_ACTORS;
  if (config.transport.kind === 'local' && options.actors && AVAILABLE_ACTORS.some((a) => !names.includes(a))) {
    throw new Error('running a subset of actors needs transport.kind: bullmq (the local transport lives inside one process)');
  }

  const store = await createStore(config.store, config.baseDir);
  const cleanups: (() => Promise<void>)[] = [() => store.close()];
  let transport: Transport;
  try {
    transport = await createTransport(config.transport, { journalPath: configPath(config, config.transport.journal_path), logger });
  } catch (err) {
    await store.close();
    throw err;
  }
  cleanups.unshift(() => transport.close());
  // Recomputed on reload; read on every publish.
  let sampleInboxes = sampleSubscribers(config);
  const bus = createBus(transport, { skip: (inbox, type) => type === 'samples' && !sampleInboxes.has(inbox) });
  const ctx: ActorContext = { bus, store, logger, metrics, clock, config: () => config };

  const running: RunningActor[] = [];
  const closeAll = async () => {
    // Every step runs even when one fails, so a broken store never keeps the queues open.
    for (const step of [() => api.close(), ...running.map((r) => () => r.close()), ...cleanups]) {
      try {
        await step();
      } catch (err) {
        logger.error({ err }, 'shutdown step failed');
      }
    }
  };

  const reload = async (): Promise<{ ok: true } | { ok: false; error: string }> => {
    try {
      const next = loadConfig(options.configFile, env);
      const nextTokens = resolveTokens(next);
      config = next;
      sampleInboxes = sampleSubscribers(next);
      tokens = nextTokens;
      for (const r of running) await r.actor.reload?.(next);
      metrics.configReloadSuccess.set(1);
      metrics.configReloadTime.set(Date.now() / 1000);
      logger.info({ file: options.configFile }, 'configuration reloaded');
      return { ok: true };
    } catch (err) {
      metrics.configReloadSuccess.set(0);
      logger.error({ err: { message: (err as Error).message } }, 'configuration reload rejected; the previous configuration stays in force');
      return { ok: false, error: (err as Error).message };
    }
  };

  const api = createApi({ logger, metrics, store, transport, bus, tokens: () => tokens, reload, config: () => config, now: () => clock.now() });
  try {
    for (const name of names) {
      const factory = ACTOR_FACTORIES[name];
      if (!factory) throw new Error(`actor ${name} is not available in this version (available: ${AVAILABLE_ACTORS.join(', ')})`);
      running.push(await runActor(factory(ctx), transport, ctx, { partitions: ownedPartitions(transport.partitions(name), options.shard) }));
    }
    metrics.configReloadSuccess.set(1);
    metrics.configReloadTime.set(Date.now() / 1000);
    let url: string | undefined;
    if (options.listen !== false) {
      url = await api.listen({ host: config.server.host, port: options.port ?? config.server.port });
      logger.info({ url, actors: names, transport: transport.kind, store: store.kind }, 'vigil is running');
    }
    let closing: Promise<void> | undefined;
    return {
      config: () => config,
      store,
      transport,
      metrics,
      logger,
      api,
      url,
      reload,
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
