import { Command, InvalidArgumentError, Option } from 'commander';
import { iso, print, printJson, table } from './format.js';
import type { DeliveryView } from '../api/routes/deliveries.js';
import { formatDuration } from '../series/duration.js';
import { apiClientFromOptions, reportingApiErrors, withApiOptions, type ApiOptions } from './api-client.js';

const STATUSES = ['pending', 'sending', 'delivered', 'failed', 'dead'];


/** `850ms`, `1.2s`, `3m12s`: latency as people read it. */
function latencyText(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  return formatDuration(Math.round(ms / 1_000) * 1_000);
}

/** When a waiting delivery is next tried, relative to now. */
function nextText(d: DeliveryView, now: number): string {
  if (d.nextAttemptAt === undefined || (d.status !== 'pending' && d.status !== 'failed')) return '-';
  const wait = d.nextAttemptAt - now;
  return wait <= 0 ? 'due' : `in ${formatDuration(Math.ceil(wait / 1_000) * 1_000)}`;
}

export function formatDeliveryList(deliveries: DeliveryView[], now: number): string {
  if (deliveries.length === 0) return 'no deliveries';
  const columns = [
    { header: 'ID', max: 40 },
    { header: 'CREATED', max: 20 },
    { header: 'RECEIVER', max: 20 },
    { header: 'CHANNEL', max: 10 },
    { header: 'TARGET', max: 40 },
    { header: 'STATUS', max: 9 },
    { header: 'ATTEMPTS', max: 8 },
    { header: 'LATENCY', max: 8 },
    { header: 'NEXT', max: 12 },
    { header: 'LAST ERROR', max: 60 },
  ];
  const rows = deliveries.map((d) => [
    d.id,
    iso(d.createdAt),
    d.receiver,
    d.channel || '-',
    d.target || '-',
    d.status,
    String(d.attempts),
    latencyText(d.latencyMs),
    nextText(d, now),
    d.status === 'delivered' ? '' : (d.lastError ?? ''),
  ]);
  return table(columns, rows);
}

export function formatDelivery(d: DeliveryView, now: number): string {
  const n = d.notification;
  const field = (name: string, value: string) => `  ${`${name}:`.padEnd(15)}${value}`;
  return [
    `delivery ${d.id}: ${d.status}`,
    field('receiver', `${d.receiver} (${d.channel || 'unknown channel'})`),
    field('target', d.target || '-'),
    field('attempts', String(d.attempts)),
    field('created', iso(d.createdAt)),
    field('updated', iso(d.updatedAt)),
    field('delivered', iso(d.deliveredAt)),
    field('latency', latencyText(d.latencyMs)),
    field('next attempt', d.nextAttemptAt === undefined ? '-' : `${iso(d.nextAttemptAt)} (${nextText(d, now)})`),
    field('last error', d.lastError ?? '-'),
    '',
    'notification:',
    field('rule', n.rule),
    field('status', n.status),
    ...(n.groupKey === undefined ? [] : [field('group', n.groupKey)]),
    field('raised', iso(n.raisedAt)),
    ...(n.acknowledgedBy === undefined ? [] : [field('acknowledged', n.acknowledgedBy)]),
    ...(n.recipients === undefined ? [] : [field('recipients', n.recipients.join(', '))]),
    field('alerts', `${n.alertCount}${n.alertCount > n.alerts.length ? ` (first ${n.alerts.length} shown)` : ''}`),
    ...n.alerts.map((a) => `    ${a}`),
  ].join('\n');
}


function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('expected a whole number from 1 to 10000');
  return n;
}

export function deliveriesCommand(): Command {
  const deliveries = new Command('deliveries').description('The notification delivery log: list, show and re-send dead letters through the daemon API.');

  deliveries.addCommand(
    withApiOptions(new Command('list'))
      .description('List deliveries, newest first: channel, target, attempts, latency, status and last error.')
      .addOption(new Option('--status <status>', 'only deliveries in this status').choices(STATUSES))
      .option('--receiver <name>', 'only deliveries to this receiver')
      .option('--limit <n>', 'at most this many (1-10000)', parseLimit, 100)
      .option('--json', 'print the API response as JSON')
      .action(
        reportingApiErrors(async (opts: ApiOptions & { status?: string; receiver?: string; limit: number; json?: boolean }) => {
          const query = new URLSearchParams({ limit: String(opts.limit) });
          if (opts.status) query.set('status', opts.status);
          if (opts.receiver) query.set('receiver', opts.receiver);
          const { deliveries: list } = await apiClientFromOptions(opts).get<{ deliveries: DeliveryView[] }>(`/api/v1/deliveries?${query}`);
          if (opts.json) printJson(list);
          else print(formatDeliveryList(list, Date.now()));
        }),
      ),
  );

  deliveries.addCommand(
    withApiOptions(new Command('show'))
      .description('Show one delivery: where it goes, its attempts, timing, last error and what it carries.')
      .argument('<id>', 'the delivery id (from `vigil deliveries list`)')
      .option('--json', 'print the API response as JSON')
      .action(
        reportingApiErrors(async (id: string, opts: ApiOptions & { json?: boolean }) => {
          const { delivery } = await apiClientFromOptions(opts).get<{ delivery: DeliveryView }>(`/api/v1/deliveries/${encodeURIComponent(id)}`);
          if (opts.json) printJson(delivery);
          else print(formatDelivery(delivery, Date.now()));
        }),
      ),
  );

  deliveries.addCommand(
    withApiOptions(new Command('resend'))
      .description('Give a dead delivery a new set of attempts, starting now. Needs a responder token.')
      .argument('<id>', 'the delivery id (from `vigil deliveries list --status dead`)')
      .option('--json', 'print the API response as JSON')
      .action(
        reportingApiErrors(async (id: string, opts: ApiOptions & { json?: boolean }) => {
          const accepted = await apiClientFromOptions(opts).post<{ status: string; id: string }>(`/api/v1/deliveries/${encodeURIComponent(id)}/resend`);
          if (opts.json) printJson(accepted);
          else print(`delivery ${id} re-queued; \`vigil deliveries show ${id}\` follows it`);
        }),
      ),
  );

  return deliveries;
}
