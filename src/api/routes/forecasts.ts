import type { FastifyInstance } from 'fastify';
import { systemClock, type Clock } from '../../actors/actor.js';
import { listPredictions } from '../../actors/predictive-analyzer/forecast-store.js';
import type { PredictionEvent } from '../../bus/messages.js';
import { DURATION_PATTERN, parseDuration } from '../../series/duration.js';
import type { Store } from '../../store/store.js';

const ReportQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    horizon: { type: 'string', pattern: DURATION_PATTERN, default: '7d' },
  },
} as const;

/** A prediction whose breach is expected (it has a breach time). */
export type ForecastView = PredictionEvent & { breach: NonNullable<PredictionEvent['breach']> };

/** The capacity report: series predicted to cross their thresholds within the horizon, soonest first. */
export function capacityReport(predictions: readonly PredictionEvent[], now: number, horizon: number): ForecastView[] {
  return predictions
    .filter((p): p is ForecastView => p.breach !== undefined && p.breach.at <= now + horizon)
    .sort((a, b) => a.breach.at - b.breach.at || a.series.localeCompare(b.series));
}

export function registerForecastRoutes(api: FastifyInstance, deps: { store: Store; clock?: Clock }): void {
  const clock = deps.clock ?? systemClock;
  api.get<{ Querystring: { horizon: string } }>('/api/v1/forecasts', { config: { role: 'viewer' }, schema: { querystring: ReportQuery } }, async (req) => {
    const horizon = parseDuration(req.query.horizon);
    const now = clock.now();
    return { now, horizon: req.query.horizon, forecasts: capacityReport(await listPredictions(deps.store.models), now, horizon) };
  });
}
