import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on loopback, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export interface ManagedServer {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

function stopProcess(child: ChildProcess, dir?: string): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      resolve();
    };
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', done);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
}

function missing(binary: string, pkg: string): Error {
  return new Error(`${binary} not found: install it with \`apt-get install ${pkg}\` (or run bash .ci/run, which does)`);
}

/** Starts a private redis-server on a free port, keeping nothing on disk. */
export async function startRedis(): Promise<ManagedServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? missing('redis-server', 'redis-server') : err));
    child.once('spawn', () => resolve());
  });
  const { Redis } = await import('ioredis');
  await waitFor('redis-server', async () => {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined); // refused until the server is up; connect() reports it
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } finally {
      client.disconnect();
    }
  });
  return { url: `redis://127.0.0.1:${port}`, port, process: child, stop: () => stopProcess(child, dir) };
}

/**
 * Starts a real Prometheus (the Debian package) on a free port with the given scrape targets.
 * `scrapeInterval` is kept short so tests see new values quickly.
 */
export async function startPrometheus(targets: string[], scrapeInterval = '1s'): Promise<ManagedServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-prom-'));
  const { writeFileSync } = await import('node:fs');
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(
    configFile,
    [
      'global:',
      `  scrape_interval: ${scrapeInterval}`,
      `  evaluation_interval: ${scrapeInterval}`,
      'scrape_configs:',
      '  - job_name: test',
      '    static_configs:',
      `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const child = spawn('prometheus', [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? missing('prometheus', 'prometheus') : err));
    child.once('spawn', () => resolve());
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('prometheus ready', async () => (await fetch(`${url}/-/ready`)).ok, 30_000, 100);
  return { url, port, process: child, stop: () => stopProcess(child, dir) };
}
