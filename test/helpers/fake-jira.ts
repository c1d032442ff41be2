import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from './webhook-receiver.js';

/** `Basic` credentials as the fake expects them in the Authorization header. */
export const jiraAuth = (username: string, token: string): string => `Basic ${Buffer.from(`${username}:${token}`).toString('base64')}`;

export interface FakeIssue {
  key: string;
  fields: Record<string, unknown>;
  labels: string[];
  status: string;
  comments: string[];
  assignee?: string;
}

/** Open → In Progress → Done, as in Jira's default workflow; ids as Jira numbers them. */
const WORKFLOW: Record<string, { id: string; name: string; to: { name: string } }[]> = {
  Open: [
    { id: '21', name: 'Start Progress', to: { name: 'In Progress' } },
    { id: '31', name: 'Done', to: { name: 'Done' } },
  ],
  'In Progress': [{ id: '31', name: 'Done', to: { name: 'Done' } }],
  Done: [{ id: '11', name: 'Reopen', to: { name: 'Open' } }],
};

type Fault = { status: number; body?: string; delayMs?: number; apply?: boolean } | undefined;

/**
 * A small Jira on a loopback port speaking the REST API v2 calls Vigil makes, with real issue state.
 * `fault` can fail a request before (or, with apply, after) Jira acts on it: a lost reply.
 */
export class FakeJira {
  issues = new Map<string, FakeIssue>();
  fault: (request: ReceivedRequest) => Fault = () => undefined;
  /** Data Center has no /search/jql. */
  legacySearchOnly = false;
  server!: WebhookReceiver;

  /** @param auth the Authorization header every request must carry (see jiraAuth). */
  constructor(private readonly auth: string) {}

  get url(): string {
    return this.server.url.replace('/hook', '');
  }

  get requests(): ReceivedRequest[] {
    return this.server.requests;
  }

  calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path.split('?')[0]}`);
  }

  async start(): Promise<this> {
    this.server = await startWebhookReceiver((_n, request) => {
      const fault = this.fault(request);
      if (fault && !fault.apply) return fault;
      const answer = this.handle(request);
      return fault ?? answer;
    });
    return this;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private json(status: number, body: unknown) {
    return { status, body: JSON.stringify(body) };
  }

  private handle(request: ReceivedRequest): { status: number; body?: string } {
    if (request.headers.authorization !== this.auth) return this.json(401, { errorMessages: ['Unauthorized'] });
    const { pathname, searchParams } = new URL(request.path, 'http://jira');
    const body = request.json as Record<string, unknown> | undefined;
    if (request.method === 'POST' && pathname === '/rest/api/2/issue') {
      const fields = body?.fields as Record<string, unknown>;
      if (!fields?.summary) return this.json(400, { errors: { summary: 'You must specify a summary of the issue.' } });
      const key = `${(fields.project as { key: string }).key}-${this.issues.size + 1}`;
      this.issues.set(key, { key, fields, labels: (fields.labels as string[]) ?? [], status: 'Open', comments: [] });
      return this.json(201, { id: String(10_000 + this.issues.size), key, self: `${this.url}/rest/api/2/issue/${key}` });
    }
    if (request.method === 'GET' && (pathname === '/rest/api/2/search/jql' || pathname === '/rest/api/2/search')) {
      if (pathname.endsWith('/jql') && this.legacySearchOnly) return this.json(404, { errorMessages: ['Not found'] });
      const jql = searchParams.get('jql') ?? '';
      const label = /labels = "([^"]+)"/.exec(jql)?.[1];
      const openOnly = jql.includes('statusCategory != Done');
      const found = [...this.issues.values()].filter((i) => i.labels.includes(label ?? '') && (!openOnly || i.status !== 'Done')).reverse();
      return this.json(200, { issues: found.slice(0, Number(searchParams.get('maxResults') ?? 50)).map((i) => ({ key: i.key })) });
    }
    const match = /^\/rest\/api\/2\/issue\/([^/]+)(?:\/(comment|transitions|assignee))?$/.exec(pathname);
    const issue = match ? this.issues.get(decodeURIComponent(match[1] ?? '')) : undefined;
    if (!issue) return this.json(404, { errorMessages: ['Issue does not exist or you do not have permission to see it.'] });
    const action = match?.[2];
    if (request.method === 'GET' && action === undefined) return this.json(200, { key: issue.key, fields: { status: { name: issue.status } } });
    if (request.method === 'POST' && action === 'comment') {
      issue.comments.push(String(body?.body));
      return this.json(201, { id: String(issue.comments.length), body: body?.body });
    }
    if (action === 'transitions') {
      const available = WORKFLOW[issue.status] ?? [];
      if (request.method === 'GET') return this.json(200, { transitions: available });
      const chosen = available.find((t) => t.id === (body?.transition as { id: string }).id);
      if (!chosen) return this.json(400, { errorMessages: ['Transition id is not valid for this issue.'] });
      issue.status = chosen.to.name;
      return { status: 204 };
    }
    if (request.method === 'PUT' && action === 'assignee') {
      issue.assignee = String(body?.accountId);
      return { status: 204 };
    }
    return this.json(405, { errorMessages: ['Method not allowed'] });
  }
}

