import { Command } from 'commander';
import { loadConfig } from '../config/load.js';

export function validateCommand(): Command {
  return new Command('validate')
    .description('Check a configuration file; prints each problem with its file, line and path, exits 1 when invalid.')
    .argument('<file>', 'configuration file (YAML)')
    .action((file: string) => {
      try {
        const config = loadConfig(file);
        process.stdout.write(`${file}: valid (${config.rules.length} rules, ${config.collector.sources.length} sources, ${config.notifier.receivers.length} receivers)\n`);
      } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
