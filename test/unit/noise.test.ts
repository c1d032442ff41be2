import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { makeSilence, silenceState, storedMatcherText } from '../../src/noise/silences.js';
import { NoiseControl } from '../../src/noise/suppressor.js';
import { compileWindows, monitored } from '../../src/noise/windows.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

const CONFIG = `
notifier:
  receivers: [{ name: log, kind: log }]
  default_receiver: log
  time_intervals:
    - { name: sunday-night, location: Europe/Berlin, weekdays: [sunday], times: [{ start: '01:00', end: '04:00' }] }
    - { name: office, location: Europe/Berlin, weekdays: [monday, tuesday, wednesday, thursday, friday], times: [{ start: '08:00', end: '16:00' }] }
maintenance_windows:
  - { name: db-patching, matchers: ['instance=~"db-.*"'], schedule: [sunday-night] }
monitoring_windows:
  - { name: test-box-hours, matchers: ['env="test"'], schedule: [office] }
silences:
  - { matchers: ['alertname="Noisy"'], starts_at: '2026-03-29T00:30:00Z', ends_at: '2026-03-29T02:30:00Z', comment: 'known flapper', created_by: ops }
topology:
  label: instance
  nodes:
    - { name: host-1, kind: host }
    - { name: lb-1, kind: load_balancer }
    - { name: db-1, kind: database, parent: host-1 }
    - { name: app-1, kind: app_server, parent: host-1, depends_on: [lb-1, db-1] }
    - { name: app-2, kind: app_server, depends_on: [lb-1] }
inhibit_rules:
  - name: dependency
    source_matchers: ['severity="critical"']
    target_matchers: ['severity=~"warning|critical"']
    along_topology: true
  - name: cluster-down
    source_matchers: ['alertname="ClusterDown"']
    target_matchers: ['alertname="NodeDown"']
    equal: [cluster]
`;

const config = (text = CONFIG) => parseConfig(text, '/etc/vigil/vigil.yaml', {});

describe('maintenance windows across DST (Europe/Berlin)', () => {
  const noise = new NoiseControl(config());
  const db = { alertname: 'DbSlow', instance: 'db-1', severity: 'warning' };

  it('suppresses inside the window on the wall clock, on the day clocks go forward', () => {
    // 2026-03-29: 01:00 CET is 00:00 UTC, 04:00 CEST is 02:00 UTC.
    expect(noise.check(db, Date.parse('2026-03-28T23:59:00Z'))).toBeUndefined();
    expect(noise.check(db, Date.parse('2026-03-29T00:00:00Z'))).toEqual({ by: 'maintenance:db-patching', reason: 'inside maintenance window db-patching' });
    expect(noise.check(db, Date.parse('2026-03-29T01:59:00Z'))?.by).toBe('maintenance:db-patching');
    expect(noise.check(db, Date.parse('2026-03-29T02:00:00Z'))).toBeUndefined();
    expect(noise.check({ ...db, instance: 'app-1' }, Date.parse('2026-03-29T01:00:00Z'))).toBeUndefined();
  });

  it('leaves the window out of SLA time: 3 h on a normal Sunday, 2 h when clocks go forward, 4 h when they go back', () => {
    const weekend = (saturday: string) => noise.maintenanceCoverage(db, Date.parse(`${saturday}T00:00:00Z`), Date.parse(`${saturday}T00:00:00Z`) + 2 * 24 * HOUR);
    expect(weekend('2026-03-21')).toBe(3 * HOUR);
    expect(weekend('2026-03-28')).toBe(2 * HOUR);
    expect(weekend('2026-10-24')).toBe(4 * HOUR);
    // A part of the window, and labels it does not cover.
    expect(noise.maintenanceCoverage(db, Date.parse('2026-03-29T01:30:00Z'), Date.parse('2026-03-29T05:00:00Z'))).toBe(30 * MINUTE);
    expect(noise.maintenanceCoverage({ instance: 'app-1' }, Date.parse('2026-03-28T00:00:00Z'), Date.parse('2026-03-30T00:00:00Z'))).toBe(0);
  });
});

describe('silences', () => {
  it('mute matching alerts between their instants, whatever the wall clock does (DST night)', () => {
    const noise = new NoiseControl(config());
    const noisy = { alertname: 'Noisy', instance: 'x' };
    expect(noise.check(noisy, Date.parse('2026-03-29T00:29:00Z'))).toBeUndefined();
    expect(noise.check(noisy, Date.parse('2026-03-29T01:59:00Z'))).toEqual({ by: 'silence:config-0', reason: 'silenced by ops: known flapper' });
    expect(noise.check(noisy, Date.parse('2026-03-29T02:30:00Z'))).toBeUndefined();
  });

  it('from the store take effect with every matcher operator, and go pending → active → expired', () => {
    const noise = new NoiseControl(config());
    const t0 = Date.parse('2026-05-01T10:00:00Z');
    const s = makeSilence({ matchers: ['alertname="Disk"', 'instance!="db-1"', 'env=~"prod|stage"', 'team!~"db.*"'], startsAt: t0, endsAt: t0 + HOUR, createdBy: 'ann', comment: 'resizing' }, t0, 's1');
    expect(s.matchers.map(storedMatcherText)).toEqual(['alertname="Disk"', 'instance!="db-1"', 'env=~"prod|stage"', 'team!~"db.*"']);
    noise.setSilences([s]);
    const labels = { alertname: 'Disk', instance: 'app-1', env: 'prod' };
    expect(noise.check(labels, t0 - 1)).toBeUndefined();
    expect(noise.check(labels, t0)?.by).toBe('silence:s1');
    expect(noise.check({ ...labels, instance: 'db-1' }, t0)).toBeUndefined();
    expect(noise.check({ ...labels, env: 'dev' }, t0)).toBeUndefined();
    expect(noise.check({ ...labels, team: 'ops' }, t0)?.by).toBe('silence:s1');
    expect(noise.check({ ...labels, team: 'dba' }, t0)).toBeUndefined();
    expect([t0 - 1, t0, t0 + HOUR].map((t) => silenceState(s, t))).toEqual(['pending', 'active', 'expired']);
  });

  it('refuse what would go wrong: no matchers, a match-all matcher, end before start, no comment, a bad regex', () => {
    const base = { matchers: ['a="b"'], startsAt: 0, endsAt: 1, createdBy: 'x', comment: 'c' };
    expect(() => makeSilence({ ...base, matchers: [] }, 0)).toThrow(/at least one matcher/);
    expect(() => makeSilence({ ...base, matchers: ['a=~".*"'] }, 0)).toThrow(/without any labels/);
    expect(() => makeSilence({ ...base, endsAt: 0 }, 0)).toThrow(/end must be after/);
    expect(() => makeSilence({ ...base, comment: ' ' }, 0)).toThrow(/comment/);
    expect(() => makeSilence({ ...base, matchers: ['a=~"("'] }, 0)).toThrow(/invalid regex/);
  });
});

describe('inhibition', () => {
  const at = Date.parse('2026-05-04T10:00:00Z');
  const lbDown = { fingerprint: 'lb', labels: { alertname: 'LoadBalancerDown', instance: 'lb-1', severity: 'critical' }, suppressed: false };

  it('along the topology: the load balancer mutes its app servers, not unrelated resources, and never itself', () => {
    const noise = new NoiseControl(config());
    const traffic = { alertname: 'LowTraffic', instance: 'app-2', severity: 'warning' };
    expect(noise.check(traffic, at)).toBeUndefined();
    noise.track(lbDown, true);
    expect(noise.check(traffic, at)).toEqual({ by: 'inhibited-by:lb', reason: 'inhibited by LoadBalancerDown on lb-1 (dependency)' });
    expect(noise.check({ ...traffic, instance: 'host-1' }, at)).toBeUndefined();
    expect(noise.check(lbDown.labels, at)).toBeUndefined();
    noise.track(lbDown, false);
    expect(noise.check(traffic, at)).toBeUndefined();
  });

  it('prefers a source that is not itself suppressed: the deeper cause', () => {
    const noise = new NoiseControl(config());
    noise.track({ fingerprint: 'db', labels: { alertname: 'DbDown', instance: 'db-1', severity: 'critical' }, suppressed: true }, true);
    noise.track({ fingerprint: 'host', labels: { alertname: 'HostDown', instance: 'host-1', severity: 'critical' }, suppressed: false }, true);
    expect(noise.check({ alertname: 'HighLatency', instance: 'app-1', severity: 'warning' }, at)?.by).toBe('inhibited-by:host');
  });

  it('with equal labels, like Alertmanager: a missing label counts as empty', () => {
    const noise = new NoiseControl(config());
    noise.track({ fingerprint: 'c1', labels: { alertname: 'ClusterDown', cluster: 'eu' }, suppressed: false }, true);
    expect(noise.check({ alertname: 'NodeDown', cluster: 'eu', node: 'n1' }, at)?.by).toBe('inhibited-by:c1');
    expect(noise.check({ alertname: 'NodeDown', cluster: 'us', node: 'n1' }, at)).toBeUndefined();
    expect(noise.check({ alertname: 'NodeDown', node: 'n1' }, at)).toBeUndefined();
    noise.track({ fingerprint: 'c0', labels: { alertname: 'ClusterDown' }, suppressed: false }, true);
    expect(noise.check({ alertname: 'NodeDown', node: 'n1' }, at)?.by).toBe('inhibited-by:c0');
  });

  it('keeps what it knows of active alerts across a config reload', () => {
    const noise = new NoiseControl(config());
    noise.track(lbDown, true);
    noise.configure(config());
    expect(noise.check({ alertname: 'LowTraffic', instance: 'app-1', severity: 'warning' }, at)?.by).toBe('inhibited-by:lb');
  });
});

describe('monitoring windows', () => {
  const c = config();
  const windows = compileWindows(c.monitoring_windows, c.notifier.time_intervals);
  it('hide a test server outside 08:00–16:00 on weekdays, and leave other resources alone', () => {
    const test = { alertname: 'Down', env: 'test' };
    expect(monitored(windows, test, Date.parse('2026-05-04T07:00:00Z'))).toBe(true); // 09:00 CEST, Monday
    expect(monitored(windows, test, Date.parse('2026-05-04T14:30:00Z'))).toBe(false); // 16:30 CEST
    expect(monitored(windows, test, Date.parse('2026-05-02T10:00:00Z'))).toBe(false); // Saturday
    expect(monitored(windows, { alertname: 'Down', env: 'prod' }, Date.parse('2026-05-02T10:00:00Z'))).toBe(true);
  });
});

describe('config checks', () => {
  const broken = (patch: string) => {
    try {
      config(`notifier:\n  receivers: [{ name: log, kind: log }]\n  default_receiver: log\n${patch}`);
    } catch (err) {
      return (err as ConfigError).message;
    }
    return 'no error';
  };
  it('name the path and the problem', () => {
    expect(broken('maintenance_windows: [{ name: w, matchers: [\'a=~"("\'], schedule: [nope] }]')).toMatch(/maintenance_windows\[0\]\.matchers\[0\]: .*invalid regex[\s\S]*maintenance_windows\[0\]\.schedule\[0\]: no time interval named "nope"/);
    expect(broken('topology: { nodes: [{ name: a, depends_on: [b] }, { name: b, parent: a }] }')).toMatch(/topology\.nodes: dependency cycle: a -> b -> a/);
    expect(broken('topology: { nodes: [{ name: a, depends_on: [zz] }] }')).toMatch(/topology\.nodes\[0\]\.depends_on\[0\]: unknown resource "zz"/);
    expect(broken('inhibit_rules: [{ source_matchers: [\'a b\'], target_matchers: [] }]')).toMatch(/inhibit_rules\[0\]\.source_matchers\[0\]/);
    expect(broken("silences: [{ matchers: ['a=\"b\"'], starts_at: '2026-01-02T00:00:00Z', ends_at: '2026-01-01T00:00:00Z', comment: x }]")).toMatch(/silences\[0\]: the end must be after the start/);
  });
});
