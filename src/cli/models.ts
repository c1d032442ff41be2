import { Command, InvalidArgumentError } from 'commander';
import type { ModelView } from '../api/routes/models.js';
import type { ModelRecord } from '../store/store.js';
import { apiClientFromOptions, reportingApiErrors, withApiOptions, type ApiOptions } from './api-client.js';
import { iso, print, printJson, table } from './format.js';

/** The fields the anomaly detector writes into a model's params (see model-codec.ts). */
interface ModelParams {
  points?: number;
  trainedAt?: number;
  lastPointAt?: number;
  anomalous?: boolean;
  bytes?: number;
  trainingWindow?: { from: number; to: number; points: number };
  quality?: Record<string, number>;
  normalisation?: Record<string, number>;
  hyperParameters?: Record<string, unknown>;
}

const paramsOf = (m: ModelRecord) => m.params as ModelParams;
const bytesText = (n: number | undefined) => (n === undefined ? '-' : n < 10_240 ? `${n} B` : `${(n / 1024).toFixed(0)} KiB`);

export function formatModelList(models: ModelRecord[]): string {
  if (models.length === 0) return 'no models';
  const columns = [{ header: 'SERIES', max: 60 }, { header: 'KIND', max: 22 }, 'VERSION', 'POINTS', { header: 'TRAINED', max: 20 }, { header: 'SAVED', max: 20 }, 'STATE', 'SIZE'];
  const rows = models.map((m) => {
    const p = paramsOf(m);
    return [m.id, m.kind, String(m.version), String(p.points ?? '-'), iso(p.trainedAt), iso(m.createdAt), p.anomalous ? 'anomalous' : 'normal', bytesText(p.bytes)];
  });
  return table(columns, rows);
}

export function formatModel(m: ModelView): string {
  const p = paramsOf(m);
  const field = (name: string, value: string) => `  ${`${name}:`.padEnd(16)}${value}`;
  const json = (value: unknown) => (value === undefined ? '-' : JSON.stringify(value));
  return [
    `model ${m.id}`,
    field('kind', m.kind),
    field('version', `${m.version} (trainings)`),
    field('points', String(p.points ?? '-')),
    field('last point', iso(p.lastPointAt)),
    field('state', p.anomalous ? 'anomalous' : 'normal'),
    field('trained', iso(p.trainedAt)),
    field('window', p.trainingWindow ? `${iso(p.trainingWindow.from)} .. ${iso(p.trainingWindow.to)} (${p.trainingWindow.points} points)` : '-'),
    field('quality', json(p.quality)),
    field('normalisation', json(p.normalisation)),
    field('saved', iso(m.createdAt)),
    field('size', bytesText(m.bytes)),
    field('parameters', json(p.hyperParameters)),
  ].join('\n');
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('expected a whole number from 1 to 10000');
  return n;
}

export function modelsCommand(): Command {
  const models = new Command('models').description("The anomaly detector's models: list, show and retrain through the daemon API.");

  models.addCommand(
    withApiOptions(new Command('list'))
      .description('List saved models, most recently saved first: series, detector, trainings, points, size.')
      .option('--kind <kind>', 'only models of this detector kind (e.g. ensemble, multivariate-iforest)')
      .option('--limit <n>', 'at most this many (1-10000)', parseLimit, 100)
      .option('--json', 'print the API response as JSON')
      .action(
        reportingApiErrors(async (opts: ApiOptions & { kind?: string; limit: number; json?: boolean }) => {
          const query = new URLSearchParams({ limit: String(opts.limit) });
          if (opts.kind) query.set('kind', opts.kind);
          const { models: list } = await apiClientFromOptions(opts).get<{ models: ModelRecord[] }>(`/api/v1/models?${query}`);
          if (opts.json) printJson(list);
          else print(formatModelList(list));
        }),
      ),
  );

  models.addCommand(
    withApiOptions(new Command('show'))
      .description('Show one model: training window, quality figures, normalisation, hyper-parameters.')
      .argument('<series>', 'the series id (from `vigil models list`), e.g. \'cpu_usage{instance="h1"}\'')
      .option('--json', 'print the API response as JSON')
      .action(
        reportingApiErrors(async (series: string, opts: ApiOptions & { json?: boolean }) => {
          const { model } = await apiClientFromOptions(opts).get<{ model: ModelView }>(`/api/v1/models/${encodeURIComponent(series)}`);
          if (opts.json) printJson(model);
          else print(formatModel(model));
        }),
      ),
  );

  models.addCommand(
    withApiOptions(new Command('retrain'))
      .description('Relearn a series\' model from its recent points (or every model with --all). Needs an admin token; a failure is reported as a model.training_failed event.')
      .argument('[series]', 'the series id')
      .option('--all', 'every model of every anomaly-detector partition')
      .option('--json', 'print the API response as JSON')
      .action(
        reportingApiErrors(async (series: string | undefined, opts: ApiOptions & { all?: boolean; json?: boolean }) => {
          if ((series === undefined) === !opts.all) {
            process.stderr.write('vigil: name a series, or pass --all (not both)\n');
            process.exitCode = 2;
            return;
          }
          const accepted = await apiClientFromOptions(opts).post<{ status: string; series: string }>('/api/v1/models/retrain', series === undefined ? {} : { series });
          if (opts.json) printJson(accepted);
          else print(`retraining of ${series ?? 'every model'} requested; \`vigil models show\` shows the new version once done`);
        }),
      ),
  );

  return models;
}
