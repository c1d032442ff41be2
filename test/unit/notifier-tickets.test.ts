import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Recipient } from '../../src/actors/notifier/notify.js';
import {
  createTicketAutomation,
  oncallFromConfig,
  ticketSystemFromConfig,
  ticketCheckMessageId,
  ticketWorkflowId,
  TICKET_RETENTION_MS,
  type NewTicket,
  type OnCall,
  type TicketAutomation,
  type TicketSystem,
  type TicketWorkflow,
} from '../../src/actors/notifier/tickets.js';
import type { Bus } from '../../src/bus/bus.js';
import type { AlertPayload, Envelope } from '../../src/bus/messages.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';
import type { AlertRecord, Store } from '../../src/store/store.js';
import { FakeJira, jiraAuth } from '../helpers/fake-jira.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const FIRED_AT = Date.parse('2024-05-01T10:00:00.000Z');
const FINGERPRINT = 'c0ffee0123456789';
const TICKET_ID = ticketWorkflowId(FINGERPRINT, FIRED_AT);

const CONFIG = `
notifier:
  receivers:
    - { name: log, kind: log }
    - { name: jira, kind: jira, url: "http://127.0.0.1:9", username: vigil, api_token: secret, project: OPS, transitions: {} }
  oncall:
    users: [{ name: alice, jira_account: acc-alice }, { name: bob, jira_account: acc-bob }]
    schedules:
      - { name: primary, layers: [{ rotation: weekly, handoff: "09:00", start: "2024-01-01", users: [alice] }] }
      - { name: secondary, layers: [{ rotation: weekly, handoff: "09:00", start: "2024-01-01", users: [bob] }] }
  tickets: { receiver: jira, after: 30m, escalate_after: 4h, schedule: primary, escalation_schedule: secondary }
`;

const firing: AlertPayload = {
  fingerprint: FINGERPRINT,
  status: 'firing',
  labels: { alertname: 'HighCPU', instance: 'db-1', severity: 'critical' },
  annotations: { summary: 'CPU above 90%' },
  startsAt: new Date(FIRED_AT).toISOString(),
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: `http://vigil.example/api/v1/alerts/${FINGERPRINT}`,
};
const resolvedAt = (at: number): AlertPayload => ({ ...firing, status: 'resolved', endsAt: new Date(at).toISOString() });

interface Issue {
  key: string;
  fields: NewTicket;
  assignee?: string;
  comments: string[];
}

/** Records what the automation does to the tracker; `loseNextCreateReply` creates the issue, then fails as a lost reply would. */
class RecordingTracker implements TicketSystem {
  issues: Issue[] = [];
  loseNextCreateReply = false;
  async create(receiver: string, ticket: NewTicket): Promise<string> {
    expect(receiver).toBe('jira');
    const issue: Issue = { key: `OPS-${this.issues.length + 1}`, fields: ticket, ...(ticket.assignee ? { assignee: ticket.assignee } : {}), comments: [] };
    this.issues.push(issue);
    if (this.loseNextCreateReply) {
      this.loseNextCreateReply = false;
      throw new Error('socket hang up');
    }
    return issue.key;
  }
  async findByMarker(_receiver: string, marker: string): Promise<string | undefined> {
    return this.issues.find((i) => i.fields.marker === marker)?.key;
  }
  async comment(_receiver: string, key: string, text: string): Promise<void> {
    this.issue(key).comments.push(text);
  }
  async assign(_receiver: string, key: string, accountId: string): Promise<void> {
    this.issue(key).assignee = accountId;
  }
  issue(key: string): Issue {
    const issue = this.issues.find((i) => i.key === key);
    if (!issue) throw new Error(`no issue ${key}`);
    return issue;
  }
}

const ROSTER: Record<string, Recipient> = {
  primary: { name: 'alice', jira_account: 'acc-alice' },
  secondary: { name: 'bob', jira_account: 'acc-bob' },
};
const oncall: OnCall & { asked: [string, number][] } = {
  asked: [],
  async who(schedule, at) {
    this.asked.push([schedule, at]);
    return ROSTER[schedule];
  },
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  oncall.asked = [];
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Published {
  message: Envelope<'ticket.check'>;
  delayMs: number | undefined;
}

interface Harness {
  automation: TicketAutomation;
  store: Store;
  tracker: RecordingTracker;
  clock: { t: number; now(): number };
  published: Published[];
  /** Moves the clock to the latest scheduled check and handles it. */
  runNextCheck(): Promise<Published>;
  workflow(): Promise<TicketWorkflow | undefined>;
}

/** `tickets` replaces the recording tracker (a real Jira client); `fromConfig` asks the configured schedules instead of the fake roster. */
function harness(options: { store?: Store; tracker?: RecordingTracker; tickets?: TicketSystem; clockAt?: number; config?: string; fromConfig?: boolean } = {}): Harness {
  const config = parseConfig(options.config ?? CONFIG, join(tmpdir(), 'vigil-tickets-test.yaml'), {});
  const store = options.store ?? SqliteStore.open(':memory:');
  if (!options.store) cleanups.push(() => store.close());
  const published: Published[] = [];
  const bus: Bus = {
    async publish(messages, opts) {
      for (const message of messages) published.push({ message: message as Envelope<'ticket.check'>, delayMs: opts?.delayMs });
    },
  };
  const tracker = options.tracker ?? new RecordingTracker();
  const clock = { t: options.clockAt ?? FIRED_AT + 1_000, now: () => clock.t };
  const deps = { store, bus, clock, config: () => config, logger: createLogger('silent') };
  const automation = createTicketAutomation({ ...deps, tickets: options.tickets ?? tracker, oncall: options.fromConfig ? oncallFromConfig(deps) : oncall });
  return {
    automation,
    store,
    tracker,
    clock,
    published,
    async runNextCheck() {
      const next = published.at(-1);
      if (!next) throw new Error('no check scheduled');
      clock.t = Math.max(clock.t, next.message.payload.due);
      await automation.onCheck(next.message.payload);
      return next;
    },
    async workflow() {
      return (await store.notifierState.get(TICKET_ID)) as TicketWorkflow | undefined;
    },
  };
}

async function putAlert(store: Store, state: string, changes: Partial<AlertRecord> = {}): Promise<void> {
  await store.alerts.put({
    id: FINGERPRINT,
    rule: 'HighCPU',
    state,
    labels: firing.labels,
    annotations: firing.annotations,
    value: 97.5,
    snapshot: null,
    activeAt: FIRED_AT,
    firedAt: FIRED_AT,
    updatedAt: FIRED_AT,
    ...changes,
  });
}

describe('ticket automation', () => {
  it('starts the SLA timer when an alert fires: a ticket.check at startsAt + after, keyed by fingerprint', async () => {
    const h = harness();
    await h.automation.onNotify({ alert: firing, rule: 'HighCPU' });
    const due = FIRED_AT + 30 * MINUTE;
    expect(h.published).toEqual([
      { message: { id: ticketCheckMessageId(TICKET_ID, due), type: 'ticket.check', key: FINGERPRINT, ts: h.clock.t, payload: { ticketId: TICKET_ID, due } }, delayMs: due - h.clock.t },
    ]);
    expect(await h.workflow()).toMatchObject({ kind: 'ticket', stage: 'waiting', dueAt: due, startsAt: FIRED_AT, fingerprint: FINGERPRINT });
  });

  it('does nothing when tickets are not configured', async () => {
    const h = harness({ config: 'notifier: { receivers: [{ name: log, kind: log }] }\n' });
    await h.automation.onNotify({ alert: firing, rule: 'HighCPU' });
    expect(h.published).toEqual([]);
    expect(await h.store.notifierState.count()).toBe(0);
  });

  it('opens a Jira issue assigned to the on-call when the SLA is reached, then escalates it when still unresolved', async () => {
    const h = harness();
    await putAlert(h.store, 'firing');
    await h.automation.onNotify({ alert: firing, rule: 'HighCPU' });

    await h.runNextCheck();
    const slaAt = FIRED_AT + 30 * MINUTE;
    expect(oncall.asked).toEqual([['primary', slaAt]]);
    expect(h.tracker.issues).toHaveLength(1);
    const issue = h.tracker.issues[0]!;
    expect(issue.assignee).toBe('acc-alice');
    expect(issue.fields.summary).toBe('HighCPU: CPU above 90% (down 30m)');
    expect(issue.fields.marker).toBe(TICKET_ID);
    expect(issue.fields.description).toContain('has been firing since 2024-05-01T10:00:00.000Z: down 30m so far, past the 30m SLA.');
    expect(issue.fields.description).toContain('- instance=db-1');
    expect(issue.fields.description).toContain('- summary: CPU above 90%');
    expect(issue.fields.description).toContain('Current value: 97.5');
    expect(issue.fields.description).toContain(firing.generatorURL);
    const escalateAt = slaAt + 4 * HOUR;
    expect(await h.workflow()).toMatchObject({ stage: 'open', issueKey: 'OPS-1', assignee: 'alice', openedAt: slaAt, dueAt: escalateAt });
    expect(h.published.at(-1)).toMatchObject({ message: { id: ticketCheckMessageId(TICKET_ID, escalateAt), payload: { due: escalateAt } }, delayMs: 4 * HOUR });

    await putAlert(h.store, 'acknowledged');
    await h.runNextCheck();
    expect(issue.assignee).toBe('acc-bob');
    expect(issue.comments).toEqual(['Escalated after 4 h unresolved; reassigned to bob.']);
    const escalated = await h.workflow();
    expect(escalated).toMatchObject({ stage: 'escalated', escalatedTo: 'bob', escalatedAt: escalateAt });
    expect(escalated?.dueAt).toBeUndefined();
    const scheduled = h.published.length;

    // Escalated once: nothing else is scheduled; resolving comments and closes.
    await h.automation.onNotify({ alert: resolvedAt(escalateAt + HOUR), rule: 'HighCPU' });
    expect(h.published).toHaveLength(scheduled);
    expect(issue.comments.at(-1)).toBe('Resolved at 2024-05-01T15:30:00.000Z after 5h30m of downtime.');
    expect(await h.workflow()).toMatchObject({ stage: 'closed', closeReason: 'resolved' });
  });

  it('opens no ticket when the alert resolves before the SLA', async () => {
    const h = harness();
    await putAlert(h.store, 'firing');
    await h.automation.onNotify({ alert: firing, rule: 'HighCPU' });
    await putAlert(h.store, 'resolved', { resolvedAt: FIRED_AT + 10 * MINUTE });
    await h.automation.onNotify({ alert: resolvedAt(FIRED_AT + 10 * MINUTE), rule: 'HighCPU' });
    expect(await h.workflow()).toMatchObject({ stage: 'closed', closeReason: 'resolved' });

    await h.runNextCheck();
    expect(h.tracker.issues).toEqual([]);
    expect(h.published).toHaveLength(1);
  });

  it('opens no ticket when the resolution was missed but the alert record is no longer firing', async () => {
    const h = harness();
    await h.automation.onNotify({ alert: firing, rule: 'HighCPU' });
    await putAlert(h.store, 'resolved');
    await h.runNextCheck();
    expect(h.tracker.issues).toEqual([]);
    expect(await h.workflow()).toMatchObject({ stage: 'closed', closeReason: 'alert no longer firing' });
  });

  it('opens no ticket for an earlier firing episode of an alert that fired again', async () => {
    const h = harness();
    await h.automation.onNotify({ alert: firing, rule: 'HighCPU' });
    await putAlert(h.store, 'firing', { firedAt: FIRED_AT + 20 * MINUTE });
    await h.runNextCheck();
    expect(h.tracker.issues).toEqual([]);
  });

  it('removes workflows closed longer than the retention ago when another closes, keeping open and recent ones', async () => {
    const h = harness();
    const other = (fingerprint: string, status: AlertPayload['status'] = 'firing'): AlertPayload =>
      status === 'firing' ? { ...firing, fingerprint } : { ...resolvedAt(h.clock.t), fingerprint };
    await h.automation.onNotify({ alert: firing, rule: 'HighCPU' });
    await h.automation.onNotify({ alert: resolvedAt(h.clock.t), rule: 'HighCPU' });
    await h.automation.onNotify({ alert: other('still-firing'), rule: 'HighCPU' });
    const closedAt = h.clock.t;

    h.clock.t = closedAt + TICKET_RETENTION_MS;
    await h.automation.onNotify({ alert: other('recent'), rule: 'HighCPU' });
    await h.automation.onNotify({ alert: other('recent', 'resolved'), rule: 'HighCPU' });
    expect(await h.workflow()).toMatchObject({ stage: 'closed' });

    h.clock.t = closedAt + TICKET_RETENTION_MS + 1;
    await h.automation.onNotify({ alert: other('latest'), rule: 'HighCPU' });
    await h.automation.onNotify({ alert: other('latest', 'resolved'), rule: 'HighCPU' });
    expect(await h.workflow()).toBeUndefined();
    const left = (await h.store.notifierState.find({ where: { kind: 'ticket' } })) as TicketWorkflow[];
    expect(left.map((w) => [w.fingerprint, w.stage]).sort()).toEqual([
      ['latest', 'closed'],
      ['recent', 'closed'],
      ['still-firing', 'waiting'],
    ]);
  });

  it('comments on the ticket when the alert resolves while it is open', async () => {
    const h = harness();
    await putAlert(h.store, 'firing');
    await h.automation.onNotify({ alert: firing, rule: 'HighCPU' });
    await h.runNextCheck();
    await h.automation.onNotify({ alert: resolvedAt(FIRED_AT + HOUR), rule: 'HighCPU' });
    expect(h.tracker.issues[0]?.comments).toEqual(['Resolved at 2024-05-01T11:00:00.000Z after 1h of downtime.']);

    // The escalation check that was already scheduled finds the workflow closed.
    await h.runNextCheck();
    expect(h.tracker.issues[0]?.comments).toHaveLength(1);
    expect(h.tracker.issues[0]?.assignee).toBe('acc-alice');
  });

  it('a redelivered check, firing notification or resolution does its work once', async () => {
    const h = harness();
    await putAlert(h.store, 'firing');
    await h.automation.onNotify({ alert: firing, rule: 'HighCPU' });
    await h.automation.onNotify({ alert: firing, rule: 'HighCPU' });
    expect(new Set(h.published.map((p) => p.message.id)).size).toBe(1);

    const sla = await h.runNextCheck();
    await h.automation.onCheck(sla.message.payload);
    expect(h.tracker.issues).toHaveLength(1);
    expect(await h.workflow()).toMatchObject({ stage: 'open', issueKey: 'OPS-1' });
    // The stale copy re-published the current step (deduplicated by id), in case a crash had lost it.
    expect(h.published.at(-1)?.message.id).toBe(h.published.at(-2)?.message.id);

    const escalation = await h.runNextCheck();
    await h.automation.onCheck(escalation.message.payload);
    expect(h.tracker.issues[0]?.comments).toHaveLength(1);

    await h.automation.onNotify({ alert: resolvedAt(FIRED_AT + 6 * HOUR), rule: 'HighCPU' });
    await h.automation.onNotify({ alert: resolvedAt(FIRED_AT + 6 * HOUR), rule: 'HighCPU' });
    expect(h.tracker.issues[0]?.comments).toHaveLength(2);
  });

  it('does not open a second issue when the create succeeded but its reply was lost', async () => {
    const h = harness();
    await putAlert(h.store, 'firing');
    await h.automation.onNotify({ alert: firing, rule: 'HighCPU' });
    h.tracker.loseNextCreateReply = true;
    const sla = h.published.at(-1)!;
    h.clock.t = sla.message.payload.due;
    await expect(h.automation.onCheck(sla.message.payload)).rejects.toThrow('socket hang up');
    expect(await h.workflow()).toMatchObject({ stage: 'creating' });

    await h.automation.onCheck(sla.message.payload);
    expect(h.tracker.issues).toHaveLength(1);
    expect(h.tracker.issues[0]?.assignee).toBe('acc-alice');
    expect(await h.workflow()).toMatchObject({ stage: 'open', issueKey: 'OPS-1' });
  });

  it('resumes after a restart between steps, from the store alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-tickets-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'vigil.db');
    const tracker = new RecordingTracker();

    const first = SqliteStore.open(file);
    const before = harness({ store: first, tracker });
    await putAlert(first, 'firing');
    await before.automation.onNotify({ alert: firing, rule: 'HighCPU' });
    await before.runNextCheck();
    const escalation = before.published.at(-1)!;
    await first.close();

    // The delayed message survived in the transport; a new process with a new automation handles it.
    const second = SqliteStore.open(file);
    cleanups.push(() => second.close());
    const after = harness({ store: second, tracker, clockAt: escalation.message.payload.due });
    await after.automation.onCheck(escalation.message.payload);
    expect(tracker.issues).toHaveLength(1);
    expect(tracker.issues[0]).toMatchObject({ assignee: 'acc-bob', comments: ['Escalated after 4 h unresolved; reassigned to bob.'] });
    expect(await after.workflow()).toMatchObject({ stage: 'escalated' });
  });

  it('asks the configured schedules who is on call (daily rotation, hand-off at 09:00 Berlin)', async () => {
    const config = CONFIG.replace(
      '- { name: primary, layers: [{ rotation: weekly, handoff: "09:00", start: "2024-01-01", users: [alice] }] }',
      '- { name: primary, time_zone: Europe/Berlin, layers: [{ rotation: daily, handoff: "09:00", start: "2024-01-01", users: [alice, bob] }] }',
    );
    const h = harness({ config, fromConfig: true });
    await putAlert(h.store, 'firing');
    await h.automation.onNotify({ alert: firing, rule: 'HighCPU' });
    await h.runNextCheck();
    // The SLA is reached at 12:30 Berlin on 2024-05-01, day 121 of the rotation: odd, so bob.
    expect(h.tracker.issues[0]?.assignee).toBe('acc-bob');
    expect(await h.workflow()).toMatchObject({ assignee: 'bob' });
    await h.runNextCheck();
    expect(h.tracker.issues[0]?.comments).toEqual(['Escalated after 4 h unresolved; reassigned to bob.']);
  });
});

describe('ticket automation against Jira on loopback', () => {
  it('creates the issue assigned to the on-call, survives a lost create reply, escalates and comments the resolution', async () => {
    const jira = await new FakeJira(jiraAuth('vigil', 'secret')).start();
    cleanups.push(() => jira.close());
    let loseCreateReply = false;
    // Jira creates the issue but the reply is lost on the way back.
    jira.fault = (r) => {
      if (!loseCreateReply || r.method !== 'POST' || r.path !== '/rest/api/2/issue') return undefined;
      loseCreateReply = false;
      return { status: 502, body: 'Bad Gateway', apply: true };
    };
    const config = CONFIG.replace('url: "http://127.0.0.1:9"', `url: "${jira.url}"`).replace('project: OPS,', 'project: OPS, timeout: 2s,');
    const h = harness({ config, fromConfig: true, tickets: ticketSystemFromConfig({ config: () => parseConfig(config, join(tmpdir(), 'vigil-tickets-test.yaml'), {}) }) });
    await putAlert(h.store, 'firing');
    await h.automation.onNotify({ alert: firing, rule: 'HighCPU' });

    loseCreateReply = true;
    const sla = h.published.at(-1)!;
    h.clock.t = sla.message.payload.due;
    await expect(h.automation.onCheck(sla.message.payload)).rejects.toThrow('HTTP 502');
    await h.automation.onCheck(sla.message.payload);
    expect(jira.issues.size).toBe(1);
    const [issue] = jira.issues.values();
    expect(issue?.fields).toMatchObject({
      project: { key: 'OPS' },
      issuetype: { name: 'Incident' },
      summary: 'HighCPU: CPU above 90% (down 30m)',
      labels: [TICKET_ID],
      assignee: { accountId: 'acc-alice' },
    });
    expect(issue?.fields.description).toContain('past the 30m SLA');
    expect(await h.workflow()).toMatchObject({ stage: 'open', issueKey: 'OPS-1', assignee: 'alice' });

    await h.runNextCheck();
    expect(issue).toMatchObject({ assignee: 'acc-bob', comments: ['Escalated after 4 h unresolved; reassigned to bob.'] });

    await h.automation.onNotify({ alert: resolvedAt(FIRED_AT + 5 * HOUR), rule: 'HighCPU' });
    expect(issue?.comments.at(-1)).toBe('Resolved at 2024-05-01T15:00:00.000Z after 5h of downtime.');
    expect(jira.calls()).toEqual([
      'POST /rest/api/2/issue',
      'GET /rest/api/2/search/jql',
      'PUT /rest/api/2/issue/OPS-1/assignee',
      'PUT /rest/api/2/issue/OPS-1/assignee',
      'POST /rest/api/2/issue/OPS-1/comment',
      'POST /rest/api/2/issue/OPS-1/comment',
    ]);
  });

  it('dead-letters a check whose tickets.receiver is not a jira receiver', async () => {
    const config = CONFIG.replace('tickets: { receiver: jira,', 'tickets: { receiver: log,');
    const h = harness({ config, tickets: ticketSystemFromConfig({ config: () => parseConfig(config, join(tmpdir(), 'vigil-tickets-test.yaml'), {}) }) });
    await putAlert(h.store, 'firing');
    await h.automation.onNotify({ alert: firing, rule: 'HighCPU' });
    await expect(h.runNextCheck()).rejects.toThrow(expect.objectContaining({ name: 'PermanentError', message: 'tickets.receiver "log" is not a configured jira receiver' }));
  });
});
