import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClientFromOptions, ApiClientError, DEFAULT_API_URL } from '../../src/cli/api-client.js';

/** A stand-in daemon: answers with the status named in the path and echoes what it was sent. */
function startEchoServer(): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const status = Number(/\/status\/(\d+)/.exec(req.url ?? '')?.[1] ?? 200);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `said ${status}`, method: req.method, url: req.url, authorization: req.headers.authorization ?? null, body }));
    });
  });
  return new Promise((ready) => server.listen(0, '127.0.0.1', () => ready(server)));
}

describe('daemon API client', () => {
  let server: Server;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    server = await startEchoServer();
    port = (server.address() as AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'vigil-api-client-'));
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function writeConfig(name: string, text: string): string {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  }

  it('defaults to the local daemon', () => {
    expect(apiClientFromOptions({}, {}).url).toBe(DEFAULT_API_URL);
  });

  it('finds the daemon and its bootstrap token through the config, connecting to loopback for a wildcard host', async () => {
    mkdirSync(join(dir, 'secrets'), { recursive: true });
    writeFileSync(join(dir, 'secrets/admin.token'), 'bootstrap-secret\n');
    const config = writeConfig('bootstrap.yaml', `server: { host: 0.0.0.0, port: ${port} }\nauth: { bootstrap_token_file: secrets/admin.token }\n`);
    const client = apiClientFromOptions({ config }, {});
    expect(client.url).toBe(`http://127.0.0.1:${port}`);
    expect(await client.get('/api/v1/alerts')).toMatchObject({ method: 'GET', authorization: 'Bearer bootstrap-secret' });

    // --token, then VIGIL_TOKEN, win over the file; --url wins over the config.
    expect(await apiClientFromOptions({ config }, { VIGIL_TOKEN: 'from-env' }).get('/')).toMatchObject({ authorization: 'Bearer from-env' });
    expect(await apiClientFromOptions({ config, token: 'from-flag' }, { VIGIL_TOKEN: 'from-env' }).get('/')).toMatchObject({ authorization: 'Bearer from-flag' });
    expect(apiClientFromOptions({ config, url: 'http://vigil.internal:9000/' }, {}).url).toBe('http://vigil.internal:9000');
  });

  it('does not use a leftover bootstrap token when the config lists tokens', async () => {
    const config = writeConfig('tokens.yaml', `server: { port: ${port} }\nauth: { bootstrap_token_file: secrets/admin.token, tokens: [{ name: a, role: admin, token: t }] }\n`);
    expect(await apiClientFromOptions({ config }, {}).get('/')).toMatchObject({ authorization: null });
  });

  it('posts JSON', async () => {
    const client = apiClientFromOptions({ url: `http://127.0.0.1:${port}`, token: 't' }, {});
    expect(await client.post('/api/v1/alerts/x/ack', { comment: 'on it' })).toMatchObject({ method: 'POST', body: '{"comment":"on it"}' });
    expect(await client.post('/api/v1/alerts/x/ack')).toMatchObject({ body: '{}' });
  });

  it.each([
    [401, undefined, 'requires a token: pass --token, set VIGIL_TOKEN, or give --config'],
    [401, 'stale', 'rejected the token (401): check --token or VIGIL_TOKEN'],
    [403, 'viewer', 'not allowed (403): said 403'],
    [409, 'responder', 'said 409 (409)'],
    [500, 'responder', 'the daemon failed (500): said 500'],
  ])('explains a %i answer (token %s)', async (status, token, message) => {
    const client = apiClientFromOptions({ url: `http://127.0.0.1:${port}`, ...(token === undefined ? {} : { token }) }, {});
    const err = await client.get(`/status/${status}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiClientError);
    expect(err).toMatchObject({ status });
    expect((err as Error).message).toContain(message);
  });

  it('says so when no daemon listens, and when the config cannot be read', async () => {
    const closed = await startEchoServer();
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((done) => closed.close(done));
    await expect(apiClientFromOptions({ url: `http://127.0.0.1:${closedPort}`, token: 't' }, {}).get('/')).rejects.toThrow(
      `cannot reach the Vigil daemon at http://127.0.0.1:${closedPort}: connection refused (is it running? set --url or --config)`,
    );
    expect(() => apiClientFromOptions({ config: join(dir, 'missing.yaml') }, {})).toThrow(/cannot use --config .*missing\.yaml .*pass --url and --token instead/s);
  });
});
