import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Bus } from '../bus/bus.js';
import { envelope, INBOXES } from '../bus/messages.js';
import type { Transport } from '../bus/transport.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/store.js';
import type { VigilConfig } from '../config/load.js';
import { createAuthenticator, requireRole, type TokenEntry } from './auth.js';
import { registerAlertRoutes } from './routes/alerts.js';
import { registerDeliveryRoutes } from './routes/deliveries.js';
import { registerRunRoutes } from './routes/runs.js';
import { registerModelRoutes } from './routes/models.js';
import { registerForecastRoutes } from './routes/forecasts.js';
import { registerIncidentRoutes } from './routes/incidents.js';
import { registerSilenceRoutes } from './routes/silences.js';
import { registerSampleRoutes } from './routes/samples.js';

export interface ApiDeps {
  logger: Logger;
  metrics: Metrics;
  store: Store;
  transport: Transport;
  bus: Bus;
  /** Current tokens; re-read after a config reload. */
  tokens(): readonly TokenEntry[];
  /** Reloads the config file; resolves with the error text when the new config was rejected. */
  reload(): Promise<{ ok: true } | { ok: false; error: string }>;
  /** The current configuration (noise-control routes, automation's kill switch and recommendations). */
  config(): VigilConfig;
  /** Wall-clock time; tests pass their own. */
  now?: () => number;
}

/** Probes and scrapes arrive every few seconds; logging them would drown the requests people make. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** The HTTP API as a Fastify instance (not listening): tests use `inject`, the daemon calls `listen`. */
export function createApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'api' }) as FastifyBaseLogger,
    bodyLimit: 16 * 1024 * 1024,
    logController: new LogController({ disableRequestLogging: (req) => QUIET_ROUTES.has(req.url.split('?')[0] ?? '') }),
  });
  const rejected = (reason: string) => deps.metrics.apiErrors.inc({ reason });

  app.setErrorHandler((err: { statusCode?: number; message: string; validation?: unknown }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, 'request failed');
    rejected(status >= 500 ? 'internal' : 'bad_request');
    return reply.code(status).send({ error: status >= 500 ? 'internal' : 'bad_request', message: status >= 500 ? 'internal error' : err.message });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not_found', message: 'no such route' }));

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const checks = await Promise.all(
      ([['transport', () => deps.transport.ping()], ['store', () => deps.store.ping()]] as const).map(async ([name, ping]) => {
        try {
          await ping();
          return [name, 'ok'] as const;
        } catch (err) {
          return [name, (err as Error).message] as const;
        }
      }),
    );
    const ready = checks.every(([, s]) => s === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(checks) });
  });

  app.get('/metrics', async (_req, reply) => {
    await Promise.all(
      INBOXES.map(async (inbox) => {
        try {
          deps.metrics.queueDepth.set({ actor: inbox }, await deps.transport.depth(inbox));
        } catch {
          // An unreachable transport shows in /readyz; the scrape still returns the other metrics.
        }
      }),
    );
    return reply.header('Content-Type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  // Rebuilt only when a reload hands over a new token list.
  let cached = { tokens: deps.tokens(), authenticate: createAuthenticator(deps.tokens()) };
  const currentAuth = () => {
    const tokens = deps.tokens();
    if (tokens !== cached.tokens) cached = { tokens, authenticate: createAuthenticator(tokens) };
    return cached.authenticate;
  };

  // Everything but health and metrics requires a token.
  app.register(async (api) => {
    api.addHook('onRequest', requireRole(currentAuth, rejected));
    registerAlertRoutes(api, deps);
    registerDeliveryRoutes(api, deps);
    registerRunRoutes(api, deps);
    registerModelRoutes(api, deps);
    registerForecastRoutes(api, deps);
    registerSilenceRoutes(api, deps);
    registerIncidentRoutes(api, deps);
    registerSampleRoutes(api, {
      publish: async (source, samples) => {
        await deps.bus.publish([envelope('samples.push', `push-${randomUUID()}`, { source, samples }, source)]);
      },
      metrics: deps.metrics,
    });
    api.post('/-/reload', { config: { role: 'admin' } }, async (_req, reply) => {
      const result = await deps.reload();
      return result.ok ? reply.send({ status: 'reloaded' }) : reply.code(400).send({ error: 'invalid_config', message: result.error });
    });
  });
  return app;
}
