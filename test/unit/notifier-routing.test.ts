import { describe, expect, it } from 'vitest';
import { formatMatcher, matchesAll, parseMatcher, parseMatchers } from '../../src/labels/matchers.js';
import { compileRouteTree, matchRoutes } from '../../src/actors/notifier/routing/route-tree.js';
import { inTimeInterval } from '../../src/oncall/time-interval.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { TimeIntervalConfig } from '../../src/config/schema.js';

describe('matchers', () => {
  it.each([
    ['severity="critical"', { name: 'severity', op: '=', value: 'critical' }],
    ['severity != "info"', { name: 'severity', op: '!=', value: 'info' }],
    ['instance=~"db-[0-9]+"', { name: 'instance', op: '=~', value: 'db-[0-9]+' }],
    ['team!~"(ops|sre)"', { name: 'team', op: '!~', value: '(ops|sre)' }],
    ['summary="say \\"hi\\"\\n"', { name: 'summary', op: '=', value: 'say "hi"\n' }],
    ['env=prod', { name: 'env', op: '=', value: 'prod' }],
    ['env=""', { name: 'env', op: '=', value: '' }],
  ])('parses %s', (text, expected) => {
    expect(parseMatcher(text)).toMatchObject(expected);
  });

  it.each([
    ['="x"', 'must start with a label name'],
    ['1abc="x"', 'must start with a label name'],
    ['severity', 'needs an operator after "severity"'],
    ['severity=="x"', 'quote a value that contains spaces or quotes'],
    ['severity="critical', 'no closing quote'],
    ['severity="a" extra', 'unexpected text after the value'],
    ['severity="\\q"', 'unknown escape'],
    ['instance=~"db-("', 'invalid regex'],
    ['env=two words', 'quote a value'],
  ])('rejects %s', (text, message) => {
    expect(() => parseMatcher(text)).toThrow(message);
  });

  it('anchors regexes and treats a missing label as empty', () => {
    const labels = { instance: 'db-12', env: 'prod' };
    expect(matchesAll(parseMatchers(['instance=~"db-[0-9]+"']), labels)).toBe(true);
    expect(matchesAll(parseMatchers(['instance=~"db"']), labels)).toBe(false);
    expect(matchesAll(parseMatchers(['instance!~"db"']), labels)).toBe(true);
    expect(matchesAll(parseMatchers(['team!="db"']), labels)).toBe(true);
    expect(matchesAll(parseMatchers(['team=""']), labels)).toBe(true);
    expect(matchesAll(parseMatchers(['team=~".+"']), labels)).toBe(false);
    expect(matchesAll(parseMatchers(['env="prod"', 'instance="db-1"']), labels)).toBe(false);
    expect(matchesAll([], labels)).toBe(true);
  });

  it('names the matcher that is wrong in a list', () => {
    expect(() => parseMatchers(['a="1"', 'b=~"("'])).toThrow(expect.objectContaining({ index: 1 }));
    expect(formatMatcher(parseMatcher('a =~ x.*'))).toBe('a=~"x.*"');
  });
});

describe('route tree', () => {
  const notifier = (route: string) => parseConfig(`notifier:\n  receivers:\n${['root', 'db', 'db-critical', 'web', 'audit', 'pager'].map((n) => `    - { name: ${n}, kind: log }`).join('\n')}\n  route:\n${route}`, 'vigil.yaml', {}).notifier;
  const TREE = notifier(`
    receiver: root
    group_by: [alertname]
    group_wait: 10s
    routes:
      - matchers: ['team="db"']
        receiver: db
        group_by: [alertname, instance]
        repeat_interval: 1h
        routes:
          - matchers: ['severity="critical"']
            receiver: db-critical
            group_wait: 0s
      - matchers: ['team="db"']
        receiver: pager
      - matchers: ['team=~"web|frontend"']
        receiver: web
        continue: true
      - matchers: ['env="prod"']
        receivers: [audit, pager]
`);
  const tree = compileRouteTree(TREE);
  const receivers = (labels: Record<string, string>) => matchRoutes(tree, labels).map((r) => r.receivers.join('+'));

  it('takes the first matching child, depth first, and falls back to the parent', () => {
    expect(receivers({ team: 'db', severity: 'critical' })).toEqual(['db-critical']);
    expect(receivers({ team: 'db', severity: 'warning' })).toEqual(['db']);
    expect(receivers({ team: 'other' })).toEqual(['root']);
  });

  it('goes on past a matching route with continue', () => {
    expect(receivers({ team: 'web', env: 'prod' })).toEqual(['web', 'audit+pager']);
    expect(receivers({ team: 'frontend' })).toEqual(['web']);
    expect(receivers({ team: 'webby' })).toEqual(['root']);
  });

  it('inherits receiver, group_by and timings from the parent; defaults from Alertmanager', () => {
    const [critical] = matchRoutes(tree, { team: 'db', severity: 'critical' });
    expect(critical).toMatchObject({ groupBy: ['alertname', 'instance'], groupWaitMs: 0, groupIntervalMs: 300_000, repeatIntervalMs: 3_600_000 });
    const [other] = matchRoutes(tree, {});
    expect(other).toMatchObject({ key: '{}', groupBy: ['alertname'], groupWaitMs: 10_000, groupIntervalMs: 300_000, repeatIntervalMs: 14_400_000 });
    const inheritsReceiver = compileRouteTree(notifier(`    receiver: root\n    routes: [{ matchers: ['a="1"'] }]\n`));
    expect(matchRoutes(inheritsReceiver, { a: '1' })[0]).toMatchObject({ receivers: ['root'], key: '{}/{a="1"}', groupWaitMs: 30_000 });
  });

  it('gives every route its own key, even siblings with the same matchers', () => {
    const keys = tree.routes.map((r) => r.key);
    expect(keys).toEqual(['{}/{team="db"}#0', '{}/{team="db"}#1', '{}/{team=~"web|frontend"}', '{}/{env="prod"}']);
    expect(tree.routes[0]!.routes[0]!.key).toBe('{}/{team="db"}#0/{severity="critical"}');
  });

  it('without a route, sends everything at once to default_receiver, grouped by alertname', () => {
    const implicit = compileRouteTree(parseConfig('notifier: {}\n', 'vigil.yaml', {}).notifier);
    expect(matchRoutes(implicit, { alertname: 'X' })).toMatchObject([{ receivers: ['log'], groupBy: ['alertname'], groupWaitMs: 0, groupIntervalMs: 0 }]);
  });
});

describe('time intervals', () => {
  const night: TimeIntervalConfig = { name: 'night', location: 'Europe/Berlin', times: [{ start: '22:00', end: '07:00' }] };
  const at = (iso: string) => Date.parse(iso);

  it('wraps past midnight', () => {
    expect(inTimeInterval(night, at('2024-05-01T19:59:00Z'))).toBe(false); // 21:59 CEST
    expect(inTimeInterval(night, at('2024-05-01T20:00:00Z'))).toBe(true); // 22:00
    expect(inTimeInterval(night, at('2024-05-01T23:30:00Z'))).toBe(true); // 01:30
    expect(inTimeInterval(night, at('2024-05-02T04:59:00Z'))).toBe(true); // 06:59
    expect(inTimeInterval(night, at('2024-05-02T05:00:00Z'))).toBe(false); // 07:00
  });

  it('follows the wall clock across the spring-forward change in Europe/Berlin', () => {
    // 31 March 2024, 02:00 CET became 03:00 CEST: the night ends at 07:00 local, an hour earlier in UTC.
    expect(inTimeInterval(night, at('2024-03-30T05:30:00Z'))).toBe(true); // 06:30 CET
    expect(inTimeInterval(night, at('2024-03-31T05:30:00Z'))).toBe(false); // 07:30 CEST
    expect(inTimeInterval(night, at('2024-03-31T04:59:00Z'))).toBe(true); // 06:59 CEST
    expect(inTimeInterval(night, at('2024-03-31T00:30:00Z'))).toBe(true); // 01:30 CET, before the jump
    expect(inTimeInterval(night, at('2024-03-31T01:30:00Z'))).toBe(true); // 03:30 CEST, after it
  });

  it('follows the wall clock across the fall-back change', () => {
    // 27 October 2024, 03:00 CEST became 02:00 CET: 07:00 local is 06:00 UTC again.
    expect(inTimeInterval(night, at('2024-10-27T05:30:00Z'))).toBe(true); // 06:30 CET
    expect(inTimeInterval(night, at('2024-10-26T05:30:00Z'))).toBe(false); // 07:30 CEST
    expect(inTimeInterval(night, at('2024-10-26T20:00:00Z'))).toBe(true); // 22:00 CEST
  });

  it('a wrapping range belongs to the weekday it starts on', () => {
    const fridayNight: TimeIntervalConfig = { name: 'friday-night', location: 'UTC', weekdays: ['friday'], times: [{ start: '22:00', end: '06:00' }] };
    expect(inTimeInterval(fridayNight, at('2024-05-03T23:00:00Z'))).toBe(true); // Friday 23:00
    expect(inTimeInterval(fridayNight, at('2024-05-04T05:00:00Z'))).toBe(true); // Saturday 05:00
    expect(inTimeInterval(fridayNight, at('2024-05-04T23:00:00Z'))).toBe(false); // Saturday 23:00
    expect(inTimeInterval(fridayNight, at('2024-05-03T05:00:00Z'))).toBe(false); // Friday 05:00 (Thursday's night)
  });

  it('weekdays alone, and ranges up to 24:00', () => {
    const weekend: TimeIntervalConfig = { name: 'weekend', location: 'America/New_York', weekdays: ['saturday', 'sunday'] };
    expect(inTimeInterval(weekend, at('2024-05-04T03:00:00Z'))).toBe(false); // Friday 23:00 in New York
    expect(inTimeInterval(weekend, at('2024-05-04T04:00:00Z'))).toBe(true); // Saturday 00:00
    const evening: TimeIntervalConfig = { name: 'evening', location: 'UTC', times: [{ start: '18:00', end: '24:00' }] };
    expect(inTimeInterval(evening, at('2024-05-04T23:59:00Z'))).toBe(true);
    expect(inTimeInterval(evening, at('2024-05-05T00:00:00Z'))).toBe(false);
  });
});

describe('routing config checks', () => {
  const problems = (notifier: string): string[] => {
    try {
      parseConfig(`notifier:\n${notifier}`, 'vigil.yaml', {});
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.problems.map((p) => `${p.path}: ${p.message}`);
    }
  };

  it('names every receiver, time interval, policy and matcher problem with its path', () => {
    expect(
      problems(`  receivers: [{ name: team, kind: log }]
  time_intervals:
    - { name: night, location: Mars/Olympus, times: [{ start: '22:00', end: '22:00' }] }
  route:
    receiver: team
    routes:
      - { receiver: nobody, matchers: ['a="1"'] }
      - matchers: ['a="1"', 'b=~"("']
        receivers: [team, ghost]
        active_time_intervals: [night, weekend]
        mute_time_intervals: [holidays]
        escalation: missing
        routes: [{ matchers: ['=x'], group_by: ['...', alertname] }]
`),
    ).toEqual([
      'notifier.time_intervals[0].location: unknown time zone "Mars/Olympus" (expected an IANA name such as Europe/Berlin)',
      'notifier.time_intervals[0].times[0]: start and end are both 22:00: use 00:00 to 24:00 for a whole day',
      'notifier.route.routes[0].receiver: no receiver named "nobody"',
      'notifier.route.routes[1].receivers[1]: no receiver named "ghost"',
      'notifier.route.routes[1].active_time_intervals[1]: no time interval named "weekend"',
      'notifier.route.routes[1].mute_time_intervals[0]: no time interval named "holidays"',
      'notifier.route.routes[1].escalation: no escalation policy named "missing"',
      expect.stringMatching(/^notifier\.route\.routes\[1\]\.matchers\[1\]: "b=~"\("" has an invalid regex: .*Unterminated group/),
      'notifier.route.routes[1].routes[0].matchers[0]: "=x" must start with a label name (letters, digits and _, not starting with a digit)',
      "notifier.route.routes[1].routes[0].group_by: '...' groups by all labels and cannot be combined with label names",
    ]);
  });

  it('keeps matchers and time conditions off the root route', () => {
    expect(problems(`  time_intervals: [{ name: night }]\n  route: { receiver: log, matchers: ['a="1"'], mute_time_intervals: [night] }\n`)).toEqual([
      'notifier.route.matchers: not allowed on the root route, which receives every alert',
      'notifier.route.mute_time_intervals: not allowed on the root route, which receives every alert',
    ]);
  });

  it('accepts a valid tree, and a root route that names its receiver needs no default_receiver', () => {
    expect(problems(`  receivers: [{ name: team, kind: log }]\n  route: { receiver: team, routes: [{ matchers: ['severity=~"crit.*"'], continue: true }] }\n`)).toEqual([]);
    expect(problems(`  receivers: [{ name: team, kind: log }]\n`)).toEqual(['notifier.default_receiver: no receiver named "log"']);
  });
});
