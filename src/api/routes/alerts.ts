import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Bus } from '../../bus/bus.js';
import { envelope } from '../../bus/messages.js';
import type { Principal } from '../auth.js';
import type { VigilConfig } from '../../config/load.js';
import { compileWindows, monitored } from '../../noise/windows.js';
import type { AlertRecord, Store } from '../../store/store.js';

/** Monitoring windows hide (never drop) alerts that began outside the hours their resources are watched. */
function withinMonitoring(config: VigilConfig): (alerts: AlertRecord[]) => AlertRecord[] {
  if (config.monitoring_windows.length === 0) return (alerts) => alerts;
  const windows = compileWindows(config.monitoring_windows, config.notifier.time_intervals);
  return (alerts) => alerts.filter((a) => monitored(windows, a.labels, a.activeAt ?? a.updatedAt));
}

/**
 * The newest `limit` alerts that `shown` keeps: asks the store for more (4x each time) until enough are
 * kept or there are no more, so hidden alerts do not eat into the page.
 */
async function firstShown(newest: (limit: number) => Promise<AlertRecord[]>, shown: (found: AlertRecord[]) => AlertRecord[], limit: number): Promise<AlertRecord[]> {
  for (let asked = limit; ; asked *= 4) {
    const found = await newest(asked);
    const kept = shown(found);
    if (kept.length >= limit || found.length < asked) return kept.slice(0, limit);
  }
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

const TextBody = (field: string, required: boolean) =>
  ({
    type: 'object',
    additionalProperties: false,
    ...(required ? { required: [field] } : {}),
    properties: { [field]: { type: 'string', minLength: 1, maxLength: 4096 } },
  }) as const;

const BulkBody = {
  type: 'object',
  additionalProperties: false,
  required: ['ids'],
  properties: {
    ids: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', maxLength: 64 } },
    comment: { type: 'string', maxLength: 1024 },
  },
} as const;

/** Which states each request applies to; the alert manager's machine has the last word. */
const ACCEPTS = {
  ack: ['firing'],
  resolve: ['firing', 'acknowledged', 'suppressed'],
} as const;

export function registerAlertRoutes(api: FastifyInstance, deps: { store: Store; bus: Bus; config?(): VigilConfig }): void {
  api.get<{ Querystring: { state?: string; rule?: string; limit: number; outside_monitoring: boolean } }>(
    '/api/v1/alerts',
    { config: { role: 'viewer' }, schema: { querystring: ListQuery } },
    async (req) => {
      const where: { state?: string; rule?: string } = {};
      if (req.query.state) where.state = req.query.state;
      if (req.query.rule) where.rule = req.query.rule;
      const newest = (limit: number) => deps.store.alerts.find({ where, orderBy: { field: 'updatedAt', direction: 'desc' }, limit });
      const config = deps.config?.();
      const alerts = req.query.outside_monitoring || !config ? await newest(req.query.limit) : await firstShown(newest, withinMonitoring(config), req.query.limit);
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

  /** Queues a person's request for the alert manager, keyed like the alert's samples and timers so it reaches the partition that owns it. */
  async function queue(alert: AlertRecord, by: string, request: { action: 'ack'; comment?: string } | { action: 'assign' | 'comment' | 'resolve'; text?: string }): Promise<void> {
    const key = alert.series ?? alert.id;
    const message =
      request.action === 'ack'
        ? envelope('alert.ack', `ack-${randomUUID()}`, { fingerprint: alert.id, by, ...(request.comment === undefined ? {} : { comment: request.comment }) }, key)
        : envelope('alert.workflow', `workflow-${randomUUID()}`, { fingerprint: alert.id, by, action: request.action, ...(request.text === undefined ? {} : { text: request.text }) }, key);
    await deps.bus.publish([message]);
  }

  const principal = (req: { principal?: unknown }) => (req.principal as Principal).name; // set by the role check before any handler runs
  const notFound = (id: string) => ({ error: 'not_found', message: `no alert ${id}` });

  /**
   * 202: the acknowledgement is queued for the alert manager, which owns the alert's state and records
   * it in the history. The state checked here can lag by one transition; the machine has the last word.
   */
  api.post<{ Params: { id: string }; Body: { comment?: string } | null | undefined }>(
    '/api/v1/alerts/:id/ack',
    { config: { role: 'responder' }, schema: { body: AckBody } },
    async (req, reply) => {
      const alert = await deps.store.alerts.get(req.params.id);
      if (!alert) return reply.code(404).send(notFound(req.params.id));
      if (alert.state !== 'firing') {
        return reply.code(409).send({ error: 'not_firing', message: `alert ${alert.id} is ${alert.state}; only a firing alert can be acknowledged`, state: alert.state });
      }
      const by = principal(req);
      const comment = req.body?.comment;
      await queue(alert, by, { action: 'ack', ...(comment === undefined ? {} : { comment }) });
      return reply.code(202).send({ status: 'accepted', fingerprint: alert.id, by });
    },
  );

  api.post<{ Params: { id: string }; Body: { comment?: string } | null | undefined }>(
    '/api/v1/alerts/:id/resolve',
    { config: { role: 'responder' }, schema: { body: AckBody } },
    async (req, reply) => {
      const alert = await deps.store.alerts.get(req.params.id);
      if (!alert) return reply.code(404).send(notFound(req.params.id));
      if (!(ACCEPTS.resolve as readonly string[]).includes(alert.state)) {
        return reply.code(409).send({ error: 'not_active', message: `alert ${alert.id} is ${alert.state}; only an active alert can be resolved`, state: alert.state });
      }
      const by = principal(req);
      const comment = req.body?.comment;
      await queue(alert, by, { action: 'resolve', ...(comment === undefined ? {} : { text: comment }) });
      return reply.code(202).send({ status: 'accepted', fingerprint: alert.id, by });
    },
  );

  api.post<{ Params: { id: string }; Body: { assignee: string } }>(
    '/api/v1/alerts/:id/assign',
    { config: { role: 'responder' }, schema: { body: TextBody('assignee', true) } },
    async (req, reply) => {
      const alert = await deps.store.alerts.get(req.params.id);
      if (!alert) return reply.code(404).send(notFound(req.params.id));
      const by = principal(req);
      await queue(alert, by, { action: 'assign', text: req.body.assignee });
      return reply.code(202).send({ status: 'accepted', fingerprint: alert.id, by, assignee: req.body.assignee });
    },
  );

  /** Comments are taken in any state, also after the alert closed. */
  api.post<{ Params: { id: string }; Body: { text: string } }>(
    '/api/v1/alerts/:id/comments',
    { config: { role: 'responder' }, schema: { body: TextBody('text', true) } },
    async (req, reply) => {
      const alert = await deps.store.alerts.get(req.params.id);
      if (!alert) return reply.code(404).send(notFound(req.params.id));
      const by = principal(req);
      await queue(alert, by, { action: 'comment', text: req.body.text });
      return reply.code(202).send({ status: 'accepted', fingerprint: alert.id, by });
    },
  );

  /** Bulk acknowledge or resolve: each alert is queued or skipped with the reason, in one answer. */
  for (const action of ['ack', 'resolve'] as const) {
    api.post<{ Body: { ids: string[]; comment?: string } }>(
      `/api/v1/alerts/bulk/${action}`,
      { config: { role: 'responder' }, schema: { body: BulkBody } },
      async (req, reply) => {
        const by = principal(req);
        const { comment } = req.body;
        const accepted: string[] = [];
        const skipped: { id: string; reason: string }[] = [];
        for (const id of new Set(req.body.ids)) {
          const alert = await deps.store.alerts.get(id);
          if (!alert) skipped.push({ id, reason: 'no such alert' });
          else if (!(ACCEPTS[action] as readonly string[]).includes(alert.state)) skipped.push({ id, reason: `alert is ${alert.state}` });
          else {
            await queue(alert, by, action === 'ack' ? { action, ...(comment === undefined ? {} : { comment }) } : { action, ...(comment === undefined ? {} : { text: comment }) });
            accepted.push(id);
          }
        }
        return reply.code(202).send({ status: 'accepted', by, accepted, skipped });
      },
    );
  }
}
