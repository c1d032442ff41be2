import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';

const parse = (text: string) => parseConfig(text, '/etc/vigil/vigil.yaml', {});
const errorOf = (text: string) => {
  try {
    parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a config error');
};

const valid = `
automation:
  command_allowlist: [/usr/bin/systemctl, /usr/local/bin/clear-cache]
  systemctl: /usr/bin/systemctl
  prometheus_url: http://prometheus:9090
runbooks:
  - name: restart-api
    trigger:
      kind: any
      triggers:
        - { kind: alert, matchers: ['alertname="ApiDown"', 'env=~"prod|stage"'], severities: [critical], count: 2, window: 10m }
        - kind: all
          within: 15m
          triggers:
            - { kind: metric, metric: api_errors_ratio, op: '>', value: 0.05, for: 5m }
            - { kind: cron, schedule: '*/15 * * * *', time_zone: Europe/Berlin }
    target: '{{ $labels.instance }}'
    steps:
      - { name: clear-cache, kind: command, argv: [/usr/local/bin/clear-cache, '--host', '{{ $labels.instance }}'], env: { CACHE_TOKEN: { file: /dev/null } } }
      - { name: restart, kind: systemd, unit: 'api@{{ $labels.instance }}.service', when: previous.ok }
    verify: { kind: prometheus, query: 'up{instance="{{ $labels.instance }}"}', op: '==', value: 1, timeout: 2m }
    rollback:
      - { name: tell, kind: notify, summary: 'restart of {{ $labels.instance }} did not help' }
    approval: { severities: [critical], timeout: 10m }
    rate_limit: { max: 3, per: 1h }
    blast_radius: { group: '{{ $labels.job }}', size: 10, max_percent: 20 }
`;

describe('runbook config', () => {
  it('accepts a full runbook and fills in the safe defaults', () => {
    const config = parse(valid);
    const [rb] = config.runbooks;
    expect(rb).toMatchObject({ dry_run: false, max_concurrent_per_target: 1, circuit_breaker: { failures: 3, window: '1h', cool_down: '30m' } });
    expect(config.automation).toMatchObject({ dry_run: false, kill_switch: false, limits: { max_concurrent: 10, max_output_bytes: 65536 } });
    expect(parse('').runbooks).toEqual([]);
  });

  it.each([
    ['an unknown step kind', valid.replace('kind: systemd', 'kind: ssh'), /vigil\.yaml:\d+: runbooks\[0\]\.steps\[1\]\.kind: unknown kind "ssh" \(expected one of command, http, systemd, kubernetes, scale, notify, ticket\)/],
    ['a bad cron schedule', valid.replace("'*/15 * * * *'", "'61 * * * *'"), /vigil\.yaml:\d+: runbooks\[0\]\.trigger\.triggers\[1\]\.triggers\[1\]\.schedule: invalid cron schedule: /],
    ['a bad time zone', valid.replace('time_zone: Europe/Berlin', 'time_zone: Mars/Olympus'), /vigil\.yaml:\d+: runbooks\[0\]\.trigger\.triggers\[1\]\.triggers\[1\]\.time_zone: unknown time zone "Mars\/Olympus"/],
    ['a bad matcher', valid.replace('env=~"prod|stage"', 'env=~"("'), /runbooks\[0\]\.trigger\.triggers\[0\]\.matchers\[1\]: .*invalid regex/],
    ['a program outside the allowlist', valid.replace('[/usr/bin/systemctl, /usr/local/bin/clear-cache]', '[/usr/bin/systemctl]'), /vigil\.yaml:\d+: runbooks\[0\]\.steps\[0\]\.argv\[0\]: "\/usr\/local\/bin\/clear-cache" is not in automation\.command_allowlist/],
    ['a templated program', valid.replace('argv: [/usr/local/bin/clear-cache', "argv: ['{{ $labels.cmd }}'"), /runbooks\[0\]\.steps\[0\]\.argv\[0\]: the program \(argv\[0\]\) cannot be templated/],
    ['a bad condition', valid.replace('when: previous.ok', 'when: sometimes'), /runbooks\[0\]\.steps\[1\]\.when: "sometimes" is not a condition/],
    ['a duplicate name', valid.replace(/runbooks:\n([\s\S]*)$/, (_m, body: string) => `runbooks:\n${body}${body}`), /runbooks\[1\]\.name: duplicate runbook name "restart-api"/],
    ['a blast radius without a cap', valid.replace(', max_percent: 20', ''), /runbooks\[0\]\.blast_radius: needs max, max_percent or both/],
    ['a prometheus check without a URL', valid.replace('  prometheus_url: http://prometheus:9090\n', ''), /runbooks\[0\]\.verify\.url: required when automation\.prometheus_url is not set/],
    ['an unreadable secret file', valid.replace('{ file: /dev/null }', '{ file: /nonexistent/token }'), /runbooks\[0\]\.steps\[0\]\.env\.CACHE_TOKEN: cannot read secret file \/nonexistent\/token: ENOENT/],
    ['a ticket to a non-jira receiver', valid.replace("kind: notify, summary", 'kind: ticket, receiver: log, summary'), /runbooks\[0\]\.rollback\[0\]\.receiver: "log" is not a jira receiver/],
    ['an unknown field', valid.replace('rate_limit:', 'rate_limits:'), /runbooks\[0\]: unknown field "rate_limits"/],
  ])('rejects %s with file, line and path', (_what, text, message) => {
    expect(errorOf(text)).toMatch(message);
  });
});
