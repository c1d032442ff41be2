import type { FastifyInstance } from 'fastify';
import { systemClock, type Clock } from '../../actors/actor.js';
import { notificationStatus, type Notification } from '../../actors/notifier/notify.js';
import { resend } from '../../actors/notifier/outbox.js';
import type { Bus } from '../../bus/bus.js';
import type { DeliveryRecord, DeliveryStatus, Store } from '../../store/store.js';

const STATUSES: readonly DeliveryStatus[] = ['pending', 'sending', 'delivered', 'failed', 'dead'];

const ListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: STATUSES },
    receiver: { type: 'string', maxLength: 256 },
    limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 },
  },
} as const;

/** One delivery as the log shows it: the outbox fields, and what was sent summed up instead of the raw payload. */
export interface DeliveryView extends Omit<DeliveryRecord, 'payload'> {
  notification: {
    rule: string;
    status: string;
    groupKey?: string;
    raisedAt: number;
    alertCount: number;
    /** `alertname{label="value", ...}` of up to the first few alerts. */
    alerts: string[];
    acknowledgedBy?: string;
    recipients?: string[];
  };
}

const ALERTS_SHOWN = 5;

function describeAlert(labels: Record<string, string>): string {
  const { alertname = '', ...rest } = labels;
  const pairs = Object.keys(rest).sort().map((k) => `${k}=${JSON.stringify(rest[k])}`);
  return pairs.length ? `${alertname}{${pairs.join(', ')}}` : alertname;
}

/**
 * Only the alerts' identities and a few fields leave the API: the payload is what the channel renders,
 * and the outbox never holds credentials, but the log should stay a log.
 */
export function deliveryView(record: DeliveryRecord): DeliveryView {
  const { payload, ...fields } = record;
  const n = payload as Partial<Notification> | undefined;
  const alerts = n?.alerts ?? [];
  return {
    ...fields,
    notification: {
      rule: n?.rule ?? '',
      status: notificationStatus(alerts),
      ...(n?.groupKey !== undefined && { groupKey: n.groupKey }),
      raisedAt: n?.raisedAt ?? record.createdAt,
      alertCount: alerts.length,
      alerts: alerts.slice(0, ALERTS_SHOWN).map((a) => describeAlert(a.labels)),
      ...(n?.acknowledged && { acknowledgedBy: n.acknowledged.by }),
      ...(n?.recipients?.length ? { recipients: n.recipients.map((r) => r.name) } : {}),
    },
  };
}

/** The delivery log (viewer) and re-sending dead letters (responder). */
export function registerDeliveryRoutes(api: FastifyInstance, deps: { store: Store; bus: Bus; clock?: Clock }): void {
  const clock = deps.clock ?? systemClock;

  api.get<{ Querystring: { status?: DeliveryStatus; receiver?: string; limit: number } }>(
    '/api/v1/deliveries',
    { config: { role: 'viewer' }, schema: { querystring: ListQuery } },
    async (req) => {
      const where: { status?: DeliveryStatus; receiver?: string } = {};
      if (req.query.status) where.status = req.query.status;
      if (req.query.receiver) where.receiver = req.query.receiver;
      const records = await deps.store.deliveries.find({ where, orderBy: { field: 'createdAt', direction: 'desc' }, limit: req.query.limit });
      return { deliveries: records.map(deliveryView) };
    },
  );

  api.get<{ Params: { id: string } }>('/api/v1/deliveries/:id', { config: { role: 'viewer' } }, async (req, reply) => {
    const record = await deps.store.deliveries.get(req.params.id);
    if (!record) return reply.code(404).send({ error: 'not_found', message: `no delivery ${req.params.id}` });
    return { delivery: deliveryView(record) };
  });

  api.post<{ Params: { id: string } }>('/api/v1/deliveries/:id/resend', { config: { role: 'responder' } }, async (req, reply) => {
    const { id } = req.params;
    const outcome = await resend({ store: deps.store, bus: deps.bus, clock }, id);
    if (outcome === 'not_found') return reply.code(404).send({ error: 'not_found', message: `no delivery ${id}` });
    if (outcome === 'not_dead') {
      const status = (await deps.store.deliveries.get(id))?.status;
      return reply.code(409).send({ error: 'not_dead', message: `delivery ${id} is ${status ?? 'not dead'}; only dead deliveries can be re-sent` });
    }
    req.log.info({ deliveryId: id, by: req.principal?.name }, 'dead delivery re-sent');
    // The notifier may already be sending it: follow it with GET /api/v1/deliveries/:id.
    return reply.code(202).send({ status: 'requeued', id });
  });
}
