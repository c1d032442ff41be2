import type { Incident } from '../../src/incidents/incidents.js';
import type { Scenario } from './scenario.js';
import { simulatedDeployment } from './deployment.js';

export interface ScenarioResult {
  failures: number;
  notifications: number;
  incidents: Incident[];
  /** Incidents whose root cause is the failing resource's own alert. */
  rightRootCause: number;
  /** Failures no incident names as its root cause. */
  missed: number;
}

/**
 * Plays a scenario through the alert manager and the notifier on simulated time and scores it:
 * notifications sent (outbox deliveries), incidents opened, and for each incident whether its root
 * cause is the expected alert of a failure that was under way when the incident opened.
 */
export async function runScenario(scenario: Scenario, onProgress?: (done: number, total: number) => void): Promise<ScenarioResult> {
  const deployment = simulatedDeployment(scenario.config, scenario.start);
  await deployment.start();
  try {
    const steps = Math.ceil((scenario.end - scenario.start) / scenario.scrapeMs);
    for (let i = 0; i <= steps; i++) {
      const t = scenario.start + i * scenario.scrapeMs;
      await deployment.scrape(scenario.samplesAt(t), t);
      if (onProgress && i % 100 === 0) onProgress(i, steps);
    }
    await deployment.runUntil(scenario.end + 60 * 60_000);
    onProgress?.(steps, steps);
    const incidents = (await deployment.store.incidents.find({ orderBy: { field: 'createdAt' } })) as Incident[];
    const deliveries = await deployment.store.deliveries.find();
    const margin = 5 * 60_000;
    const underWay = (i: Incident) => scenario.failures.filter((f) => i.members[0] !== undefined && i.members[0].at >= f.start - margin && i.members[0].at <= f.end + margin);
    const named = (i: Incident, f: (typeof scenario.failures)[number]) => {
      const expected = scenario.expectedRoot(f);
      return i.rootCause?.alertname === expected.alertname && i.rootCause.resource === expected.instance;
    };
    const rightRootCause = incidents.filter((i) => underWay(i).some((f) => named(i, f))).length;
    const missed = scenario.failures.filter((f) => !incidents.some((i) => named(i, f) && (i.members[0]?.at ?? 0) >= f.start - margin && (i.members[0]?.at ?? 0) <= f.end + margin)).length;
    return { failures: scenario.failures.length, notifications: deliveries.length, incidents, rightRootCause, missed };
  } finally {
    await deployment.stop();
  }
}
