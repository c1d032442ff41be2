import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJiraClient } from '../../src/actors/notifier/jira/client.js';
import { createJiraNotifier, escapeJira, jiraGroupLabel, jiraTicketId, type JiraTicketRecord } from '../../src/actors/notifier/jira/jira.js';
import type { Notification } from '../../src/actors/notifier/notify.js';
import { groupKeyOf } from '../../src/actors/notifier/templates.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { freePort } from '../helpers/servers.js';
import { FakeJira, jiraAuth, type FakeIssue } from '../helpers/fake-jira.js';
import type { ReceivedRequest } from '../helpers/webhook-receiver.js';
import { acknowledged, capturedLogger, ctx, EXTERNAL_URL, firing, firingAlert, resolved } from './notifier-channels.fixtures.js';

const API_TOKEN = 'jira-api-T0KEN-secret';
const AUTH = jiraAuth('vigil@example.com', API_TOKEN);

let jira: FakeJira;
let store: Store;
beforeEach(async () => {
  jira = await new FakeJira(AUTH).start();
  store = SqliteStore.open(':memory:');
});
afterEach(async () => {
  await jira.close();
  await store.close();
});

type JiraOptions = { transitions?: { acknowledged?: string; resolved?: string }; templates?: { summary?: string; description?: string }; timeout?: string; url?: string; withStore?: boolean };

function jiraNotifier(options: JiraOptions = {}, logger = capturedLogger().logger) {
  return createJiraNotifier(
    {
      name: 'ops-jira',
      kind: 'jira',
      send_resolved: true,
      url: options.url ?? jira.url,
      username: 'vigil@example.com',
      api_token: API_TOKEN,
      project: 'OPS',
      issue_type: 'Incident',
      assignee: 'acct-default',
      transitions: options.transitions ?? { acknowledged: 'Start Progress', resolved: 'Done' },
      timeout: options.timeout ?? '2s',
      ...(options.templates ? { templates: options.templates } : {}),
    },
    { externalURL: EXTERNAL_URL, baseDir: '/', logger, ...(options.withStore === false ? {} : { store }) },
  );
}

const ticketId = jiraTicketId('ops-jira', groupKeyOf(firing));
const ticket = async () => (await store.notifierState.get(ticketId)) as JiraTicketRecord | undefined;
const onlyIssue = () => [...jira.issues.values()][0] as FakeIssue;

describe('jira notifier', () => {
  it('opens an issue on firing: project, type, summary, description, assignee, labels, Basic auth', async () => {
    const notification: Notification = { ...firing, recipients: [{ name: 'Alice', email: 'a@example.com' }, { name: 'Bob', jira_account: 'acct-bob' }] };
    expect(await jiraNotifier().notifier.send(notification, ctx)).toEqual({ ok: true });
    expect(jira.calls()).toEqual(['GET /rest/api/2/search/jql', 'POST /rest/api/2/issue']);
    const create = jira.requests[1] as ReceivedRequest;
    expect(create.headers.authorization).toBe(AUTH);
    expect(create.headers['content-type']).toBe('application/json');
    const { fields } = create.json as { fields: Record<string, unknown> };
    expect(fields).toMatchObject({
      project: { key: 'OPS' },
      issuetype: { name: 'Incident' },
      summary: '[critical] HighCPU db-1: CPU above 90%',
      assignee: { accountId: 'acct-bob' },
      labels: ['vigil', jiraGroupLabel(groupKeyOf(firing)), 'vigil-dlv-1234'],
    });
    expect(fields.description).toContain('h3. CPU above 90%\ndb\\-1 has been busy for 10 minutes');
    expect(fields.description).toContain('||Severity|critical|');
    expect(fields.description).toContain(`[Source|${firingAlert.generatorURL}] · [Alert in Vigil|http://vigil.example/api/v1/alerts/c0ffee0123456789]`);
    expect(await ticket()).toMatchObject({ kind: 'ticket', receiver: 'ops-jira', groupKey: firing.groupKey, issueKey: 'OPS-1' });
  });

  it('assigns the receiver\'s assignee when no recipient has a Jira account', async () => {
    await jiraNotifier().notifier.send(firing, ctx);
    expect(onlyIssue().fields.assignee).toEqual({ accountId: 'acct-default' });
  });

  it('creates one issue across redeliveries and later notifications of the group', async () => {
    const { notifier } = jiraNotifier();
    await notifier.send(firing, ctx);
    await notifier.send(firing, ctx);
    await notifier.send(firing, { ...ctx, deliveryId: 'dlv-repeat' });
    expect(jira.issues.size).toBe(1);
    expect(jira.calls().filter((c) => c === 'POST /rest/api/2/issue')).toHaveLength(1);
  });

  it('finds the issue by its group label when the create reply was lost, instead of opening a second', async () => {
    // Jira creates the issue, but its answer never arrives in time: the attempt fails and is retried.
    jira.fault = (r) => (r.method === 'POST' && r.path === '/rest/api/2/issue' ? { status: 201, delayMs: 1_000, apply: true } : undefined);
    const { notifier } = jiraNotifier({ timeout: '100ms' });
    expect(await notifier.send(firing, ctx)).toEqual({ ok: false, retryable: true, error: 'POST /rest/api/2/issue: timed out after 100ms' });
    expect(jira.issues.size).toBe(1);
    expect(await ticket()).toBeUndefined();
    jira.fault = () => undefined;
    expect(await notifier.send(firing, ctx)).toEqual({ ok: true });
    expect(jira.issues.size).toBe(1);
    expect(await ticket()).toMatchObject({ issueKey: 'OPS-1' });
    expect(jira.requests.at(-1)?.path).toContain(encodeURIComponent(`labels = "${jiraGroupLabel(groupKeyOf(firing))}" AND statusCategory != Done`));
  });

  it('falls back to the older search endpoint (Jira Data Center)', async () => {
    jira.legacySearchOnly = true;
    const client = createJiraClient({ url: jira.url, username: 'vigil@example.com', apiToken: API_TOKEN, timeoutMs: 2_000 });
    const key = await client.createIssue({ project: 'OPS', issueType: 'Task', summary: 's', description: 'd', labels: ['marker-1'] });
    expect(await client.findOpenIssueByLabel('marker-1')).toBe(key);
    expect(await client.findOpenIssueByLabel('marker-2')).toBeUndefined();
    expect(jira.calls().slice(1, 3)).toEqual(['GET /rest/api/2/search/jql', 'GET /rest/api/2/search']);
  });

  it('works without a store, by searching every time', async () => {
    const { notifier } = jiraNotifier({ withStore: false });
    await notifier.send(firing, ctx);
    await notifier.send(firing, { ...ctx, deliveryId: 'dlv-2' });
    await notifier.send(acknowledged, { ...ctx, deliveryId: 'dlv-3' });
    expect(jira.issues.size).toBe(1);
    expect(onlyIssue()).toMatchObject({ status: 'In Progress', comments: ['Acknowledged by alice at 2024-05-01T10:05:00.000Z.'] });
  });

  it('comments and transitions on acknowledge and resolve; the next firing opens a new issue', async () => {
    const { notifier } = jiraNotifier();
    await notifier.send(firing, ctx);
    expect(await notifier.send(acknowledged, { ...ctx, deliveryId: 'dlv-ack' })).toEqual({ ok: true });
    expect(onlyIssue()).toMatchObject({ status: 'In Progress', comments: ['Acknowledged by alice at 2024-05-01T10:05:00.000Z.'] });
    expect(await notifier.send(resolved, { deliveryId: 'dlv-res', now: Date.UTC(2024, 4, 1, 10, 30) })).toEqual({ ok: true });
    expect(onlyIssue()).toMatchObject({ status: 'Done' });
    expect(onlyIssue().comments[1]).toBe('Resolved: all alerts of the group have stopped firing (2024-05-01T10:30:00.000Z).');
    expect(await ticket()).toMatchObject({ closedIssueKey: 'OPS-1' });
    expect((await ticket())?.issueKey).toBeUndefined();
    await notifier.send(firing, { ...ctx, deliveryId: 'dlv-again' });
    expect([...jira.issues.keys()]).toEqual(['OPS-1', 'OPS-2']);
  });

  it('retries a failed transition without commenting twice', async () => {
    const { notifier } = jiraNotifier();
    await notifier.send(firing, ctx);
    jira.fault = (r) => (r.method === 'POST' && r.path.endsWith('/transitions') ? { status: 503, body: 'maintenance' } : undefined);
    const ackCtx = { ...ctx, deliveryId: 'dlv-ack' };
    expect(await notifier.send(acknowledged, ackCtx)).toEqual({ ok: false, retryable: true, error: 'POST /rest/api/2/issue/OPS-1/transitions: HTTP 503: maintenance' });
    jira.fault = () => undefined;
    expect(await notifier.send(acknowledged, ackCtx)).toEqual({ ok: true });
    expect(onlyIssue()).toMatchObject({ status: 'In Progress', comments: ['Acknowledged by alice at 2024-05-01T10:05:00.000Z.'] });
  });

  it('counts a transition whose reply was lost as done when the issue is already there', async () => {
    const { notifier } = jiraNotifier({ transitions: { resolved: 'Done' } });
    await notifier.send(firing, ctx);
    jira.fault = (r) => (r.method === 'POST' && r.path.endsWith('/transitions') ? { status: 502, apply: true } : undefined);
    const resolveCtx = { ...ctx, deliveryId: 'dlv-res' };
    expect(await notifier.send(resolved, resolveCtx)).toMatchObject({ ok: false, retryable: true });
    expect(onlyIssue().status).toBe('Done');
    jira.fault = () => undefined;
    expect(await notifier.send(resolved, resolveCtx)).toEqual({ ok: true });
    expect(onlyIssue().comments).toHaveLength(1);
  });

  it('fails for good on a transition the workflow does not have', async () => {
    const { notifier } = jiraNotifier({ transitions: { acknowledged: 'Triage' } });
    await notifier.send(firing, ctx);
    expect(await notifier.send(acknowledged, { ...ctx, deliveryId: 'dlv-ack' })).toEqual({
      ok: false,
      retryable: false,
      error: 'OPS-1: no transition "Triage" from status "Open" (available: Start Progress, Done)',
    });
  });

  it('has nothing to do when a group that was never ticketed is acknowledged or resolved', async () => {
    const { notifier } = jiraNotifier();
    expect(await notifier.send(acknowledged, ctx)).toEqual({ ok: true });
    expect(await notifier.send(resolved, ctx)).toEqual({ ok: true });
    expect(jira.calls()).toEqual(['GET /rest/api/2/search/jql', 'GET /rest/api/2/search/jql']);
  });

  it('uses template overrides and escapes wiki markup in values', async () => {
    const hostile = { ...firingAlert, labels: { ...firingAlert.labels, instance: '[evil|http://x]' }, annotations: { summary: '*bold* {code}' } };
    const templates = { summary: '{{ $rule }} on {{ $labels.instance }}', description: 'Summary: {{ $summary }}' };
    await jiraNotifier({ templates }).notifier.send({ ...firing, alerts: [hostile] }, ctx);
    expect(onlyIssue().fields).toMatchObject({ summary: 'HighCPU on [evil|http://x]', description: 'Summary: \\*bold\\* \\{code\\}' });
    expect(escapeJira('[evil|http://x]')).toBe('\\[evil\\|http://x\\]');
    expect(escapeJira('http://a/b?c=d|e]')).toBe('http://a/b?c=d%7Ce%5D');
  });

  it.each([
    { status: 400, retryable: false },
    { status: 401, retryable: false },
    { status: 403, retryable: false },
    { status: 429, retryable: true },
    { status: 500, retryable: true },
    { status: 503, retryable: true },
  ])('create answered $status → retryable $retryable', async ({ status, retryable }) => {
    jira.fault = (r) => (r.method === 'POST' ? { status, body: '{"errorMessages":["no"]}' } : undefined);
    expect(await jiraNotifier().notifier.send(firing, ctx)).toEqual({ ok: false, retryable, error: `POST /rest/api/2/issue: HTTP ${status}: {"errorMessages":["no"]}` });
  });

  it('retries when Jira is unreachable', async () => {
    const port = await freePort();
    const result = await jiraNotifier({ url: `http://127.0.0.1:${port}` }).notifier.send(firing, ctx);
    expect(result).toMatchObject({ ok: false, retryable: true, error: expect.stringContaining('ECONNREFUSED') });
  });

  it('keeps the API token out of the target, errors and logs', async () => {
    const { logger, output } = capturedLogger();
    jira.fault = (r) => (r.method === 'POST' ? { status: 400, body: `bad token ${String(r.headers.authorization)} ${API_TOKEN}` } : undefined);
    const { target, notifier } = jiraNotifier({}, logger);
    const failed = await notifier.send(firing, ctx);
    jira.fault = () => undefined;
    await notifier.send(firing, ctx);
    expect(target).toBe(`${jira.url} OPS`);
    expect(output()).toContain('jira issue created');
    for (const text of [target, JSON.stringify(failed), output()]) expect(text).not.toContain(API_TOKEN);
  });

  it('assigns and comments through the client the ticket automation uses', async () => {
    const client = createJiraClient({ url: `${jira.url}/`, username: 'vigil@example.com', apiToken: API_TOKEN, timeoutMs: 2_000 });
    const key = await client.createIssue({ project: 'OPS', issueType: 'Task', summary: 'SLA breached', description: 'd', assignee: 'acct-1' });
    await client.assign(key, 'acct-2');
    await client.comment(key, 'escalated');
    await client.transition(key, 'in progress');
    expect(jira.issues.get(key)).toMatchObject({ assignee: 'acct-2', comments: ['escalated'], status: 'In Progress' });
  });
});
