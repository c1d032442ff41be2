import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scaleDecision } from '../../src/automation/actions/scale.js';
import type { AlertPayload } from '../../src/bus/messages.js';
import { automationHarness, FIXTURES, type AutomationHarness } from '../helpers/automation-harness.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A loopback HTTP server recording requests and answering with `reply`. */
async function recorder(reply: (req: Seen) => { status: number; body?: unknown }): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(r);
      const out = reply(r);
      res.writeHead(out.status, { 'content-type': 'application/json' }).end(out.body === undefined ? '' : JSON.stringify(out.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  servers.push(server);
  return { url: `http://127.0.0.1:${addr.port}`, seen, server };
}

const servers: Server[] = [];
let h: AutomationHarness | undefined;
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  await h?.close();
  h = undefined;
});

const one = (yaml: string) => (dir: string) => yaml.replaceAll('$DIR', dir);

describe('http action', () => {
  it('sends method, templated URL, headers and body; a status outside expect_status fails the step; the token is masked', async () => {
    const api = await recorder((r) => ({ status: r.url.includes('bad') ? 500 : 202, body: { accepted: true } }));
    h = automationHarness(
      one(`
runbooks:
  - name: hook
    trigger: { kind: alert, matchers: ['alertname="X"'] }
    steps:
      - name: call
        kind: http
        method: PUT
        url: '${api.url}/restart/{{ $labels.instance }}'
        headers: { Authorization: 'Bearer t0psecret', X-Reason: 'alert {{ $labels.alertname }}' }
        body: '{"value": {{ $value }}}'
        expect_status: [202]
`),
    );
    await h.firing({ alertname: 'X', instance: 'web-1' }, { value: 97 });
    expect(api.seen).toEqual([expect.objectContaining({ method: 'PUT', url: '/restart/web-1', body: '{"value": 97}' })]);
    expect(api.seen[0]?.headers).toMatchObject({ authorization: 'Bearer t0psecret', 'x-reason': 'alert X' });
    const run = await h.run();
    expect(run.state).toBe('succeeded');
    const step = (await h.audit(run.id)).find((a) => a.kind === 'step')!;
    expect(step).toMatchObject({ ok: true, status: 202, action: { headers: { Authorization: '***', 'X-Reason': 'alert X' } } });

    await h.firing({ alertname: 'X', instance: 'bad' });
    expect((await h.runs()).at(-1)).toMatchObject({ state: 'failed', reason: 'step call: unexpected status 500' });

    // A label value in the path stays one segment: it cannot climb the path or add a query.
    await h.firing({ alertname: 'X', instance: '../admin?drop=1' });
    expect(api.seen.at(-1)?.url).toBe('/restart/..%2Fadmin%3Fdrop%3D1');
  });
});

describe('systemd action', () => {
  it('runs systemctl OPERATION -- UNIT as argv, with the unit from a label', async () => {
    const systemctl = join(FIXTURES, 'fake-systemctl.mjs');
    const record = join(tmpdir(), `vigil-fake-systemctl-${process.pid}.json`);
    rmSync(record, { force: true });
    h = automationHarness(
      one(`
automation: { command_allowlist: [${JSON.stringify(systemctl)}], systemctl: ${JSON.stringify(systemctl)} }
runbooks:
  - name: unit
    trigger: { kind: alert, matchers: ['alertname="Down"'] }
    steps: [{ name: restart, kind: systemd, unit: '{{ $labels.unit }}' }]
`),
    );
    await h.firing({ alertname: 'Down', unit: '--force nginx.service' });
    expect((await h.run()).state).toBe('succeeded');
    expect(JSON.parse(readFileSync(record, 'utf8'))).toEqual(['restart', '--', '--force nginx.service']);
    rmSync(record);
  });

  it('is refused at load when systemctl is not allowed', () => {
    expect(() => automationHarness(one(`
runbooks:
  - name: unit
    trigger: { kind: alert }
    steps: [{ name: restart, kind: systemd, unit: x }]
`))).toThrow(/runbooks\[0\]\.steps\[0\]: systemd steps run "systemctl", which is not in automation.command_allowlist/);
  });
});

/**
 * (client-node refuses plain HTTP unless TLS verification is off, hence insecure-skip-tls-verify.)
 * No cluster can run here, so the Kubernetes action is tested against a loopback fake of the API server
 * that checks the exact requests `@kubernetes/client-node` makes (path, verb, patch content type, body).
 */
describe('kubernetes action against a fake API server', () => {
  it('restarts a deployment (rollout restart annotation) and scales it (scale subresource)', async () => {
    const api = await recorder((r) =>
      r.url.endsWith('/scale')
        ? { status: 200, body: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web', namespace: 'prod' }, spec: { replicas: JSON.parse(r.body).spec.replicas } } }
        : { status: 200, body: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'prod' }, spec: {} } },
    );
    h = automationHarness(
      one(`
runbooks:
  - name: k8s
    trigger: { kind: alert, matchers: ['alertname="Slow"'] }
    steps:
      - { name: restart, kind: kubernetes, operation: restart, namespace: '{{ $labels.namespace }}', deployment: '{{ $labels.deployment }}', kubeconfig: $DIR/kubeconfig }
      - { name: scale, kind: kubernetes, operation: scale, namespace: '{{ $labels.namespace }}', deployment: '{{ $labels.deployment }}', replicas: '{{ $labels.replicas }}', kubeconfig: $DIR/kubeconfig }
`),
    );
    writeFileSync(
      join(h.dir, 'kubeconfig'),
      `apiVersion: v1
kind: Config
clusters: [{ name: fake, cluster: { server: '${api.url}', insecure-skip-tls-verify: true } }]
users: [{ name: vigil, user: { token: kube-token-123 } }]
contexts: [{ name: fake, context: { cluster: fake, user: vigil } }]
current-context: fake
`,
    );
    await h.firing({ alertname: 'Slow', namespace: 'prod', deployment: 'web', replicas: '4' });
    const run = await h.run();
    expect(run.state).toBe('succeeded');
    expect(api.seen.map((r) => [r.method, r.url, r.headers['content-type']])).toEqual([
      ['PATCH', '/apis/apps/v1/namespaces/prod/deployments/web', 'application/strategic-merge-patch+json'],
      ['PATCH', '/apis/apps/v1/namespaces/prod/deployments/web/scale', 'application/merge-patch+json'],
    ]);
    expect(api.seen.every((r) => r.headers.authorization === 'Bearer kube-token-123')).toBe(true);
    expect(JSON.parse(api.seen[0]!.body)).toEqual({ spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date(run.createdAt).toISOString() } } } } });
    expect(JSON.parse(api.seen[1]!.body)).toEqual({ spec: { replicas: 4 } });
    const steps = (await h.audit(run.id)).filter((a) => a.kind === 'step');
    expect(steps.map((s) => s.stdout)).toEqual(['deployment.apps/web restarted', 'deployment.apps/web scaled to 4']);
  });

  it('an API error fails the step with the server status', async () => {
    const api = await recorder(() => ({ status: 404, body: { kind: 'Status', status: 'Failure', message: 'deployments.apps "nope" not found', code: 404 } }));
    h = automationHarness(one(`
runbooks:
  - name: k8s
    trigger: { kind: alert }
    steps: [{ name: restart, kind: kubernetes, operation: restart, deployment: nope, kubeconfig: $DIR/kubeconfig }]
`));
    writeFileSync(join(h.dir, 'kubeconfig'), `apiVersion: v1\nkind: Config\nclusters: [{ name: f, cluster: { server: '${api.url}', insecure-skip-tls-verify: true } }]\nusers: [{ name: u, user: {} }]\ncontexts: [{ name: f, context: { cluster: f, user: u } }]\ncurrent-context: f\n`);
    await h.firing({ alertname: 'Any' });
    const step = (await h.audit((await h.run()).id)).find((a) => a.kind === 'step')!;
    expect(step).toMatchObject({ ok: false, status: 404 });
    expect(step.error).toContain('not found');
  });
});

describe('scale decisions', () => {
  it('follows the seeds rule: above 80% up, below 30% down, else nothing', () => {
    expect([95, 80, 50, 30, 10, Number.NaN].map((v) => scaleDecision(v, 80, 30))).toEqual(['up', 'none', 'none', 'none', 'down', 'none']);
  });

  it('calls the up or down action with the utilisation from the alert', async () => {
    const api = await recorder(() => ({ status: 200 }));
    h = automationHarness(one(`
runbooks:
  - name: autoscale
    trigger: { kind: alert, matchers: ['alertname="CpuUtil"'] }
    steps:
      - name: decide
        kind: scale
        up: { kind: http, url: '${api.url}/up/{{ $labels.service }}' }
        down: { kind: http, url: '${api.url}/down/{{ $labels.service }}' }
`));
    for (const [i, v] of [92, 55, 12].entries()) await h.firing({ alertname: 'CpuUtil', service: 'api', n: String(i) }, { value: v });
    expect(api.seen.map((r) => r.url)).toEqual(['/up/api', '/down/api']);
    const decisions = await Promise.all((await h.runs()).map(async (r) => (await h!.audit(r.id)).find((a) => a.kind === 'step')?.action));
    expect(decisions.map((d) => (d as { decision: string }).decision)).toEqual(['up', 'none', 'down']);
  });
});

describe('notify and ticket actions', () => {
  it('publish alert.notify to the notifier, naming the receiver; the automation ignores its own notifications', async () => {
    h = automationHarness(one(`
notifier:
  receivers:
    - { name: ops, kind: log }
    - { name: jira, kind: jira, url: 'http://127.0.0.1:1', username: u, api_token: t, project: OPS, transitions: {} }
  default_receiver: ops
runbooks:
  - name: tell
    trigger: { kind: alert }
    steps:
      - { name: say, kind: notify, receiver: ops, summary: 'restarting {{ $labels.instance }}', severity: warning }
      - { name: file, kind: ticket, receiver: jira, summary: 'follow up on {{ $labels.instance }}' }
`));
    await h.firing({ alertname: 'Any', instance: 'web-1' });
    const sent = h.published.filter((p) => p.message.type === 'alert.notify').map((p) => p.message.payload as { alert: AlertPayload; rule: string; receiver: string });
    expect(sent.map((s) => [s.receiver, s.rule, s.alert.annotations.summary, s.alert.labels.severity])).toEqual([
      ['ops', 'runbook/tell', 'restarting web-1', 'warning'],
      ['jira', 'runbook/tell', 'follow up on web-1', 'warning'],
    ]);
    // Fed back (alert.notify also reaches automation), they start nothing.
    for (const p of h.published.filter((x) => x.message.type === 'alert.notify')) await h.actor.handle(p.message);
    expect(await h.runs()).toHaveLength(1);
  });
});
