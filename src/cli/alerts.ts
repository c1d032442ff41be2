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
    `  assignee:     ${alert.assignee ?? '-'}`,
    '',
    'history:',
  ];
  const rows = history.map((h) => [iso(h.at), h.action ?? `${h.from} -> ${h.to}`, h.by, h.reason]);
  const historyTable = table(['AT', 'EVENT', 'BY', 'REASON'], rows).replace(/^/gm, '  ');
  return `${lines.join('\n')}\n${historyTable}`;
}


export function alertsCommand(): Command {
  const alerts = new Command('alerts').description('List, show, acknowledge, assign, comment on and resolve alerts through the daemon API.');

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

  /** ack and resolve: one alert through its own endpoint, several through the bulk endpoint. */
  for (const [name, verb, description] of [
    ['ack', 'acknowledgement', 'Acknowledge firing alerts: escalation stops and receivers hear who took them. Needs a responder token.'],
    ['resolve', 'resolution', 'Resolve active alerts by hand (they fire again if the condition still holds). Needs a responder token.'],
  ] as const) {
    alerts.addCommand(
      withApiOptions(new Command(name))
        .description(description)
        .argument('<ids...>', 'alert ids (fingerprints); several are sent as one bulk request')
        .option('--comment <text>', 'why, or what is being done; kept in the alert history')
        .action(
          reportingApiErrors(async (ids: string[], opts: ApiOptions & { comment?: string }) => {
            const client = apiClientFromOptions(opts);
            const comment = opts.comment === undefined ? {} : { comment: opts.comment };
            if (ids.length === 1) {
              const id = ids[0] as string;
              const accepted = await client.post<{ by: string }>(`/api/v1/alerts/${encodeURIComponent(id)}/${name}`, comment);
              print(`${verb} of ${id} accepted as ${accepted.by}; \`vigil alerts show ${id}\` shows it once recorded`);
              return;
            }
            const result = await client.post<{ by: string; accepted: string[]; skipped: { id: string; reason: string }[] }>(`/api/v1/alerts/bulk/${name}`, { ids, ...comment });
            print(`${verb} of ${result.accepted.length} alert(s) accepted as ${result.by}`);
            for (const s of result.skipped) print(`skipped ${s.id}: ${s.reason}`);
          }),
        ),
    );
  }

  alerts.addCommand(
    withApiOptions(new Command('assign'))
      .description('Assign an alert to someone; kept in the alert history. Needs a responder token.')
      .argument('<id>', 'the alert id (its fingerprint)')
      .argument('<assignee>', 'who takes it')
      .action(
        reportingApiErrors(async (id: string, assignee: string, opts: ApiOptions) => {
          const accepted = await apiClientFromOptions(opts).post<{ by: string }>(`/api/v1/alerts/${encodeURIComponent(id)}/assign`, { assignee });
          print(`assignment of ${id} to ${assignee} accepted as ${accepted.by}`);
        }),
      ),
  );

  alerts.addCommand(
    withApiOptions(new Command('comment'))
      .description('Add a comment to an alert in any state, also after it closed. Needs a responder token.')
      .argument('<id>', 'the alert id (its fingerprint)')
      .argument('<text>', 'the comment')
      .action(
        reportingApiErrors(async (id: string, text: string, opts: ApiOptions) => {
          const accepted = await apiClientFromOptions(opts).post<{ by: string }>(`/api/v1/alerts/${encodeURIComponent(id)}/comments`, { text });
          print(`comment on ${id} accepted as ${accepted.by}`);
        }),
      ),
  );

  return alerts;
}
