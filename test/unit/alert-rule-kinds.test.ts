import { afterEach, describe, expect, it } from 'vitest';
import { alertWorld, MINUTE, T0 } from './alert-world.js';

const HOUR = 60 * MINUTE;
const worlds: ReturnType<typeof alertWorld>[] = [];
function world(rules: string, extra = '') {
  const w = alertWorld(`alerting: { evaluation_interval: 1m, close_after: 1h }\n${extra}\nrules:\n${rules}`);
  worlds.push(w);
  return w;
}
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.store.close()));
});
const at = (minutes: number) => T0 + minutes * MINUTE;

describe('rule kinds: firing and resolving times on simulated time', () => {
  it('threshold with `for` and keep_firing_for', async () => {
    const w = world(`
  - { name: Hot, kind: threshold, metric: temp, op: ">", value: 80, for: 2m, keep_firing_for: 3m }`);
    await w.boot();
    for (const [m, v] of [[0, 85], [1, 86], [2, 87], [3, 70], [4, 70], [5, 70], [6, 70], [7, 70]] as const) await w.sample('temp', { room: 'a' }, v, at(m));
    expect(w.pages()).toEqual(['firing Hot@2', 'resolved Hot@6']);
  });

  it('threshold with N consecutive occurrences', async () => {
    const w = world(`
  - { name: Flapping, kind: threshold, metric: errors, op: ">", value: 0, occurrences: 3 }`);
    await w.boot();
    for (const [m, v] of [[0, 1], [1, 1], [2, 0], [3, 1], [4, 1], [5, 1], [6, 0]] as const) await w.sample('errors', {}, v, at(m));
    expect(w.pages()).toEqual(['firing Flapping@5', 'resolved Flapping@6']);
  });

  it('anomaly: fires on an anomalous verdict above the score and severity, resolves on normal', async () => {
    const w = world(`
  - { name: CpuAnomaly, kind: anomaly, metric: cpu, min_score: 0.9, min_severity: warning }`);
    await w.boot();
    await w.anomaly({ state: 'anomalous', score: 0.95, severity: 'info' }); // severity too low
    await w.advanceTo(at(1));
    await w.anomaly({ state: 'anomalous', score: 0.8, severity: 'critical' }); // score too low
    await w.advanceTo(at(2));
    await w.anomaly({ state: 'anomalous', score: 0.97, severity: 'critical' });
    await w.advanceTo(at(5));
    await w.anomaly({ state: 'normal', score: 0.1, severity: 'info' });
    expect(w.pages()).toEqual(['firing CpuAnomaly@2', 'resolved CpuAnomaly@5']);
  });

  it('predict: fires when the breach is expected within `within` with confidence, or at notify-by; says when, range and rate', async () => {
    const w = world(`
  - { name: DiskFullSoon, kind: predict, metric: disk, threshold: 95, direction: above, within: 6h, min_confidence: 0.8, annotations: { summary: "disk on {{ $labels.host }} fills" } }`);
    await w.boot();
    const base = { rule: 'DiskFullSoon', labels: { host: 'a' }, value: 80, threshold: 95, direction: 'above' as const, ratePerHour: 2 };
    await w.prediction({ ...base, breach: { at: at(8 * 60), earliest: at(7 * 60), latest: at(9 * 60) }, confidence: 0.9 }); // too far
    await w.advanceTo(at(10));
    await w.prediction({ ...base, breach: { at: at(5 * 60), earliest: at(4 * 60), latest: at(6 * 60) }, confidence: 0.5 }); // unsure
    await w.advanceTo(at(20));
    await w.prediction({ ...base, breach: { at: at(5 * 60), earliest: at(4 * 60), latest: at(6 * 60) }, confidence: 0.9 });
    await w.advanceTo(at(30));
    await w.prediction({ ...base, confidence: 0.1 });
    await w.advanceTo(at(40));
    await w.prediction({ ...base, breach: { at: at(20 * 60), earliest: at(19 * 60), latest: at(21 * 60) }, confidence: 0.9, notifyBy: at(40) });
    expect(w.pages()).toEqual(['firing DiskFullSoon@20', 'resolved DiskFullSoon@30', 'firing DiskFullSoon@40']);
    expect(w.notifies()[0]!.payload.alert.annotations).toEqual({
      summary: 'disk on a fills',
      predicted_at: new Date(at(300)).toISOString(),
      predicted_range: `${new Date(at(240)).toISOString()} .. ${new Date(at(360)).toISOString()}`,
      rate_per_hour: '2',
      confidence: '0.9',
    });
  });

  it('composite and across resources: the LB is down OR any of its app servers is down, per service', async () => {
    const w = world(`
  - { name: LbDown, kind: threshold, metric: lb_up, op: "==", value: 0 }
  - { name: AppDown, kind: threshold, metric: app_up, op: "==", value: 0 }
  - { name: ServiceDegraded, kind: composite, op: or, conditions: [LbDown, AppDown], on: [service] }
  - { name: BothDown, kind: composite, op: and, conditions: [LbDown, AppDown], on: [service] }`);
    await w.boot();
    await w.sample('lb_up', { service: 'shop', lb: 'lb1' }, 1, at(0));
    for (const app of ['a1', 'a2', 'a3']) await w.sample('app_up', { service: 'shop', app }, 1, at(0));
    await w.sample('app_up', { service: 'shop', app: 'a2' }, 0, at(1));
    await w.sample('lb_up', { service: 'shop', lb: 'lb1' }, 0, at(2));
    await w.sample('app_up', { service: 'shop', app: 'a2' }, 1, at(3));
    await w.sample('lb_up', { service: 'shop', lb: 'lb1' }, 1, at(4));
    const composite = w.pages().filter((p) => /ServiceDegraded|BothDown/.test(p));
    expect(composite).toEqual(['firing ServiceDegraded@1', 'firing BothDown@2', 'resolved BothDown@3', 'resolved ServiceDegraded@4']);
    expect(w.notifies().find((n) => n.payload.rule === 'ServiceDegraded')!.payload.alert.labels).toEqual({ alertname: 'ServiceDegraded', service: 'shop', severity: 'warning' });
  });

  it('not: fires while its condition does not hold', async () => {
    const w = world(`
  - { name: Running, kind: threshold, metric: job_running, op: "==", value: 1 }
  - { name: NotRunning, kind: composite, op: not, conditions: [Running], on: [job] }`);
    await w.boot();
    await w.sample('job_running', { job: 'etl' }, 1, at(0));
    await w.sample('job_running', { job: 'etl' }, 0, at(1));
    await w.sample('job_running', { job: 'etl' }, 1, at(2));
    expect(w.pages()).toEqual(['firing Running@0', 'firing NotRunning@1', 'resolved Running@1', 'resolved NotRunning@2', 'firing Running@2']);
  });

  it('expression across metrics: used memory above 80% of total, joined on host', async () => {
    const w = world(`
  - { name: MemoryHigh, kind: expression, metrics: { used: mem_used, total: mem_total }, on: [host], expr: used / total * 100, op: ">", value: 80 }`);
    await w.boot();
    await w.sample('mem_total', { host: 'a' }, 1000, at(0));
    await w.sample('mem_used', { host: 'a' }, 700, at(0));
    await w.sample('mem_used', { host: 'b' }, 900, at(1)); // no total for b: not judged
    await w.sample('mem_used', { host: 'a' }, 850, at(2));
    await w.sample('mem_total', { host: 'a' }, 2000, at(3));
    expect(w.pages()).toEqual(['firing MemoryHigh@2', 'resolved MemoryHigh@3']);
    expect(w.notifies()[0]!.payload.alert).toMatchObject({ labels: { host: 'a' }, value: 85 });
  });

  it('group aggregate: fewer than 80% of the pool up', async () => {
    const w = world(`
  - { name: PoolDegraded, kind: group, metric: up, group_by: [pool], aggregate: ratio_up, op: "<", value: 0.8 }`);
    await w.boot();
    for (const i of [1, 2, 3, 4, 5]) await w.sample('up', { pool: 'web', instance: `w${i}` }, 1, at(0));
    await w.sample('up', { pool: 'web', instance: 'w1' }, 0, at(1)); // 80%: not fewer
    await w.sample('up', { pool: 'web', instance: 'w2' }, 0, at(2)); // 60%
    await w.sample('up', { pool: 'web', instance: 'w1' }, 1, at(3));
    expect(w.pages()).toEqual(['firing PoolDegraded@2', 'resolved PoolDegraded@3']);
  });

  it('group aggregate: traffic 20% lower than the same hour last week', async () => {
    const w = world(`
  - { name: TrafficDrop, kind: group, metric: requests, group_by: [site], aggregate: sum, op: "<=", value: -0.2, compare_to: 7d }`, '');
    await w.boot();
    const week = 7 * 24 * HOUR;
    // Only samples matter here: the week's evaluation ticks are skipped.
    await w.sampleWithoutTicks('requests', { site: 's', pod: 'p1' }, 100, at(0));
    await w.sampleWithoutTicks('requests', { site: 's', pod: 'p1' }, 100, at(30));
    for (const [m, v] of [[0, 90], [10, 70], [70, 100]] as const) {
      const t = T0 + week + m * MINUTE;
      await w.sampleWithoutTicks('requests', { site: 's', pod: 'p1' }, v, t);
    }
    expect(w.pages().map((p) => p.replace(/@\d+/, ''))).toEqual(['firing TrafficDrop']);
    expect(w.notifies()[0]!.payload.alert.value).toBeCloseTo(-0.3);
  });

  it('outlier: one box of N unlike the others, judged on the tick', async () => {
    const w = world(`
  - { name: OddOneOut, kind: outlier, metric: latency, group_by: [cluster], max_z: 3.5 }`);
    await w.boot();
    const values = [100, 104, 98, 101, 99];
    for (const [i, v] of values.entries()) await w.sample('latency', { cluster: 'c', box: `b${i}` }, v, at(0));
    await w.advanceTo(at(2));
    await w.sample('latency', { cluster: 'c', box: 'b3' }, 400, at(2) + 1000);
    await w.advanceTo(at(4));
    await w.sample('latency', { cluster: 'c', box: 'b3' }, 102, at(4) + 1000);
    await w.advanceTo(at(6));
    expect(w.pages()).toEqual(['firing OddOneOut@3', 'resolved OddOneOut@5']);
    expect(w.notifies()[0]!.payload.alert.labels.box).toBe('b3');
  });

  it('absence: no sample for the period, and "did job A run in the last hour?"', async () => {
    const w = world(`
  - { name: NoHeartbeat, kind: absence, metric: heartbeat, match: { app: api }, absent_for: 5m }
  - { name: EtlDidNotRun, kind: absence, event: job.completed, match: { job: etl }, absent_for: 1h }`);
    await w.boot();
    await w.sample('heartbeat', { app: 'api' }, 1, at(1));
    await w.sample('heartbeat', { app: 'api' }, 1, at(3));
    await w.advanceTo(at(10));
    await w.sample('heartbeat', { app: 'api' }, 1, at(10));
    await w.advanceTo(at(50));
    await w.systemEvent({ kind: 'job.completed', labels: { job: 'etl' }, at: at(50) });
    await w.advanceTo(at(115));
    const pages = w.pages();
    // The job ran at 50 min, so the hour without it ends at 110 min.
    expect(pages.filter((p) => p.includes('Etl'))).toEqual(['firing EtlDidNotRun@110']);
    expect(pages.filter((p) => p.includes('Heartbeat')).slice(0, 3)).toEqual(['firing NoHeartbeat@8', 'resolved NoHeartbeat@10', 'firing NoHeartbeat@15']);
  });

  it('event count: more than 3 downtime events for one server within 24 h', async () => {
    const w = world(`
  - { name: FlakyServer, kind: event_count, event: host.down, group_by: [host], window: 24h, more_than: 3 }`);
    await w.boot();
    for (const h of [0, 6, 12]) {
      await w.advanceTo(at(h * 60));
      await w.systemEvent({ kind: 'host.down', labels: { host: 'db1' }, at: at(h * 60) });
    }
    await w.systemEvent({ kind: 'host.down', labels: { host: 'db2' }, at: at(12 * 60) });
    await w.advanceTo(at(18 * 60));
    await w.systemEvent({ kind: 'host.down', labels: { host: 'db1' }, at: at(18 * 60) });
    await w.advanceTo(at(25 * 60));
    expect(w.pages()).toEqual([`firing FlakyServer@${18 * 60}`, `resolved FlakyServer@${24 * 60}`]);
  });

  it('SLA: uptime below 99.9% over the window', async () => {
    const w = world(`
  - { name: SlaBreach, kind: sla, metric: up, window: 1d, objective: 99.9 }`, '');
    await w.boot();
    // A sample a minute, down for 2 minutes at 06:00 (2/1440 = 0.14% down).
    for (let m = 0; m <= 12 * 60; m += 1) await w.sampleWithoutTicks('up', { site: 'x' }, m === 360 || m === 361 ? 0 : 1, at(m));
    expect(w.pages()).toEqual(['firing SlaBreach@361']);
  });

  it('system events raise alerts and resolve once quiet', async () => {
    const w = world(`
  - { name: RunbookFailed, kind: system_event, event: runbook.*, min_severity: warning, resolve_after: 30m, annotations: { summary: "{{ $labels.runbook }} failed" } }`);
    await w.boot();
    await w.systemEvent({ kind: 'runbook.failed', labels: { runbook: 'restart-nginx' }, message: 'exit 1', at: at(0) });
    await w.systemEvent({ kind: 'model.training_failed', labels: {}, at: at(0) });
    await w.systemEvent({ kind: 'runbook.slow', severity: 'info', labels: {}, at: at(0) });
    await w.advanceTo(at(40));
    expect(w.pages()).toEqual(['firing RunbookFailed@0', 'resolved RunbookFailed@30']);
    expect(w.notifies()[0]!.payload.alert.annotations).toEqual({ message: 'exit 1', summary: 'restart-nginx failed' });
    expect(w.notifies()[0]!.payload.alert.labels).toMatchObject({ event: 'runbook.failed', source: 'automation', runbook: 'restart-nginx' });
  });

  it('time conditions: counts only inside business hours in the rule time zone', async () => {
    const w = world(
      `
  - { name: SlowCheckout, kind: threshold, metric: latency, op: ">", value: 1, active_time_intervals: [business_hours] }`,
      `notifier:
  time_intervals:
    - { name: business_hours, location: Europe/Berlin, weekdays: [monday, tuesday, wednesday, thursday, friday], times: [{ start: "09:00", end: "17:00" }] }`,
    );
    await w.boot();
    // T0 is Monday 12:00 UTC = 13:00 Berlin (UTC+1): the day ends at 16:00 UTC, Tuesday starts at 08:00 UTC.
    for (const m of [0, 4 * 60 + 1, 19 * 60 + 59, 20 * 60]) await w.sampleWithoutTicks('latency', {}, 2, at(m));
    expect(w.pages()).toEqual([`firing SlowCheckout@0`, `resolved SlowCheckout@${4 * 60 + 1}`, `firing SlowCheckout@${20 * 60}`]);
  });
});
