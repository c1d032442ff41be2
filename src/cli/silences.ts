import { Command, Option } from 'commander';
import type { SilenceView } from '../api/routes/silences.js';
import { apiClientFromOptions, reportingApiErrors, withApiOptions, type ApiOptions } from './api-client.js';
import { print, printJson, table } from './format.js';

function formatList(silences: SilenceView[]): string {
  if (silences.length === 0) return 'no silences';
  return table(
    ['ID', 'STATE', 'MATCHERS', 'STARTS', 'ENDS', 'BY', { header: 'COMMENT', max: 60 }],
    silences.map((s) => [s.id, s.state, s.matchers.join(' '), s.startsAt, s.endsAt, s.createdBy, s.comment]),
  );
}

export function silencesCommand(): Command {
  const silences = new Command('silences').description('List, add and expire silences (label matchers that mute alerts for a time).');

  silences.addCommand(
    withApiOptions(new Command('list'))
      .description('List silences, newest first, with their state now.')
      .addOption(new Option('--state <state>', 'only silences in this state').choices(['pending', 'active', 'expired']))
      .option('--json', 'print the API response as JSON')
      .action(
        reportingApiErrors(async (opts: ApiOptions & { state?: string; json?: boolean }) => {
          const { silences: list } = await apiClientFromOptions(opts).get<{ silences: SilenceView[] }>(`/api/v1/silences${opts.state ? `?state=${opts.state}` : ''}`);
          if (opts.json) printJson(list);
          else print(formatList(list));
        }),
      ),
  );

  silences.addCommand(
    withApiOptions(new Command('add'))
      .description('Mute alerts matching every matcher, e.g. `vigil silences add \'instance="db-1"\' \'alertname=~"Disk.*"\' --duration 2h --comment "resizing"`. Needs a responder token.')
      .argument('<matchers...>', 'Alertmanager matchers: name="v", name!="v", name=~"re", name!~"re"')
      .requiredOption('--comment <text>', 'why (kept with the silence)')
      .option('--duration <d>', 'how long, from the start (e.g. 30m, 2h)', '1h')
      .option('--start <time>', 'RFC 3339 start (default: now)')
      .option('--end <time>', 'RFC 3339 end, instead of --duration')
      .action(
        reportingApiErrors(async (matchers: string[], opts: ApiOptions & { comment: string; duration: string; start?: string; end?: string }) => {
          const body = { matchers, comment: opts.comment, ...(opts.start ? { startsAt: opts.start } : {}), ...(opts.end ? { endsAt: opts.end } : { duration: opts.duration }) };
          const { silence } = await apiClientFromOptions(opts).post<{ silence: SilenceView }>('/api/v1/silences', body);
          print(`silence ${silence.id} ${silence.state}: ${silence.matchers.join(' ')} from ${silence.startsAt} to ${silence.endsAt}`);
        }),
      ),
  );

  silences.addCommand(
    withApiOptions(new Command('expire'))
      .description('End a silence now; it stays listed as expired. Needs a responder token.')
      .argument('<id>', 'the silence id')
      .action(
        reportingApiErrors(async (id: string, opts: ApiOptions) => {
          const { silence } = await apiClientFromOptions(opts).post<{ silence: SilenceView }>(`/api/v1/silences/${encodeURIComponent(id)}/expire`);
          print(`silence ${silence.id} expired at ${silence.endsAt}`);
        }),
      ),
  );
  return silences;
}
