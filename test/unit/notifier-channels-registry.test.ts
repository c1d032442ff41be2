import { describe, expect, it } from 'vitest';
import { buildIntegrations } from '../../src/actors/notifier/registry.js';
import { parseConfig } from '../../src/config/load.js';
import { capturedLogger } from './notifier-channels.fixtures.js';

const SECRETS = { SLACK_URL: 'https://hooks.slack.com/services/T0/B0/slack-secret-path', PD_KEY: 'pd-routing-secret', JIRA_TOKEN: 'jira-token-secret', SMTP_PASSWORD: 'smtp-secret' };

const YAML = `
server: { external_url: https://vigil.example.com }
notifier:
  receivers:
    - { name: team-slack, kind: slack, url: "\${SLACK_URL}", channel: "#ops" }
    - name: ops-mail
      kind: email
      from: vigil@example.com
      to: [ops@example.com]
      smtp: { host: smtp.example.com, username: vigil, password: "\${SMTP_PASSWORD}" }
    - { name: pager, kind: pagerduty, routing_key: "\${PD_KEY}" }
    - name: tickets
      kind: jira
      url: https://example.atlassian.net
      username: vigil@example.com
      api_token: "\${JIRA_TOKEN}"
      project: OPS
      transitions: { resolved: Done }
  default_receiver: pager
`;

describe('notifier channels in the registry', () => {
  it('builds every kind from config, with targets that hold no secret', () => {
    const { logger, output } = capturedLogger();
    const integrations = buildIntegrations(parseConfig(YAML, 'vigil.yaml', SECRETS), logger);
    expect([...integrations.values()].map(({ name, channel, target }) => ({ name, channel, target }))).toEqual([
      { name: 'team-slack', channel: 'slack', target: 'https://hooks.slack.com #ops' },
      { name: 'ops-mail', channel: 'email', target: 'smtp://smtp.example.com:587' },
      { name: 'pager', channel: 'pagerduty', target: 'https://events.pagerduty.com/v2/enqueue' },
      { name: 'tickets', channel: 'jira', target: 'https://example.atlassian.net OPS' },
    ]);
    const shown = JSON.stringify([...integrations.values()].map((i) => i.target)) + output();
    for (const secret of Object.values(SECRETS)) expect(shown).not.toContain(secret.split('/').at(-1));
  });

  it.each([
    ['slack url', '{ name: s, kind: slack, url: { file: /nonexistent/slack } }', /notifier\.receivers\[0\]\.url: cannot read secret file/],
    ['pagerduty routing_key', '{ name: p, kind: pagerduty, routing_key: { file: /nonexistent/pd } }', /notifier\.receivers\[0\]\.routing_key: cannot read secret file/],
    [
      'jira api_token',
      '{ name: j, kind: jira, url: "https://j.example", username: u, api_token: { file: /nonexistent/jira }, project: OPS, transitions: {} }',
      /notifier\.receivers\[0\]\.api_token: cannot read secret file/,
    ],
    [
      'smtp password',
      '{ name: m, kind: email, from: a@b.c, smtp: { host: h, username: u, password: { file: /nonexistent/smtp } } }',
      /notifier\.receivers\[0\]\.smtp\.password: cannot read secret file/,
    ],
  ])('rejects an unreadable %s file when the config is validated', (_name, receiver, error) => {
    expect(() => parseConfig(`notifier:\n  receivers:\n    - ${receiver}\n  default_receiver: x\n`, 'vigil.yaml', {})).toThrow(error);
  });
});
