import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Bus } from '../../bus/bus.js';
import { envelope } from '../../bus/messages.js';
import type { Principal } from '../auth.js';
import type { VigilConfig } from '../../config/load.js';
import { compileWindows, monitored } from '../../noise/windows.js';
import type { AlertRecord, Store } from '../../store/store.js';

/** Monitoring windows hide (never drop) alerts that began outside the hours their resources are watched. */
function withinMonitoring(alerts: AlertRecord[], config: VigilConfig): AlertRecord[] {
  if (config.monitoring_windows.length === 0) return alerts;
  const windows = compileWindows(config.monitoring_windows, config.notifier.time_intervals);
  return alerts.filter((a) => monitored(windows, a.labels, a.activeAt ?? a.updatedAt));
}

const ListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', maxLength: 64 },
    rule: { type: 'string', maxLength: 256 },
    limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 500 },
    outside_monitoring: { type: 'boolean', default: false, description: 'Also list alerts that began outside their monitoring windows.' },
  },
} as const;

const AckBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { comment: { type: 'string', maxLength: 1024 } },
} as const;

export function registerAlertRoutes(api: FastifyInstance, deps: { store: Store; bus: Bus; config?(): VigilConfig }): void {
  api.get<{ Querystring: { state?: string; rule?: string; limit: number; outside_monitoring: boolean } }>(
    '/api/v1/alerts',
    { config: { role: 'viewer' }, schema: { querystring: ListQuery } },
    async (req) => {
      const where: { state?: string; rule?: string } = {};
      if (req.query.state) where.state = req.query.state;
      if (req.query.rule) where.rule = req.query.rule;
      const found = await deps.store.alerts.find({ where, orderBy: { field: 'updatedAt', direction: 'desc' }, limit: req.query.limit });
      const alerts = req.query.outside_monitoring || !deps.config ? found : withinMonitoring(found, deps.config());
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

  /**
   * 202: the acknowledgement is queued for the alert manager, which owns the alert's state and records
   * it in the history. The state checked here can lag by one transition; the machine has the last word.
   */
  api.post<{ Params: { id: string }; Body: { comment?: string } | null | undefined }>(
    '/api/v1/alerts/:id/ack',
    { config: { role: 'responder' }, schema: { body: AckBody } },
    async (req, reply) => {
      const alert = await deps.store.alerts.get(req.params.id);
      if (!alert) return reply.code(404).send({ error: 'not_found', message: `no alert ${req.params.id}` });
      if (alert.state !== 'firing') {
        return reply.code(409).send({ error: 'not_firing', message: `alert ${alert.id} is ${alert.state}; only a firing alert can be acknowledged`, state: alert.state });
      }
      const by = (req.principal as Principal).name; // set by the role check before any handler runs
      const comment = req.body?.comment;
      // Keyed like the alert's samples and timers, so it reaches the partition that owns the alert.
      const ack = envelope('alert.ack', `ack-${randomUUID()}`, { fingerprint: alert.id, by, ...(comment === undefined ? {} : { comment }) }, alert.series ?? alert.id);
      await deps.bus.publish([ack]);
      return reply.code(202).send({ status: 'accepted', fingerprint: alert.id, by });
    },
  );
}
