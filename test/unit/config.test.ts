import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, readSecret } from '../../src/config/load.js';
import { jsonSchemaText } from '../../src/cli/schema.js';

const FILE = 'config/test.yaml';
const rule = (extra = '') => `rules:\n  - name: HighCpu\n    kind: threshold\n    metric: cpu\n    op: '>'\n    value: 90\n${extra}`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(text, FILE, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('config was accepted');
}

describe('config loading', () => {
  it('applies defaults to an empty file', () => {
    const config = parseConfig('', FILE, {});
    expect(config.server.port).toBe(9470);
    expect(config.transport.kind).toBe('local');
    expect(config.store.kind).toBe('embedded');
    expect(config.notifier.receivers).toEqual([{ name: 'log', kind: 'log', send_resolved: true }]);
    expect(config.rules).toEqual([]);
  });

  it('fills rule defaults', () => {
    const [r] = parseConfig(rule(), FILE, {}).rules;
    expect(r).toMatchObject({ for: '0s', keep_firing_for: '0s', severity: 'warning' });
  });

  it('interpolates ${VAR} and ${VAR:-default}, $$ is a literal dollar', () => {
    const config = parseConfig('server:\n  host: ${HOST}\n  external_url: "${URL:-http://x}/$${y}"\n', FILE, { HOST: '0.0.0.0' });
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.server.external_url).toBe('http://x/${y}');
  });

  // Each bad file is rejected with the file, the line and the path of the problem.
  it.each([
    ['unknown top-level field', 'servr:\n  port: 1\n', /test\.yaml:1: servr: unknown field "servr"|\(root\): unknown field "servr"/],
    ['port out of range', 'server:\n  port: 70000\n', /test\.yaml:2: server\.port: must be <= 65535/],
    ['bad duration', rule("    for: 5 minutes\n"), /test\.yaml:\d+: rules\[0\]\.for: must be a duration such as 30s, 5m or 1h/],
    ['unknown operator', rule().replace("'>'", "'=>'"), /rules\[0\]\.op:/],
    ['missing metric', rule().replace('    metric: cpu\n', ''), /rules\[0\]: missing required field "metric"/],
    ['duplicate rule', `${rule()}  - name: HighCpu\n    kind: threshold\n    metric: cpu\n    op: '<'\n    value: 1\n`, /rules\[1\]\.name: duplicate rule name "HighCpu"/],
    ['unset environment variable', 'server:\n  host: ${NOPE}\n', /test\.yaml:2: server\.host: environment variable NOPE is not set/],
    ['bullmq without redis', 'transport:\n  kind: bullmq\n', /transport\.redis_url: required when transport\.kind is bullmq/],
    ['unknown receiver', 'notifier:\n  default_receiver: pager\n', /notifier\.default_receiver: no receiver named "pager"/],
    ['YAML syntax', 'server:\n  port: [1\n', /test\.yaml:\d+: \(root\): /],
    ['duplicate key', 'server:\n  port: 1\n  port: 2\n', /test\.yaml:3: \(root\): Map keys must be unique/],
    ['wrong source kind', 'collector:\n  sources:\n    - kind: snmp\n', /collector\.sources\[0\]\.kind: /],
    ['bad prometheus source', 'collector:\n  sources:\n    - kind: prometheus\n      name: p\n      url: http://x\n      queries: []\n', /collector\.sources\[0\]\.queries: must NOT have fewer than 1 items/],
    ['missing secret file', 'auth:\n  tokens:\n    - name: a\n      role: admin\n      token: { file: /nonexistent/token }\n', /auth\.tokens\[0\]\.token: cannot read secret file \/nonexistent\/token: ENOENT/],
    ['bad role', 'auth:\n  tokens:\n    - name: a\n      role: root\n      token: x\n', /auth\.tokens\[0\]\.role:/],
  ])('rejects %s', (_name, text, expected) => {
    expect(problems(text)).toMatch(expected);
  });

  it('names a missing file', () => {
    expect(() => loadConfig('/nonexistent/vigil.yaml', {})).toThrow(/\/nonexistent\/vigil\.yaml: \(root\): cannot read file: ENOENT/);
  });

  it('reads secrets from files relative to the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-config-'));
    writeFileSync(join(dir, 'token'), 's3cret\n');
    writeFileSync(join(dir, 'vigil.yaml'), 'auth:\n  tokens:\n    - name: ops\n      role: viewer\n      token: { file: token }\n');
    const config = loadConfig(join(dir, 'vigil.yaml'), {});
    const [t] = config.auth.tokens;
    expect(readSecret(t!.token, config.baseDir)).toBe('s3cret');
  });

  it('accepts the shipped example', () => {
    const config = loadConfig('config/vigil.example.yaml', {});
    expect(config.collector.sources.some((s) => s.kind === 'host')).toBe(true);
    expect(config.transport.kind).toBe('local');
    expect(config.store.kind).toBe('embedded');
  });

  it('ships a JSON Schema that matches the config schema', () => {
    expect(readFileSync('config/vigil.schema.json', 'utf8')).toBe(jsonSchemaText());
  });
});
