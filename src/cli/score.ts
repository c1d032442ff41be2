import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { DETECTOR_NAMES, type DetectorName } from '../models/anomaly/detector.js';
import { formatScoresCsv, parseSeriesCsv, scoreSeries } from '../models/anomaly/replay.js';

export function scoreCommand(): Command {
  return new Command('score')
    .description('Replay a timestamp,value CSV (NAB format) through the streaming anomaly detector the daemon uses, and write timestamp,value,anomaly_score, one row per input row, in order.')
    .requiredOption('-i, --input <file>', 'CSV with header timestamp,value')
    .requiredOption('-o, --output <file>', 'CSV to write (timestamp,value,anomaly_score)')
    .addOption(new Option('-d, --detector <name>', 'detector family, or the default ensemble').choices(DETECTOR_NAMES).default('ensemble'))
    .action(async (options: { input: string; output: string; detector: DetectorName }) => {
      try {
        const rows = parseSeriesCsv(readFileSync(options.input, 'utf8'), options.input);
        const bar = process.stderr.isTTY ? new SingleBar({ format: 'scoring [{bar}] {percentage}% {value}/{total} points', stream: process.stderr }, Presets.shades_classic) : null;
        bar?.start(rows.length, 0);
        const scores = await scoreSeries(rows, { detector: options.detector, onProgress: (done) => bar?.update(done) });
        bar?.stop();
        writeFileSync(options.output, formatScoresCsv(rows, scores));
      } catch (err) {
        process.stderr.write(`vigil score: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
