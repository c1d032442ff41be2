import type { FastifyInstance } from 'fastify';
import type { VigilConfig } from '../../config/load.js';
import { IncidentError, Incidents, INCIDENT_STATES, type Incident } from '../../incidents/incidents.js';
import { createTopology, type Topology } from '../../noise/topology.js';
import type { Store } from '../../store/store.js';
import type { Principal } from '../auth.js';

const ListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: [...INCIDENT_STATES] },
    limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 200 },
  },
} as const;

const body = (required: string[], properties: Record<string, unknown>) => ({ type: 'object', additionalProperties: false, required, properties }) as const;
const Ids = { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', minLength: 1, maxLength: 256 } };

/**
 * Incidents: viewers read, responders work them (acknowledge, state, assignee, comments, merge,
 * split). Changes go straight to the store, conditional on the revision read (see Incidents), so the
 * correlator, which keeps open incidents cached, redoes its next write on the fresh copy instead of losing them.
 */
export function registerIncidentRoutes(api: FastifyInstance, deps: { store: Store; config(): VigilConfig; now?: () => number }): void {
  const now = deps.now ?? Date.now;
  let topology: { config: VigilConfig; topology: Topology } | undefined;
  const incidents = new Incidents({
    store: deps.store,
    topology: () => {
      const config = deps.config();
      if (topology?.config !== config) topology = { config, topology: createTopology(config.topology) };
      return topology.topology;
    },
    config: () => deps.config().incidents,
    // Workflow requests attach no new data.
    recentSamples: () => [],
    activeAlerts: () => [],
  });
  const by = (req: { principal?: Principal }) => (req.principal as Principal).name;
  /** Runs a workflow step; an IncidentError becomes its status with the message. */
  const step = async (reply: { code(n: number): { send(b: unknown): unknown } }, work: () => Promise<Incident | { from: Incident; to: Incident }>) => {
    try {
      const result = await work();
      return 'from' in result ? result : { incident: result };
    } catch (err) {
      if (!(err instanceof IncidentError)) throw err;
      return reply.code(err.status).send({ error: err.status === 404 ? 'not_found' : err.status === 409 ? 'conflict' : 'bad_request', message: err.message });
    }
  };

  api.get<{ Querystring: { state?: string; limit: number } }>('/api/v1/incidents', { config: { role: 'viewer' }, schema: { querystring: ListQuery } }, async (req) => {
    const list = (await deps.store.incidents.find({ ...(req.query.state ? { where: { state: req.query.state } } : {}), orderBy: { field: 'createdAt', direction: 'desc' }, limit: req.query.limit })) as Incident[];
    return { incidents: list };
  });

  api.get<{ Params: { id: string } }>('/api/v1/incidents/:id', { config: { role: 'viewer' } }, async (req, reply) => step(reply, () => incidents.get(req.params.id)));

  api.post<{ Params: { id: string } }>('/api/v1/incidents/:id/ack', { config: { role: 'responder' } }, async (req, reply) => step(reply, () => incidents.acknowledge(req.params.id, by(req), now())));

  api.post<{ Params: { id: string }; Body: { state: 'resolved' | 'closed' | 'open' } }>(
    '/api/v1/incidents/:id/state',
    { config: { role: 'responder' }, schema: { body: body(['state'], { state: { type: 'string', enum: ['resolved', 'closed', 'open'] } }) } },
    async (req, reply) => step(reply, () => incidents.setState(req.params.id, req.body.state, by(req), now())),
  );

  api.post<{ Params: { id: string }; Body: { text: string } }>(
    '/api/v1/incidents/:id/comment',
    { config: { role: 'responder' }, schema: { body: body(['text'], { text: { type: 'string', minLength: 1, maxLength: 8192 } }) } },
    async (req, reply) => step(reply, () => incidents.comment(req.params.id, by(req), req.body.text, now())),
  );

  api.post<{ Params: { id: string }; Body: { assignee: string } }>(
    '/api/v1/incidents/:id/assign',
    { config: { role: 'responder' }, schema: { body: body(['assignee'], { assignee: { type: 'string', minLength: 1, maxLength: 256 } }) } },
    async (req, reply) => step(reply, () => incidents.assign(req.params.id, by(req), req.body.assignee, now())),
  );

  api.post<{ Params: { id: string }; Body: { incidents: string[] } }>(
    '/api/v1/incidents/:id/merge',
    { config: { role: 'responder' }, schema: { body: body(['incidents'], { incidents: Ids }) } },
    async (req, reply) => step(reply, () => incidents.merge(req.params.id, req.body.incidents, by(req), now())),
  );

  api.post<{ Params: { id: string }; Body: { alerts: string[] } }>(
    '/api/v1/incidents/:id/split',
    { config: { role: 'responder' }, schema: { body: body(['alerts'], { alerts: Ids }) } },
    async (req, reply) => step(reply, () => incidents.split(req.params.id, req.body.alerts, by(req), now())),
  );
}
