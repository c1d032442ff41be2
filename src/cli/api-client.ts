import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { configPath, loadConfig, type VigilConfig } from '../config/load.js';

/** The daemon's default address when neither --url nor --config says otherwise. */
export const DEFAULT_API_URL = 'http://127.0.0.1:9470';

/** How a command finds the daemon: `--url`, `--token`, `--config`, as added by `withApiOptions`. */
export interface ApiOptions {
  url?: string;
  token?: string;
  config?: string;
}

/** The daemon answered with an error, or could not be reached (`status` undefined). */
export class ApiClientError extends Error {
  override name = 'ApiClientError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface ApiClient {
  readonly url: string;
  get<T = unknown>(path: string): Promise<T>;
  post<T = unknown>(path: string, body?: unknown): Promise<T>;
}

/** Adds the options every command that talks to the daemon takes. */
export function withApiOptions(command: Command): Command {
  return command
    .option('--url <url>', `daemon API address (default: server.host/port of --config, else ${DEFAULT_API_URL})`)
    .option('--token <token>', 'API bearer token (default: $VIGIL_TOKEN, else the bootstrap token file of --config)')
    .option('-c, --config <file>', 'the daemon configuration file, to find its address and bootstrap token');
}

/** A wildcard listen address is not one a client can connect to: use loopback on the same family. */
function connectableHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function readConfig(file: string, env: NodeJS.ProcessEnv): VigilConfig {
  try {
    return loadConfig(file, env);
  } catch (err) {
    throw new ApiClientError(`cannot use --config ${file} to find the daemon (pass --url and --token instead):\n${(err as Error).message}`);
  }
}

/** The bootstrap admin token exists only when the config lists no tokens (see the daemon's resolveTokens). */
function bootstrapToken(config: VigilConfig): string | undefined {
  if (config.auth.tokens.length > 0) return undefined;
  const file = configPath(config, config.auth.bootstrap_token_file);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

/** Resolves the daemon's URL and token from options, environment and config, in that order. */
export function apiClientFromOptions(opts: ApiOptions, env: NodeJS.ProcessEnv = process.env): ApiClient {
  const config = opts.config === undefined ? undefined : readConfig(opts.config, env);
  const url = (opts.url ?? (config ? `http://${connectableHost(config.server.host)}:${config.server.port}` : DEFAULT_API_URL)).replace(/\/+$/, '');
  const token = opts.token ?? (env.VIGIL_TOKEN || undefined) ?? (config && bootstrapToken(config));
  return createApiClient(url, token);
}

export function createApiClient(url: string, token: string | undefined): ApiClient {
  async function request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch (err) {
      // fetch hides the socket error behind "fetch failed"; its cause says what happened.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      if (cause?.code === 'ECONNREFUSED') throw new ApiClientError(`cannot reach the Vigil daemon at ${url}: connection refused (is it running? set --url or --config)`);
      throw new ApiClientError(`cannot reach the Vigil daemon at ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.ok) return parsed as T;
    const message = (parsed as { message?: string } | undefined)?.message ?? (text || res.statusText);
    if (res.status === 401) {
      throw new ApiClientError(
        token === undefined
          ? `the daemon at ${url} requires a token: pass --token, set VIGIL_TOKEN, or give --config to use its bootstrap token`
          : `the daemon at ${url} rejected the token (401): check --token or VIGIL_TOKEN`,
        401,
      );
    }
    if (res.status === 403) throw new ApiClientError(`not allowed (403): ${message}`, 403);
    // The API's messages are written for people (no alert X, alert X is pending...): show them as they are.
    throw new ApiClientError(res.status >= 500 ? `the daemon failed (${res.status}): ${message}` : `${message} (${res.status})`, res.status);
  }

  return {
    url,
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body ?? {}),
  };
}

/** Wraps a command action: a failed call prints `vigil: <why>` and exits 1, without a stack trace. */
export function reportingApiErrors<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args);
    } catch (err) {
      if (!(err instanceof ApiClientError)) throw err;
      process.stderr.write(`vigil: ${err.message}\n`);
      process.exitCode = 1;
    }
  };
}
