import { afterEach, describe, expect, it } from 'vitest';
import { sampleSubscribers } from '../../src/app/interest.js';
import { createBus } from '../../src/bus/bus.js';
import { LocalTransport } from '../../src/bus/local/local-transport.js';
import { envelope, riskKey, type AnomalyEvent, type InboxName, type Envelope, type PredictionEvent, type RiskEvent } from '../../src/bus/messages.js';
import { parseConfig } from '../../src/config/load.js';
import { makeSample, partitionOf, type Sample } from '../../src/series/series.js';
import { waitFor } from '../helpers/servers.js';

const T = 1_700_000_000_000;
const PARTITIONS = 2;
/** Enough hosts that both partitions own some of them. */
const HOSTS = ['a', 'b', 'c', 'd', 'e', 'f'];

const sampleOf = (host: string): Sample => makeSample('cpu', { host }, T, 50);
const anomalyOf = (host: string): AnomalyEvent => {
  const { series, name, labels, t, v } = sampleOf(host);
  return { state: 'anomalous', series, name, labels, t, value: v, score: 0.9, severity: 'warning', expected: { value: 10, lower: 5, upper: 15 }, detectors: { ensemble: 0.9 } };
};
const predictionOf = (host: string): PredictionEvent => {
  const { series, name, labels, t, v } = sampleOf(host);
  return { rule: 'DiskFull', series, name, labels, t, value: v, threshold: 90, direction: 'above', confidence: 0.9, ratePerHour: 1 };
};

const riskOf = (host: string): RiskEvent => ({ state: 'raised', rule: 'HostSaturated', labels: { host }, score: 1, reasons: [], since: T, t: T, severity: 'warning' });

/** The series (for risks: the resource's key) each delivered message's items concern. */
const seriesIn = (m: Envelope): string[] => {
  if (m.type === 'risk') return (m.payload as { events: RiskEvent[] }).events.map(riskKey);
  const p = m.payload as { samples?: Sample[]; events?: AnomalyEvent[]; predictions?: PredictionEvent[] };
  return [...(p.samples ?? []), ...(p.events ?? []), ...(p.predictions ?? [])].map((i) => i.series);
};

describe('bus on the local transport with two alert-manager partitions', () => {
  let transport: LocalTransport | undefined;
  afterEach(async () => transport?.close());

  it.each([
    ['samples', envelope('samples', 'm1', { source: 'test', samples: HOSTS.map(sampleOf) }, sampleOf('a').series, T)],
    ['anomaly', envelope('anomaly', 'm1', { events: HOSTS.map(anomalyOf) }, anomalyOf('a').series, T)],
    ['prediction', envelope('prediction', 'm1', { predictions: HOSTS.map(predictionOf) }, predictionOf('a').series, T)],
    ['risk', envelope('risk', 'm1', { events: HOSTS.map(riskOf) }, 'any', T)],
  ] as const)('splits a %s batch so every series reaches the partition that owns its alerts', async (_type, message) => {
    const expected = HOSTS.map((h) => (message.type === 'risk' ? riskKey(riskOf(h)) : sampleOf(h).series));
    expect(new Set(expected.map((s) => partitionOf(s, PARTITIONS))).size).toBe(PARTITIONS); // the batch really spans both partitions
    transport = new LocalTransport({ partitions: { 'alert-manager': PARTITIONS } });
    const delivered: { partition: number; series: string[]; type: string }[] = [];
    await transport.consume('alert-manager', async (m, ctx) => void delivered.push({ partition: ctx.partition, series: seriesIn(m), type: m.type }));
    await createBus(transport).publish([message]);
    await waitFor('both parts delivered', async () => delivered.flatMap((d) => d.series).length >= HOSTS.length || undefined, 5_000, 5);
    expect(delivered.map((d) => d.type)).toEqual([message.type, message.type]);
    for (const d of delivered) for (const series of d.series) expect(partitionOf(series, PARTITIONS), series).toBe(d.partition);
    expect(delivered.flatMap((d) => d.series).sort()).toEqual(expected.sort());
  });
});

describe('samples reach only the actors the config gives something to watch', () => {
  let transport: LocalTransport | undefined;
  afterEach(async () => transport?.close());

  const subscribersOf = (yaml: string) => [...sampleSubscribers(parseConfig(yaml, '/etc/vigil/vigil.yaml', {}))].sort();

  it('derives the sample subscribers from anomaly, predict rules, risks and metric-triggered runbooks', () => {
    expect(subscribersOf('anomaly: { enabled: false }\n')).toEqual(['alert-manager']);
    expect(subscribersOf('{}\n')).toEqual(['alert-manager', 'anomaly-detector']);
    expect(subscribersOf('anomaly: { enabled: false }\nrules: [{ name: DiskFull, kind: predict, metric: disk, threshold: 90 }]\n')).toEqual(['alert-manager', 'predictive-analyzer']);
    expect(
      subscribersOf(`anomaly: { enabled: false }
runbooks:
  - name: scale
    trigger: { kind: any, triggers: [{ kind: cron, schedule: "0 3 * * *" }, { kind: metric, metric: cpu, op: '>', value: 80, for: 5m }] }
    steps: [{ name: up, kind: command, argv: [/bin/true] }]
automation: { command_allowlist: [/bin/true] }
`),
    ).toEqual(['alert-manager', 'automation']);
  });

  it("the bus leaves skipped inboxes out of a type's route and still delivers to the rest", async () => {
    transport = new LocalTransport({ partitions: {} });
    const got: InboxName[] = [];
    for (const inbox of ['alert-manager', 'anomaly-detector'] as const) await transport.consume(inbox, async () => void got.push(inbox));
    const bus = createBus(transport, { skip: (inbox, type) => type === 'samples' && inbox === 'anomaly-detector' });
    await bus.publish([envelope('samples', 's1', { source: 'test', samples: [sampleOf('a')] }, sampleOf('a').series, T)]);
    await bus.publish([envelope('anomaly', 'a1', { events: [anomalyOf('a')] }, anomalyOf('a').series, T)]);
    await waitFor('both messages delivered', async () => (got.length >= 2 ? true : undefined), 5_000, 5);
    expect(got.sort()).toEqual(['alert-manager', 'alert-manager']);
  });
});
