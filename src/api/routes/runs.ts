import type { FastifyInstance } from 'fastify';
import { systemClock, type Clock } from '../../actors/actor.js';
import type { ExecutionRecord } from '../../actors/automation/automation.js';
import { downsizingCandidates } from '../../automation/recommendations.js';
import { REMEDIATION_STATES } from '../../automation/remediation.machine.js';
import { killSwitch, killSwitchRecord } from '../../automation/safety.js';
import { envelope } from '../../bus/messages.js';
import type { Bus } from '../../bus/bus.js';
import type { VigilConfig } from '../../config/load.js';
import type { RunbookAuditRecord, Store } from '../../store/store.js';

/** A run as the API shows it: everything but the machine's raw snapshot. */
export type RunView = { [K in keyof ExecutionRecord as string extends K ? never : K extends 'snapshot' ? never : K]: ExecutionRecord[K] };

const runView = ({ snapshot: _snapshot, ...fields }: ExecutionRecord): RunView => fields;

const ListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    runbook: { type: 'string', maxLength: 256 },
    state: { type: 'string', enum: REMEDIATION_STATES },
    limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 },
  },
} as const;

const DecisionBody = {
  type: 'object',
  additionalProperties: false,
  properties: { comment: { type: 'string', maxLength: 2_000 } },
} as const;

const KillSwitchBody = {
  type: 'object',
  additionalProperties: false,
  required: ['engaged'],
  properties: { engaged: { type: 'boolean' } },
} as const;

export interface RunRoutesDeps {
  store: Store;
  bus: Bus;
  clock?: Clock;
  /** The running config: the kill switch in config and Prometheus for recommendations. */
  config?(): VigilConfig;
}

/** Runbook runs and their audit (viewer), approvals (responder), the kill switch (admin), downsizing candidates (viewer). */
export function registerRunRoutes(api: FastifyInstance, deps: RunRoutesDeps): void {
  const clock = deps.clock ?? systemClock;

  api.get<{ Querystring: { runbook?: string; state?: string; limit: number } }>('/api/v1/runs', { config: { role: 'viewer' }, schema: { querystring: ListQuery } }, async (req) => {
    const where: Record<string, string> = {};
    if (req.query.runbook) where.runbook = req.query.runbook;
    if (req.query.state) where.state = req.query.state;
    const runs = await deps.store.runbookExecutions.find({ where, orderBy: { field: 'createdAt', direction: 'desc' }, limit: req.query.limit });
    return { runs: (runs as ExecutionRecord[]).map(runView) };
  });

  api.get<{ Params: { id: string } }>('/api/v1/runs/:id', { config: { role: 'viewer' } }, async (req, reply) => {
    const run = (await deps.store.runbookExecutions.get(req.params.id)) as ExecutionRecord | undefined;
    if (!run) return reply.code(404).send({ error: 'not_found', message: `no run ${req.params.id}` });
    const audit = (await deps.store.runbookAudit.find({ where: { executionId: run.id } })).sort((a: RunbookAuditRecord, b: RunbookAuditRecord) => (a.seq as number) - (b.seq as number));
    return { run: runView(run), audit };
  });

  for (const decision of ['approve', 'deny'] as const) {
    api.post<{ Params: { id: string }; Body: { comment?: string } }>(
      `/api/v1/runs/:id/${decision}`,
      { config: { role: 'responder' }, schema: { body: DecisionBody } },
      async (req, reply) => {
        const { id } = req.params;
        const run = await deps.store.runbookExecutions.get(id);
        if (!run) return reply.code(404).send({ error: 'not_found', message: `no run ${id}` });
        if (run.state !== 'awaiting_approval') return reply.code(409).send({ error: 'not_awaiting_approval', message: `run ${id} is ${run.state}, not awaiting approval` });
        const by = req.principal?.name ?? 'unknown';
        const now = clock.now();
        const payload = { executionId: id, by, ...(req.body?.comment ? { comment: req.body.comment } : {}) };
        await deps.bus.publish([envelope(`runbook.${decision}`, `runbook-${id}-${decision}-${now}`, payload, id, now)]);
        req.log.info({ executionId: id, by, decision }, 'runbook run decision sent');
        return reply.code(202).send({ status: decision === 'approve' ? 'approval sent' : 'denial sent', id });
      },
    );
  }

  api.get('/api/v1/automation/kill-switch', { config: { role: 'viewer' } }, async (_req, reply) => {
    if (!deps.config) return reply.code(503).send({ error: 'unavailable', message: 'no configuration' });
    return killSwitch(deps.config(), deps.store);
  });

  api.post<{ Body: { engaged: boolean } }>('/api/v1/automation/kill-switch', { config: { role: 'admin' }, schema: { body: KillSwitchBody } }, async (req, reply) => {
    const by = req.principal?.name ?? 'unknown';
    await deps.store.runbookAudit.put(killSwitchRecord(req.body.engaged, by, clock.now()));
    req.log.warn({ engaged: req.body.engaged, by }, 'automation kill switch toggled');
    const state = deps.config ? await killSwitch(deps.config(), deps.store) : { engaged: req.body.engaged, by };
    return reply.send(state);
  });

  api.get('/api/v1/recommendations', { config: { role: 'viewer' } }, async (_req, reply) => {
    if (!deps.config?.().automation.prometheus_url) return reply.code(409).send({ error: 'not_configured', message: 'set automation.prometheus_url to get recommendations' });
    try {
      return { recommendations: await downsizingCandidates(deps.config().automation) };
    } catch (err) {
      return reply.code(502).send({ error: 'prometheus', message: (err as Error).message });
    }
  });
}
