import { Command, InvalidArgumentError } from 'commander';
import { INBOXES, type InboxName } from '../bus/messages.js';
import type { Shard } from '../app/daemon.js';
import { ConfigError } from '../config/load.js';

function parseActors(value: string): InboxName[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(INBOXES as readonly string[]).includes(n));
  if (unknown.length) throw new InvalidArgumentError(`unknown actor(s) ${unknown.join(', ')}; actors are ${INBOXES.join(', ')}`);
  return names as InboxName[];
}

function parseShard(value: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected INDEX/COUNT, e.g. 0/3');
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  if (shard.count < 1 || shard.index >= shard.count) throw new InvalidArgumentError('INDEX must be below COUNT');
  return shard;
}

const SHUTDOWN_TIMEOUT_MS = 30_000;

export function runCommand(): Command {
  return new Command('run')
    .description('Run the Vigil daemon: all actors, or the subset given with --actors.')
    .requiredOption('-c, --config <file>', 'configuration file (YAML)')
    .option('--actors <list>', `comma-separated actors to run in this process (${INBOXES.join(', ')})`, parseActors)
    .option('--port <port>', 'HTTP port, overriding server.port (several processes on one machine)', (v: string) => {
      const port = Number(v);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
      return port;
    })
    .option('--shard <index/count>', 'take partitions p with p % count == index of each partitioned inbox (several processes on bullmq)', parseShard)
    .addHelpText('after', '\nSignals: SIGHUP reloads the config (an invalid file is rejected, the old config keeps running); SIGTERM drains and exits.')
    .action(async (opts: { config: string; actors?: InboxName[]; shard?: Shard; port?: number }) => {
      // Loaded here so that light commands (validate, schema, --help) don't load the whole daemon.
      const { startDaemon } = await import('../app/daemon.js');
      let daemon;
      try {
        daemon = await startDaemon({ configFile: opts.config, actors: opts.actors, shard: opts.shard, port: opts.port });
      } catch (err) {
        process.stderr.write(`vigil: ${err instanceof ConfigError ? 'invalid configuration\n' : ''}${(err as Error).message}\n`);
        process.exit(1);
      }
      const started = daemon;
      process.on('SIGHUP', () => void started.reload());
      const stop = (signal: string) => {
        started.logger.info({ signal }, 'draining and shutting down');
        setTimeout(() => {
          started.logger.error('shutdown timed out');
          process.exit(1);
        }, SHUTDOWN_TIMEOUT_MS).unref();
        void started.close().then(() => process.exit(0));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
