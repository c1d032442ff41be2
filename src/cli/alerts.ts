import { Command, Option } from 'commander';
import { iso, print, printJson, table } from './format.js';
import { ALERT_STATES } from '../actors/alert-manager/alert.machine.js';
import type { AlertEventRecord, AlertRecord } from '../store/store.js';
import { apiClientFromOptions, reportingApiErrors, withApiOptions, type ApiOptions } from './api-client.js';

/** An alert as the API shows it: the stored record without the machine snapshot. */
type AlertView = Omit<AlertRecord, 'snapshot'>;

const labelText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

function formatList(alerts: AlertView[]): string {
  if (alerts.length === 0) return 'no alerts';
  const rows = alerts.map((a) => {
    const { alertname: _alertname, ...labels } = a.labels; // the RULE column says it
    return [a.id, a.state, a.rule, a.value === undefined ? '-' : String(a.value), iso(a.activeAt), labelText(labels)];
  });
  return table(['ID', 'STATE', 'RULE', 'VALUE', 'ACTIVE SINCE', 'LABELS'], rows);
}

function formatAlert(alert: AlertView, history: AlertEventRecord[]): string {
  const lines = [
    `alert ${alert.id}: ${alert.rule}, ${alert.state}`,
    `  labels:       ${labelText(alert.labels)}`,
    ...Object.entries(alert.annotations).map(([k, v]) => `  ${`${k}:`.padEnd(14)}${v}`),
    `  value:        ${alert.value ?? '-'}`,
    `  active since: ${iso(alert.activeAt)}`,
    `  fired:        ${iso(alert.firedAt)}`,
    `  resolved:     ${iso(alert.resolvedAt)}`,
    '',
    'history:',
  ];
  const rows = history.map((h) => [iso(h.at), `${h.from} -> ${h.to}`, h.by, h.reason]);
  const historyTable = table(['AT', 'TRANSITION', 'BY', 'REASON'], rows).replace(/^/gm, '  ');
  return `${lines.join('\n')}\n${historyTable}`;
}


export function alertsCommand(): Command {
  const alerts = new Command('alerts').description('List, show and acknowledge alerts through the daemon API.');

  alerts.addCommand(
    withApiOptions(new Command('list'))
      .description('List alerts, most recently changed first.')
      .addOption(new Option('--state <state>', 'only alerts in this state').choices(ALERT_STATES))
      .option('--rule <name>', 'only alerts of this rule')
      .option('--outside-monitoring', 'also list alerts that began outside their monitoring windows (hidden by default)')
      .option('--json', 'print the API response as JSON')
      .action(
        reportingApiErrors(async (opts: ApiOptions & { state?: string; rule?: string; outsideMonitoring?: boolean; json?: boolean }) => {
          const query = new URLSearchParams();
          if (opts.outsideMonitoring) query.set('outside_monitoring', 'true');
          if (opts.state) query.set('state', opts.state);
          if (opts.rule) query.set('rule', opts.rule);
          const { alerts: list } = await apiClientFromOptions(opts).get<{ alerts: AlertView[] }>(`/api/v1/alerts${query.size ? `?${query}` : ''}`);
          if (opts.json) printJson(list);
          else print(formatList(list));
        }),
      ),
  );

  alerts.addCommand(
    withApiOptions(new Command('show'))
      .description('Show one alert with its history: every transition, who made it and why.')
      .argument('<id>', 'the alert id (its fingerprint)')
      .option('--json', 'print the API response as JSON')
      .action(
        reportingApiErrors(async (id: string, opts: ApiOptions & { json?: boolean }) => {
          const shown = await apiClientFromOptions(opts).get<{ alert: AlertView; history: AlertEventRecord[] }>(`/api/v1/alerts/${encodeURIComponent(id)}`);
          if (opts.json) printJson(shown);
          else print(formatAlert(shown.alert, shown.history));
        }),
      ),
  );

  alerts.addCommand(
    withApiOptions(new Command('ack'))
      .description('Acknowledge a firing alert: escalation stops and receivers hear who took it. Needs a responder token.')
      .argument('<id>', 'the alert id (its fingerprint)')
      .option('--comment <text>', 'why, or what is being done; kept in the alert history')
      .action(
        reportingApiErrors(async (id: string, opts: ApiOptions & { comment?: string }) => {
          const body = opts.comment === undefined ? {} : { comment: opts.comment };
          const accepted = await apiClientFromOptions(opts).post<{ by: string }>(`/api/v1/alerts/${encodeURIComponent(id)}/ack`, body);
          print(`acknowledgement of ${id} accepted as ${accepted.by}; \`vigil alerts show ${id}\` shows it once recorded`);
        }),
      ),
  );

  return alerts;
}
