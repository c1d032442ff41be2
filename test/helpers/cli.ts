import { vi } from 'vitest';
import { createProgram } from '../../src/cli/program.js';

/** Runs `vigil ...args` in this process, as the binary would, and collects what it prints and its exit code. */
export async function vigil(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  process.exitCode = undefined;
  try {
    await createProgram().exitOverride().parseAsync(['node', 'vigil', ...args]);
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { out, err, code };
}
