import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { onTestFinished } from 'vitest';
import { waitFor } from './servers.js';

const MAIN = resolve(import.meta.dirname, '../../src/main.ts');

export interface DaemonProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code or signal. */
  exited: Promise<number | NodeJS.Signals | null>;
}

/** Runs `vigil run` from source in a child process, as an operator would, and waits for /readyz. */
export async function spawnDaemon(configFile: string, url: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<DaemonProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'run', '--config', configFile, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A test that fails before stopping its daemon must not leave it running (it would load later runs).
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | NodeJS.Signals | null>((res) => child.once('exit', (code, signal) => res(signal ?? code)));
  await waitFor(`the daemon at ${url}`, async () => {
    if (child.exitCode !== null) throw new Error(`daemon exited early:\n${output}`);
    return (await fetch(`${url}/readyz`)).ok;
  }, 30_000, 100).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${err.message}\n${output}`);
  });
  return { child, output: () => output, exited };
}
