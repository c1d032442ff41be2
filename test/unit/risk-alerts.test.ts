import { afterEach, describe, expect, it } from 'vitest';
import { RiskTracker } from '../../src/actors/predictive-analyzer/risk.js';
import { envelope, type AlertPayload } from '../../src/bus/messages.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { makeSample } from '../../src/series/series.js';
import { simulatedDeployment, type SimulatedDeployment } from '../simulator/deployment.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 4, 4, 9, 0);

const BASE = `
alerting: { evaluation_interval: 30s }
notifier:
  receivers: [{ name: log, kind: log }]
  default_receiver: log
forecast:
  risks:
    - name: HostSaturated
      conditions:
        - { metric: cpu, op: '>', value: 90 }
        - { metric: mem, op: '>', value: 90 }
      group_by: [host]
      for: 10m
      min_score: 1
      severity: critical
      labels: { team: infra }
`;

/**
 * The predictive analyzer's real risk tracker feeds the wired alert manager: each scrape's risk
 * events go out as one `risk` message, as the analyzer publishes them.
 */
describe('precursor risks raise and resolve alerts', () => {
  let world: SimulatedDeployment;
  afterEach(async () => world?.stop());

  let tracker: RiskTracker;
  let nextScrape = T0;
  async function start(config: string) {
    nextScrape = T0;
    world = simulatedDeployment(config, T0);
    tracker = new RiskTracker();
    tracker.configure(world.config.forecast.risks);
    await world.start();
  }
  /** Scrapes cpu and mem of both hosts every minute up to `to`. */
  async function scrapeUntil(to: number, saturated: (host: string, t: number) => boolean) {
    for (; nextScrape <= to; nextScrape += MINUTE) {
      const t = nextScrape;
      const samples = ['db', 'web'].flatMap((host) => ['cpu', 'mem'].map((m) => makeSample(m, { host }, t, saturated(host, t) ? 95 : 40)));
      await world.scrape(samples, t);
      const events = samples.flatMap((s) => tracker.observe(s));
      if (events.length) await world.deliver(envelope('risk', `risk-${t}`, { events }, 'test', t));
    }
  }
  const notifications = () => world.published.flatMap((m) => (m.type === 'alert.notify' ? [(m.payload as { alert: AlertPayload }).alert] : []));
  const dbSaturated = (host: string, t: number) => host === 'db' && t >= T0 + 5 * MINUTE && t < T0 + 30 * MINUTE;

  it('a risk no rule names alerts by default under its own name, with its severity, labels, score and reasons; its clearing resolves', async () => {
    await start(BASE);
    await scrapeUntil(T0 + 20 * MINUTE, dbSaturated);
    const [alert, ...others] = await world.store.alerts.find();
    expect(others).toEqual([]);
    expect(alert).toMatchObject({ rule: 'HostSaturated', state: 'firing', value: 1, labels: { alertname: 'HostSaturated', host: 'db', team: 'infra', severity: 'critical' } });
    expect(alert?.firedAt).toBe(T0 + 15 * MINUTE); // the pattern held for the risk's `for`
    expect(alert?.annotations).toEqual({
      score: '1.00',
      reasons: 'cpu{host="db"} > 90 (now 95)\nmem{host="db"} > 90 (now 95)',
      since: new Date(T0 + 5 * MINUTE).toISOString(),
    });
    expect(notifications().map((a) => `${a.status} ${a.labels.alertname} ${a.labels.host}`)).toEqual(['firing HostSaturated db']);

    await scrapeUntil(T0 + 40 * MINUTE, dbSaturated);
    expect((await world.store.alerts.find()).map((a) => [a.labels.host, a.state, a.resolvedAt])).toEqual([['db', 'resolved', T0 + 30 * MINUTE]]);
    const resolved = notifications().find((a) => a.status === 'resolved');
    expect(resolved?.annotations.reasons).toContain('cpu{host="db"} > 90');
  });

  it('a rule of kind risk names the alert and may set severity, labels and annotations; the risk then has no default alert', async () => {
    const config = `${BASE}
rules:
  - name: DbAtRisk
    kind: risk
    risk: HostSaturated
    severity: warning
    labels: { page: "no" }
    annotations: { summary: "{{ $labels.host }} is close to the pattern that preceded past outages" }
`;
    await start(config);
    await scrapeUntil(T0 + 20 * MINUTE, dbSaturated);
    const alerts = await world.store.alerts.find();
    expect(alerts.map((a) => a.labels)).toEqual([{ alertname: 'DbAtRisk', host: 'db', team: 'infra', severity: 'warning', page: 'no' }]);
    expect(alerts[0]?.annotations).toMatchObject({ score: '1.00', summary: 'db is close to the pattern that preceded past outages' });
  });
});

describe('risk rule config', () => {
  const problems = (text: string) => {
    try {
      parseConfig(text, '/etc/vigil/vigil.yaml', {});
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.problems.map((p) => `${p.path}: ${p.message}`);
    }
  };

  it('names a risk of forecast.risks', () => {
    expect(problems(`${BASE}\nrules: [{ name: R, kind: risk, risk: HostSaturated }]`)).toEqual([]);
    expect(problems(`${BASE}\nrules: [{ name: R, kind: risk, risk: NoSuchRisk }]`)).toEqual(['rules[0].risk: no risk named "NoSuchRisk" in forecast.risks']);
  });

  it('refuses a default risk alert whose name another rule has', () => {
    expect(problems(`${BASE}\nrules: [{ name: HostSaturated, kind: threshold, metric: cpu, op: '>', value: 1 }]`)).toEqual([
      'forecast.risks[0].name: risk "HostSaturated" alerts as a rule of that name, but a rule "HostSaturated" exists: add a rule of kind risk naming it',
    ]);
  });
});
