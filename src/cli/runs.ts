import { Command, InvalidArgumentError, Option } from 'commander';
import type { RunView } from '../api/routes/runs.js';
import type { Recommendation } from '../automation/recommendations.js';
import { REMEDIATION_STATES } from '../automation/remediation.machine.js';
import type { RunbookAuditRecord } from '../store/store.js';
import { apiClientFromOptions, reportingApiErrors, withApiOptions, type ApiOptions } from './api-client.js';
import { iso, print, printJson, table } from './format.js';

export function formatRunList(runs: RunView[]): string {
  if (runs.length === 0) return 'no runs';
  const columns = [{ header: 'ID', max: 48 }, { header: 'CREATED', max: 20 }, { header: 'RUNBOOK', max: 30 }, { header: 'TARGET', max: 30 }, { header: 'STATE', max: 17 }, { header: 'DRY', max: 3 }, { header: 'REASON', max: 70 }];
  return table(columns, runs.map((r) => [r.id, iso(r.createdAt), r.runbook, r.target, r.state, r.dryRun ? 'yes' : '', r.reason ?? '']));
}

/** One audit entry on one line (and its output indented below it). */
function auditLine(a: RunbookAuditRecord): string[] {
  const at = iso(a.at);
  if (a.kind === 'transition') return [`${at}  ${a.from} → ${a.to}  by ${a.by}: ${a.reason}`];
  if (a.kind === 'verify') return [`${at}  verify ${a.ok ? 'passed' : 'failed'}: ${a.detail}`];
  if (a.skipped) return [`${at}  ${a.phase} ${a.name}: skipped (when ${a.when})`];
  const status = a.dryRun ? 'dry-run (not run)' : a.ok ? 'ok' : `FAILED: ${a.error}`;
  const code = a.status === undefined ? '' : ` status ${a.status}`;
  const lines = [`${at}  ${a.phase} ${a.name}: ${status}${code} in ${a.durationMs}ms`, `      ${JSON.stringify(a.action)}`];
  for (const stream of ['stdout', 'stderr'] as const) {
    const text = String(a[stream] ?? '').trimEnd();
    if (text) lines.push(...text.split('\n').slice(0, 20).map((l) => `      ${stream}| ${l}`));
  }
  return lines;
}

export function formatRun(run: RunView, audit: RunbookAuditRecord[]): string {
  const field = (name: string, value: string) => `  ${`${name}:`.padEnd(12)}${value}`;
  return [
    `run ${run.id}: ${run.state}${run.dryRun ? ' (dry-run)' : ''}`,
    field('runbook', run.runbook),
    field('target', run.target),
    field('trigger', `${run.trigger.reason} (message ${run.trigger.messageId})`),
    field('labels', Object.entries(run.data.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ') || '-'),
    field('created', iso(run.createdAt)),
    field('finished', iso(run.finishedAt)),
    ...(run.approvedBy ? [field('approved by', run.approvedBy)] : []),
    ...(run.reason ? [field('reason', run.reason)] : []),
    '',
    'audit:',
    ...audit.flatMap(auditLine).map((l) => `  ${l}`),
  ].join('\n');
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('expected a whole number from 1 to 10000');
  return n;
}

export function runsCommand(): Command {
  const runs = new Command('runs').description('Runbook runs: list, show the audit, approve or deny, the kill switch, downsizing recommendations.');

  runs.addCommand(
    withApiOptions(new Command('list'))
      .description('List runs, newest first.')
      .option('--runbook <name>', 'only runs of this runbook')
      .addOption(new Option('--state <state>', 'only runs in this state').choices(REMEDIATION_STATES))
      .option('--limit <n>', 'at most this many (1-10000)', parseLimit, 100)
      .option('--json', 'print the API response as JSON')
      .action(
        reportingApiErrors(async (opts: ApiOptions & { runbook?: string; state?: string; limit: number; json?: boolean }) => {
          const query = new URLSearchParams({ limit: String(opts.limit) });
          if (opts.runbook) query.set('runbook', opts.runbook);
          if (opts.state) query.set('state', opts.state);
          const { runs: list } = await apiClientFromOptions(opts).get<{ runs: RunView[] }>(`/api/v1/runs?${query}`);
          if (opts.json) printJson(list);
          else print(formatRunList(list));
        }),
      ),
  );

  runs.addCommand(
    withApiOptions(new Command('show'))
      .description('Show one run and its audit: trigger, approvals, each action with its arguments, output, status and duration.')
      .argument('<id>', 'the run id (from `vigil runs list`)')
      .option('--json', 'print the API response as JSON')
      .action(
        reportingApiErrors(async (id: string, opts: ApiOptions & { json?: boolean }) => {
          const res = await apiClientFromOptions(opts).get<{ run: RunView; audit: RunbookAuditRecord[] }>(`/api/v1/runs/${encodeURIComponent(id)}`);
          if (opts.json) printJson(res);
          else print(formatRun(res.run, res.audit));
        }),
      ),
  );

  for (const decision of ['approve', 'deny'] as const) {
    runs.addCommand(
      withApiOptions(new Command(decision))
        .description(`${decision === 'approve' ? 'Approve' : 'Deny'} a run waiting for approval. Needs a responder token.`)
        .argument('<id>', 'the run id (from `vigil runs list --state awaiting_approval`)')
        .option('-m, --comment <text>', 'why, for the audit')
        .action(
          reportingApiErrors(async (id: string, opts: ApiOptions & { comment?: string }) => {
            await apiClientFromOptions(opts).post(`/api/v1/runs/${encodeURIComponent(id)}/${decision}`, opts.comment ? { comment: opts.comment } : {});
            print(`run ${id}: ${decision === 'approve' ? 'approval' : 'denial'} sent; \`vigil runs show ${id}\` follows it`);
          }),
        ),
    );
  }

  runs.addCommand(
    withApiOptions(new Command('kill-switch'))
      .description('Show the automation kill switch, or engage (on) / release (off) it. Changing it needs an admin token.')
      .addArgument(new Command().createArgument('[state]', 'on or off').choices(['on', 'off']))
      .action(
        reportingApiErrors(async (state: 'on' | 'off' | undefined, opts: ApiOptions) => {
          const client = apiClientFromOptions(opts);
          const ks = state === undefined
            ? await client.get<{ engaged: boolean; by: string }>('/api/v1/automation/kill-switch')
            : await client.post<{ engaged: boolean; by: string }>('/api/v1/automation/kill-switch', { engaged: state === 'on' });
          print(`kill switch ${ks.engaged ? 'ENGAGED: no runbook starts' : 'released'} (by ${ks.by})`);
        }),
      ),
  );

  runs.addCommand(
    withApiOptions(new Command('recommendations'))
      .description('Downsizing candidates: resources under the CPU and memory thresholds over the whole window (a report; nothing is changed).')
      .option('--json', 'print the API response as JSON')
      .action(
        reportingApiErrors(async (opts: ApiOptions & { json?: boolean }) => {
          const { recommendations } = await apiClientFromOptions(opts).get<{ recommendations: Recommendation[] }>('/api/v1/recommendations');
          if (opts.json) printJson(recommendations);
          else if (recommendations.length === 0) print('no downsizing candidates');
          else print(table(['RESOURCE', 'MAX CPU %', 'MAX MEM %', 'WINDOW', 'ADVICE'], recommendations.map((r) => [r.resource, r.maxCpuPercent.toFixed(1), r.maxMemoryPercent.toFixed(1), r.window, r.advice])));
        }),
      ),
  );

  return runs;
}
