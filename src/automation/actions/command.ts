import { spawn } from 'node:child_process';
import { bounded, type ActionResult, type Redact } from './types.js';

export interface CommandSpec {
  argv: string[];
  env: Record<string, string>;
  /** Names in `env` whose values are secret: shown as `***` in the audit. */
  secretEnv: ReadonlySet<string>;
  cwd?: string;
  timeoutMs: number;
  maxOutputBytes: number;
}

/** How long a process may take to exit after SIGTERM before it is killed. */
const KILL_GRACE_MS = 2_000;

export function describeCommand(spec: CommandSpec, redact: Redact): Record<string, unknown> {
  return {
    kind: 'command',
    argv: spec.argv.map(redact),
    env: Object.fromEntries(Object.entries(spec.env).map(([k, v]) => [k, spec.secretEnv.has(k) ? '***' : redact(v)])),
    ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
    timeoutMs: spec.timeoutMs,
  };
}

/**
 * Runs argv[0] with argv[1..] as separate arguments: no shell ever sees them, so a label value such as
 * `; rm -rf /` is one literal argument. The environment is PATH plus what the step sets, not Vigil's own
 * (which may hold secrets). Output is kept up to maxOutputBytes per stream.
 */
export function runCommand(spec: CommandSpec, redact: Redact): Promise<ActionResult> {
  const started = Date.now();
  const action = describeCommand(spec, redact);
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const size = { out: 0, err: 0 };
    const keep = (into: Buffer[], key: 'out' | 'err') => (chunk: Buffer) => {
      if (size[key] < spec.maxOutputBytes) into.push(chunk);
      size[key] += chunk.length;
    };
    let child;
    try {
      child = spawn(spec.argv[0] as string, spec.argv.slice(1), {
        shell: false,
        cwd: spec.cwd,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...spec.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      resolve({ ok: false, action, error: redact((e as Error).message), durationMs: Date.now() - started, dryRun: false });
      return;
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
    }, spec.timeoutMs);
    child.stdout.on('data', keep(out, 'out'));
    child.stderr.on('data', keep(err, 'err'));
    let spawnError: Error | undefined;
    child.on('error', (e) => (spawnError = e));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = redact(bounded(out, size.out, spec.maxOutputBytes));
      const stderr = redact(bounded(err, size.err, spec.maxOutputBytes));
      const error = spawnError
        ? redact(spawnError.message)
        : timedOut
          ? `timed out after ${spec.timeoutMs}ms`
          : code !== 0
            ? `exited with ${code ?? signal}`
            : undefined;
      resolve({
        ok: error === undefined,
        action,
        ...(code === null ? {} : { status: code }),
        ...(signal ? { signal } : {}),
        stdout,
        stderr,
        ...(error ? { error } : {}),
        durationMs: Date.now() - started,
        dryRun: false,
      });
    });
  });
}
