import { afterEach, describe, expect, it } from 'vitest';
import type { RunbookTimer } from '../../src/bus/messages.js';
import { parseConfig } from '../../src/config/load.js';
import { makeSample } from '../../src/series/series.js';
import { cronOf, nextCronTime, TriggerSet } from '../../src/automation/triggers.js';
import { automationHarness, type AutomationHarness } from '../helpers/automation-harness.js';

const MINUTE = 60_000;
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

function triggersOf(trigger: string): TriggerSet {
  const config = parseConfig(`
automation: { command_allowlist: [/bin/true] }
runbooks:
  - name: rb
    trigger: ${trigger}
    steps: [{ name: s, kind: command, argv: [/bin/true] }]
`, '/tmp/vigil.yaml', {});
  return new TriggerSet(config.runbooks);
}

const alert = (labels: Record<string, string>, fingerprint = Object.values(labels).join('-')) => ({
  fingerprint,
  status: 'firing' as const,
  labels,
  annotations: {},
  startsAt: '2026-11-23T10:00:00.000Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: '',
  value: 91,
});

describe('cron triggers across DST (Europe/Berlin)', () => {
  it('02:30 daily: the spring-forward day runs at the first valid time (03:00 CEST), the fall-back day once', () => {
    const cron = cronOf('30 2 * * *', 'Europe/Berlin');
    const times = (from: string, n: number) => {
      const out: string[] = [];
      let t = Date.parse(from);
      for (let i = 0; i < n; i++) out.push(iso((t = nextCronTime(cron, t) as number)) as string);
      return out;
    };
    expect(times('2026-03-27T12:00:00Z', 3)).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
    expect(times('2026-10-23T12:00:00Z', 3)).toEqual(['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  let h: AutomationHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('the actor schedules ticks as durable messages and runs at 09:00 local on both sides of the change', async () => {
    h = automationHarness(
      () => `
runbooks:
  - name: morning
    trigger: { kind: cron, schedule: '0 9 * * *', time_zone: Europe/Berlin }
    steps: [{ name: hello, kind: notify, summary: good morning }]
`,
      Date.parse('2026-03-28T00:00:00Z'),
    );
    await h.actor.start?.();
    const tick = h.published.find((p) => p.message.type === 'runbook.timer');
    expect(tick?.message.payload as RunbookTimer).toMatchObject({ timer: 'cron', runbook: 'morning', deadline: Date.parse('2026-03-28T08:00:00Z') });
    await h.advanceTo(Date.parse('2026-03-30T12:00:00Z'));
    expect((await h.runs()).map((r) => iso(r.createdAt))).toEqual(['2026-03-28T08:00:00.000Z', '2026-03-29T07:00:00.000Z', '2026-03-30T07:00:00.000Z']);
    expect((await h.runs()).every((r) => r.state === 'succeeded')).toBe(true);
    // A redelivered tick makes no second run.
    await h.actor.handle(tick!.message);
    expect(await h.runs()).toHaveLength(3);
  });
});

describe('alert triggers', () => {
  it('fires when N distinct matching alerts fire within the window', () => {
    const t = triggersOf("{ kind: alert, matchers: ['job=\"web\"'], severities: [critical], count: 2, window: 5m }");
    expect(t.onAlert(alert({ job: 'web', severity: 'critical', instance: 'a' }), 0)).toEqual([]);
    expect(t.onAlert(alert({ job: 'web', severity: 'warning', instance: 'b' }), MINUTE)).toEqual([]);
    expect(t.onAlert(alert({ job: 'db', severity: 'critical', instance: 'c' }), MINUTE)).toEqual([]);
    // The same alert again does not count twice.
    expect(t.onAlert(alert({ job: 'web', severity: 'critical', instance: 'a' }), 2 * MINUTE)).toEqual([]);
    expect(t.onAlert(alert({ job: 'web', severity: 'critical', instance: 'd' }), 3 * MINUTE)).toEqual([
      expect.objectContaining({ runbook: 'rb', data: { labels: { job: 'web', severity: 'critical', instance: 'd' }, value: 91 } }),
    ]);
    // Too far apart: no count.
    expect(t.onAlert(alert({ job: 'web', severity: 'critical', instance: 'e' }), 10 * MINUTE)).toEqual([]);
    expect(t.onAlert(alert({ job: 'web', severity: 'critical', instance: 'f' }), 16 * MINUTE)).toEqual([]);
  });
});

describe('metric triggers', () => {
  it('fires once when the condition held for the duration, again only after it cleared', () => {
    const t = triggersOf("{ kind: metric, metric: cpu_percent, match: { role: web }, op: '>', value: 80, for: 5m }");
    const s = (v: number, at: number, host = 'a') => makeSample('cpu_percent', { role: 'web', host }, at * MINUTE, v);
    expect(t.onSamples([s(90, 0), s(95, 4)])).toEqual([]);
    expect(t.onSamples([s(99, 5)]).map((f) => [f.data.labels.host, f.data.value])).toEqual([['a', 99]]);
    expect(t.onSamples([s(99, 6)])).toEqual([]);
    expect(t.onSamples([s(10, 7), s(90, 8), s(90, 12)])).toEqual([]);
    expect(t.onSamples([s(90, 13)])).toHaveLength(1);
    expect(t.onSamples([makeSample('cpu_percent', { role: 'db' }, 0, 99), makeSample('mem', { role: 'web' }, 0, 99)])).toEqual([]);
  });
});

describe('metric trigger through the actor', () => {
  let h: AutomationHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('a series held above the value for the duration starts one run with its labels and value', async () => {
    h = automationHarness(() => `
runbooks:
  - name: hot
    trigger: { kind: metric, metric: cpu_percent, op: '>', value: 80, for: 2m }
    target: '{{ $labels.host }}'
    steps: [{ name: tell, kind: notify, summary: '{{ $labels.host }} at {{ $value }}%' }]
`);
    const batch = (minute: number, v: number) => h!.send('samples', { source: 'host', samples: [makeSample('cpu_percent', { host: 'a' }, minute * MINUTE, v), makeSample('mem', { host: 'a' }, minute * MINUTE, 99)] });
    for (const [m, v] of [[0, 90], [1, 95], [2, 97], [3, 99]] as const) await batch(m, v);
    const run = await h.run();
    expect(run).toMatchObject({ state: 'succeeded', target: 'a', data: { value: 97 } });
    expect(run.trigger.reason).toBe('cpu_percent > 80 for 2m (97)');
  });
});

describe('composite triggers', () => {
  it('any: either child fires', () => {
    const t = triggersOf("{ kind: any, triggers: [{ kind: alert, matchers: ['alertname=\"A\"'] }, { kind: metric, metric: m, op: '>', value: 1 }] }");
    expect(t.onAlert(alert({ alertname: 'A' }), 0)).toHaveLength(1);
    expect(t.onSamples([makeSample('m', {}, 0, 2)])).toHaveLength(1);
  });

  it('all: fires when the last child fires while the others fired within `within`', () => {
    const t = triggersOf("{ kind: all, within: 10m, triggers: [{ kind: alert, matchers: ['alertname=\"A\"'] }, { kind: alert, matchers: ['alertname=\"B\"'] }] }");
    expect(t.onAlert(alert({ alertname: 'A' }), 0)).toEqual([]);
    expect(t.onAlert(alert({ alertname: 'B' }), 5 * MINUTE)).toHaveLength(1);
    expect(t.onAlert(alert({ alertname: 'A' }, 'a2'), 30 * MINUTE)).toEqual([]);
    expect(t.onAlert(alert({ alertname: 'B' }, 'b2'), 45 * MINUTE)).toEqual([]);
  });

  it('all with a metric child: counts while the condition holds', () => {
    const t = triggersOf("{ kind: all, triggers: [{ kind: metric, metric: m, op: '>', value: 1 }, { kind: alert, matchers: ['alertname=\"A\"'] }] }");
    expect(t.onAlert(alert({ alertname: 'A' }), 0)).toEqual([]);
    expect(t.onSamples([makeSample('m', {}, MINUTE, 5)])).toHaveLength(1);
    expect(t.onSamples([makeSample('m', {}, 2 * MINUTE, 0)])).toEqual([]);
    expect(t.onAlert(alert({ alertname: 'A' }, 'a2'), 3 * MINUTE)).toEqual([]);
  });
});
