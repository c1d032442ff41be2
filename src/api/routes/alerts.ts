import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/store.js';

const ListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', maxLength: 64 },
    rule: { type: 'string', maxLength: 256 },
    limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 500 },
  },
} as const;

export function registerAlertRoutes(api: FastifyInstance, deps: { store: Store }): void {
  api.get<{ Querystring: { state?: string; rule?: string; limit: number } }>(
    '/api/v1/alerts',
    { config: { role: 'viewer' }, schema: { querystring: ListQuery } },
    async (req) => {
      const where: { state?: string; rule?: string } = {};
      if (req.query.state) where.state = req.query.state;
      if (req.query.rule) where.rule = req.query.rule;
      const alerts = await deps.store.alerts.find({ where, orderBy: { field: 'updatedAt', direction: 'desc' }, limit: req.query.limit });
      // The machine snapshot is internal state, not part of the API.
      return { alerts: alerts.map(({ snapshot: _snapshot, ...rest }) => rest) };
    },
  );

  api.get<{ Params: { id: string } }>('/api/v1/alerts/:id', { config: { role: 'viewer' } }, async (req, reply) => {
    const alert = await deps.store.alerts.get(req.params.id);
    if (!alert) return reply.code(404).send({ error: 'not_found', message: `no alert ${req.params.id}` });
    const history = await deps.store.alertEvents.find({ where: { alertId: alert.id }, orderBy: { field: 'at', direction: 'asc' } });
    const { snapshot: _snapshot, ...rest } = alert;
    return { alert: rest, history };
  });
}
