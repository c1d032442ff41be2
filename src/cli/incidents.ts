import { Command, Option } from 'commander';
import { INCIDENT_STATES, type Incident } from '../incidents/incidents.js';
import { apiClientFromOptions, reportingApiErrors, withApiOptions, type ApiOptions } from './api-client.js';
import { iso, print, printJson, table } from './format.js';

function formatList(incidents: Incident[]): string {
  if (incidents.length === 0) return 'no incidents';
  return table(
    ['ID', 'STATE', 'OPENED', 'ALERTS', 'CONFIDENCE', 'ASSIGNEE', { header: 'TITLE', max: 70 }],
    incidents.map((i) => [i.id, i.state, iso(i.createdAt), String(i.members.length), i.confidence, i.assignee ?? '-', i.title]),
  );
}

function formatIncident(i: Incident): string {
  const lines = [
    `incident ${i.id}: ${i.title}, ${i.state}`,
    `  root cause:  ${i.rootCause ? `${i.rootCause.alertname}${i.rootCause.resource ? ` on ${i.rootCause.resource}` : ''} (${i.rootCause.fingerprint}): ${i.rootCause.reason}` : '-'}`,
    `  confidence:  ${i.confidence}: ${i.reason}`,
    `  assignee:    ${i.assignee ?? '-'}`,
    `  opened:      ${iso(i.createdAt)}`,
    ...(i.mergedInto ? [`  merged into: ${i.mergedInto}`] : []),
    '',
    'alerts:',
    table(['ID', 'ALERT', 'RESOURCE', 'STATE', 'SINCE', 'CONFIDENCE', 'WHY'], i.members.map((m) => [m.fingerprint, m.alertname, m.resource ?? '-', m.state, iso(m.at), m.confidence, m.reason])).replace(/^/gm, '  '),
    '',
    'timeline:',
    table(['AT', 'BY', 'WHAT', 'TEXT'], i.timeline.map((e) => [iso(e.at), e.by, e.action, e.text])).replace(/^/gm, '  '),
  ];
  const series = Object.entries(i.related.samples);
  if (series.length) lines.push('', 'recent samples:', ...series.map(([s, points]) => `  ${s}: ${points.map(([, v]) => Number(v.toFixed(3))).join(' ')}`));
  if (i.related.neighbours.length) lines.push('', 'neighbouring alerts at the start:', ...i.related.neighbours.map((n) => `  ${iso(n.at)} ${n.alertname}${n.resource ? ` on ${n.resource}` : ''} (${n.fingerprint})`));
  return lines.join('\n');
}

export function incidentsCommand(): Command {
  const incidents = new Command('incidents').description('Incidents: related alerts grouped with their root cause; list, show and work them.');
  const shown = (opts: { json?: boolean }) => (r: { incident: Incident }) => (opts.json ? printJson(r.incident) : print(formatIncident(r.incident)));

  incidents.addCommand(
    withApiOptions(new Command('list'))
      .description('List incidents, newest first.')
      .addOption(new Option('--state <state>', 'only incidents in this state').choices(INCIDENT_STATES))
      .option('--json', 'print the API response as JSON')
      .action(
        reportingApiErrors(async (opts: ApiOptions & { state?: string; json?: boolean }) => {
          const { incidents: list } = await apiClientFromOptions(opts).get<{ incidents: Incident[] }>(`/api/v1/incidents${opts.state ? `?state=${encodeURIComponent(opts.state)}` : ''}`);
          if (opts.json) printJson(list);
          else print(formatList(list));
        }),
      ),
  );

  incidents.addCommand(
    withApiOptions(new Command('show'))
      .description('Show an incident: root cause, alerts with why each belongs, timeline, recent samples and neighbouring alerts.')
      .argument('<id>')
      .option('--json', 'print the API response as JSON')
      .action(reportingApiErrors(async (id: string, opts: ApiOptions & { json?: boolean }) => shown(opts)(await apiClientFromOptions(opts).get(`/api/v1/incidents/${encodeURIComponent(id)}`)))),
  );

  incidents.addCommand(
    withApiOptions(new Command('ack'))
      .description('Take an open incident: it becomes investigating, assigned to you unless assigned. Needs a responder token.')
      .argument('<id>')
      .action(
        reportingApiErrors(async (id: string, opts: ApiOptions) => {
          const { incident } = await apiClientFromOptions(opts).post<{ incident: Incident }>(`/api/v1/incidents/${encodeURIComponent(id)}/ack`);
          print(`incident ${incident.id} is ${incident.state}, assigned to ${incident.assignee ?? '-'}`);
        }),
      ),
  );

  incidents.addCommand(
    withApiOptions(new Command('comment'))
      .description('Add a comment to the incident timeline. Needs a responder token.')
      .argument('<id>')
      .argument('<text>')
      .action(
        reportingApiErrors(async (id: string, text: string, opts: ApiOptions) => {
          await apiClientFromOptions(opts).post(`/api/v1/incidents/${encodeURIComponent(id)}/comment`, { text });
          print(`comment added to ${id}`);
        }),
      ),
  );

  incidents.addCommand(
    withApiOptions(new Command('merge'))
      .description('Move the alerts of other incidents into this one; the others close. Needs a responder token.')
      .argument('<id>', 'the incident that stays')
      .argument('<others...>', 'incidents merged into it')
      .action(
        reportingApiErrors(async (id: string, others: string[], opts: ApiOptions) => {
          const { incident } = await apiClientFromOptions(opts).post<{ incident: Incident }>(`/api/v1/incidents/${encodeURIComponent(id)}/merge`, { incidents: others });
          print(`incident ${incident.id} now has ${incident.members.length} alerts; root cause ${incident.rootCause?.alertname ?? '-'}`);
        }),
      ),
  );

  incidents.addCommand(
    withApiOptions(new Command('split'))
      .description('Move some alerts out of an incident into a new one. Needs a responder token.')
      .argument('<id>')
      .argument('<alerts...>', 'fingerprints of the alerts to move')
      .action(
        reportingApiErrors(async (id: string, alerts: string[], opts: ApiOptions) => {
          const { to } = await apiClientFromOptions(opts).post<{ from: Incident; to: Incident }>(`/api/v1/incidents/${encodeURIComponent(id)}/split`, { alerts });
          print(`new incident ${to.id}: ${to.title}`);
        }),
      ),
  );
  return incidents;
}
