import { basicAuth, httpRequest, type HttpRequest } from '../http.js';

/** A failed Jira call; `retryable` as for every notifier failure (5xx, 429, timeouts: yes; other 4xx: no). */
export class JiraError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'JiraError';
  }
}

export interface JiraClientOptions {
  /** Base URL, e.g. https://example.atlassian.net */
  url: string;
  username: string;
  apiToken: string;
  timeoutMs: number;
}

export interface NewIssue {
  project: string;
  issueType: string;
  summary: string;
  description: string;
  /** Account id (Jira Cloud). */
  assignee?: string;
  labels?: string[];
}

/** The calls the notifier and ticket automation make; each throws a JiraError when Jira says no. */
export interface JiraClient {
  /** Returns the new issue's key, e.g. OPS-42. */
  createIssue(issue: NewIssue): Promise<string>;
  /** Keys of the issues matching a JQL query, first match first. */
  search(jql: string, maxResults?: number): Promise<string[]>;
  /** The newest issue with this label that is not done: finds an issue whose create reply was lost. */
  findOpenIssueByLabel(label: string): Promise<string | undefined>;
  comment(key: string, body: string): Promise<void>;
  /** Applies the transition with this name (or leading to the status with this name); already there counts as done. */
  transition(key: string, name: string): Promise<void>;
  assign(key: string, accountId: string): Promise<void>;
}

interface Transition {
  id: string;
  name: string;
  to?: { name?: string };
}

const sameName = (a: string | undefined, b: string) => a !== undefined && a.localeCompare(b, undefined, { sensitivity: 'accent' }) === 0;

/** Jira REST API v2 with Basic auth (username + API token). */
export function createJiraClient(options: JiraClientOptions): JiraClient {
  const base = options.url.replace(/\/+$/, '');
  const headers = { Authorization: basicAuth(options.username, options.apiToken), Accept: 'application/json', 'Content-Type': 'application/json' };

  async function call(method: NonNullable<HttpRequest['method']>, path: string, body?: unknown): Promise<unknown> {
    const result = await httpRequest({
      method,
      url: `${base}${path}`,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      timeoutMs: options.timeoutMs,
      secrets: [options.apiToken],
    });
    if (!result.ok) throw new JiraError(`${method} ${path.split('?')[0]}: ${result.error}`, result.retryable, result.status);
    if (!result.body) return undefined;
    try {
      return JSON.parse(result.body) as unknown;
    } catch {
      // A 2xx that isn't JSON is a login page or a proxy, not Jira's API: asking again won't change that.
      throw new JiraError(`${method} ${path.split('?')[0]}: the answer is not JSON (is the URL Jira's?)`, false, result.status);
    }
  }

  async function search(jql: string, maxResults = 10): Promise<string[]> {
    const query = `jql=${encodeURIComponent(jql)}&fields=key&maxResults=${maxResults}`;
    let found: unknown;
    try {
      // Jira Cloud's search endpoint; Data Center only has the older /search.
      found = await call('GET', `/rest/api/2/search/jql?${query}`);
    } catch (err) {
      if (!(err instanceof JiraError) || err.status !== 404) throw err;
      found = await call('GET', `/rest/api/2/search?${query}`);
    }
    return ((found as { issues?: { key: string }[] }).issues ?? []).map((issue) => issue.key);
  }

  return {
    async createIssue(issue) {
      const fields: Record<string, unknown> = {
        project: { key: issue.project },
        issuetype: { name: issue.issueType },
        summary: issue.summary,
        description: issue.description,
        ...(issue.labels?.length ? { labels: issue.labels } : {}),
        ...(issue.assignee ? { assignee: { accountId: issue.assignee } } : {}),
      };
      const created = (await call('POST', '/rest/api/2/issue', { fields })) as { key?: string } | undefined;
      if (!created?.key) throw new JiraError('POST /rest/api/2/issue: no issue key in the answer', true);
      return created.key;
    },
    search,
    async findOpenIssueByLabel(label) {
      const [key] = await search(`labels = "${label}" AND statusCategory != Done ORDER BY created DESC`, 1);
      return key;
    },
    async comment(key, body) {
      await call('POST', `/rest/api/2/issue/${encodeURIComponent(key)}/comment`, { body });
    },
    async transition(key, name) {
      const path = `/rest/api/2/issue/${encodeURIComponent(key)}/transitions`;
      const { transitions = [] } = (await call('GET', path)) as { transitions?: Transition[] };
      const match = transitions.find((t) => sameName(t.name, name)) ?? transitions.find((t) => sameName(t.to?.name, name));
      if (match) {
        await call('POST', path, { transition: { id: match.id } });
        return;
      }
      // A retry after the transition went through finds it no longer offered: the issue is already there.
      const issue = (await call('GET', `/rest/api/2/issue/${encodeURIComponent(key)}?fields=status`)) as { fields?: { status?: { name?: string } } };
      const status = issue.fields?.status?.name;
      if (sameName(status, name)) return;
      throw new JiraError(`${key}: no transition "${name}" from status "${status ?? '?'}" (available: ${transitions.map((t) => t.name).join(', ') || 'none'})`, false);
    },
    async assign(key, accountId) {
      await call('PUT', `/rest/api/2/issue/${encodeURIComponent(key)}/assignee`, { accountId });
    },
  };
}
