import type { FastifyInstance } from 'fastify';
import type { Bus } from '../../bus/bus.js';
import { ALERT_MANAGER_GLOBAL_KEY, envelope } from '../../bus/messages.js';
import type { VigilConfig } from '../../config/load.js';
import { configSilences, makeSilence, silenceState, storedMatcherText, type SilenceState } from '../../noise/silences.js';
import { parseDuration } from '../../series/duration.js';
import type { SilenceRecord, Store } from '../../store/store.js';
import type { Principal } from '../auth.js';

const ListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { state: { type: 'string', enum: ['pending', 'active', 'expired'] } },
} as const;

const CreateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['matchers', 'comment'],
  properties: {
    matchers: { type: 'array', minItems: 1, maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 1024 } },
    startsAt: { type: 'string', format: 'date-time' },
    endsAt: { type: 'string', format: 'date-time' },
    duration: { type: 'string', pattern: '^(\\d+(\\.\\d+)?(ms|s|m|h|d|w|y))+$' },
    comment: { type: 'string', minLength: 1, maxLength: 4096 },
  },
} as const;

/** A silence as the API shows it: matchers as text, its state now, and where it was made. */
export interface SilenceView {
  id: string;
  matchers: string[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  state: SilenceState;
  source: 'api' | 'config';
}

const view = (s: SilenceRecord, now: number, source: SilenceView['source']): SilenceView => ({
  id: s.id,
  matchers: s.matchers.map(storedMatcherText),
  startsAt: new Date(s.startsAt).toISOString(),
  endsAt: new Date(s.endsAt).toISOString(),
  createdBy: s.createdBy,
  comment: s.comment,
  state: silenceState(s, now),
  source,
});

/**
 * Silences: anyone may list them, a responder may add or expire them. A change is stored, then announced
 * to the alert manager, which mutes or unmutes its alerts at once (and re-reads silences every tick).
 */
export function registerSilenceRoutes(api: FastifyInstance, deps: { store: Store; bus: Bus; config(): VigilConfig; now?: () => number }): void {
  const now = deps.now ?? Date.now;
  const announce = (silence: SilenceRecord, change: 'added' | 'expired', by: string, t: number) =>
    deps.bus.publish([envelope('silences.changed', `silence-${silence.id}-${change}`, { id: silence.id, change, by }, ALERT_MANAGER_GLOBAL_KEY, t)]);

  api.get<{ Querystring: { state?: SilenceState } }>('/api/v1/silences', { config: { role: 'viewer' }, schema: { querystring: ListQuery } }, async (req) => {
    const t = now();
    const stored = (await deps.store.silences.find({ orderBy: { field: 'startsAt', direction: 'desc' } })).map((s) => view(s, t, 'api'));
    const fromConfig = configSilences(deps.config().silences).map((s) => view(s, t, 'config'));
    return { silences: [...stored, ...fromConfig].filter((s) => !req.query.state || s.state === req.query.state) };
  });

  api.post<{ Body: { matchers: string[]; startsAt?: string; endsAt?: string; duration?: string; comment: string } }>(
    '/api/v1/silences',
    { config: { role: 'responder' }, schema: { body: CreateBody } },
    async (req, reply) => {
      const t = now();
      const { matchers, comment } = req.body;
      const startsAt = req.body.startsAt === undefined ? t : Date.parse(req.body.startsAt);
      if (req.body.endsAt !== undefined && req.body.duration !== undefined) return reply.code(400).send({ error: 'bad_request', message: 'give endsAt or duration, not both' });
      const endsAt = req.body.endsAt !== undefined ? Date.parse(req.body.endsAt) : req.body.duration !== undefined ? startsAt + parseDuration(req.body.duration) : undefined;
      if (endsAt === undefined) return reply.code(400).send({ error: 'bad_request', message: 'a silence needs endsAt or duration' });
      let silence: SilenceRecord;
      try {
        silence = makeSilence({ matchers, startsAt, endsAt, createdBy: (req.principal as Principal).name, comment }, t);
      } catch (err) {
        return reply.code(400).send({ error: 'bad_request', message: (err as Error).message });
      }
      await deps.store.silences.put(silence);
      await announce(silence, 'added', silence.createdBy, t);
      return reply.code(201).send({ silence: view(silence, t, 'api') });
    },
  );

  /** Expiring ends a silence now (a pending one never starts); it stays listed as expired. */
  api.post<{ Params: { id: string } }>('/api/v1/silences/:id/expire', { config: { role: 'responder' } }, async (req, reply) => {
    const t = now();
    if (req.params.id.startsWith('config-')) return reply.code(409).send({ error: 'from_config', message: `silence ${req.params.id} is written in the config file; remove it there` });
    const silence = await deps.store.silences.get(req.params.id);
    if (!silence) return reply.code(404).send({ error: 'not_found', message: `no silence ${req.params.id}` });
    const state = silenceState(silence, t);
    if (state === 'expired') return reply.code(409).send({ error: 'expired', message: `silence ${silence.id} has already expired` });
    const expired: SilenceRecord = { ...silence, ...(state === 'pending' ? { startsAt: t } : {}), endsAt: t, updatedAt: t };
    await deps.store.silences.put(expired);
    await announce(expired, 'expired', (req.principal as Principal).name, t);
    return { silence: view(expired, t, 'api') };
  });
}
