import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon, type DaemonOptions } from '../../src/app/daemon.js';
import { createLogger } from '../../src/observability/logger.js';

/** A daemon started in a temp dir of its own; its close() also removes the dir. */
export interface TestDaemon extends Daemon {
  /** Holds vigil.yaml and whatever its relative paths name: store, journal, token file. */
  readonly dir: string;
  readonly configFile: string;
}

/**
 * Writes `config` (a function of the dir when it names files there) to vigil.yaml in a fresh temp dir and
 * starts the daemon on it, in this process. It logs warnings and worse to stderr unless `options.logger` is given.
 */
export async function startTestDaemon(config: string | ((dir: string) => string), options: Omit<DaemonOptions, 'configFile'> = {}): Promise<TestDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-test-'));
  const configFile = join(dir, 'vigil.yaml');
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  let daemon: Daemon;
  try {
    writeFileSync(configFile, typeof config === 'function' ? config(dir) : config);
    daemon = await startDaemon({ configFile, logger: createLogger('warn', { destination: process.stderr }), ...options });
  } catch (err) {
    // The caller gets nothing to close when the start fails.
    removeDir();
    throw err;
  }
  return {
    ...daemon,
    dir,
    configFile,
    close: async () => {
      await daemon.close();
      removeDir();
    },
  };
}
