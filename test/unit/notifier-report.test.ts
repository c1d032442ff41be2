import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDailyReport, nextLocalTime, reportMessageId, reportRecordId, type DailyReport, type ReportRecord } from '../../src/actors/notifier/daily-report.js';
import type { Notification } from '../../src/actors/notifier/notify.js';
import type { Bus } from '../../src/bus/bus.js';
import type { Envelope } from '../../src/bus/messages.js';
import { parseConfig, type VigilConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { SqliteStore } from '../../src/store/embedded/sqlite-store.js';
import type { AlertRecord, Store } from '../../src/store/store.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const at = (iso: string) => Date.parse(iso);

const configText = (time = '09:00', zone = 'Europe/Berlin') => `
server: { external_url: "https://vigil.example/" }
notifier:
  receivers:
    - { name: log, kind: log }
    - { name: ops, kind: webhook, url: "http://127.0.0.1:9/hook" }
  daily_report: { at: "${time}", time_zone: ${zone}, receivers: [ops, log] }
`;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Harness {
  report: DailyReport;
  store: Store;
  clock: { t: number; now(): number };
  published: { message: Envelope<'report.daily'>; delayMs: number | undefined }[];
  delivered: Notification[];
  /** Replaced by tests to make a receiver fail. */
  failFor: Set<string>;
  setConfig(text: string): void;
  /** Moves the clock to the last scheduled report and handles it; returns its due time. */
  runNext(): Promise<number>;
}

function harness(now: number): Harness {
  let config: VigilConfig = parseConfig(configText(), join(tmpdir(), 'vigil-report-test.yaml'), {});
  const store = SqliteStore.open(':memory:');
  cleanups.push(() => store.close());
  const published: Harness['published'] = [];
  const bus: Bus = {
    async publish(messages, opts) {
      for (const message of messages) published.push({ message: message as Envelope<'report.daily'>, delayMs: opts?.delayMs });
    },
  };
  const delivered: Notification[] = [];
  const failFor = new Set<string>();
  const clock = { t: now, now: () => clock.t };
  const report = createDailyReport({
    store,
    bus,
    clock,
    config: () => config,
    logger: createLogger('silent'),
    async deliver(n) {
      if (failFor.has(n.receiver)) throw new Error(`outbox write for ${n.receiver} failed`);
      delivered.push(n);
    },
  });
  return {
    report,
    store,
    clock,
    published,
    delivered,
    failFor,
    setConfig(text) {
      config = parseConfig(text, join(tmpdir(), 'vigil-report-test.yaml'), {});
    },
    async runNext() {
      const { due } = published.at(-1)!.message.payload;
      clock.t = Math.max(clock.t, due);
      await report.onDue({ due });
      return due;
    },
  };
}

function alert(id: string, state: string, firedAt: number | undefined, labels: Record<string, string>, summary?: string): AlertRecord {
  return {
    id,
    rule: labels.alertname ?? 'Rule',
    state,
    labels,
    annotations: summary ? { summary } : {},
    snapshot: null,
    activeAt: firedAt ?? at('2024-05-02T06:00:00Z'),
    ...(firedAt === undefined ? {} : { firedAt }),
    updatedAt: firedAt ?? 0,
  };
}

describe('nextLocalTime', () => {
  it('finds 09:00 in Berlin on either side of both DST changes', () => {
    // CET is UTC+1, CEST UTC+2; 2024 springs forward on 31 March and falls back on 27 October.
    expect(nextLocalTime('09:00', 'Europe/Berlin', at('2024-03-30T08:30:00Z'))).toBe(at('2024-03-31T07:00:00Z'));
    expect(nextLocalTime('09:00', 'Europe/Berlin', at('2024-03-30T07:59:59Z'))).toBe(at('2024-03-30T08:00:00Z'));
    expect(nextLocalTime('09:00', 'Europe/Berlin', at('2024-10-26T07:00:00Z'))).toBe(at('2024-10-27T08:00:00Z'));
    expect(nextLocalTime('09:00', 'Europe/Berlin', at('2024-10-27T01:30:00Z'))).toBe(at('2024-10-27T08:00:00Z'));
  });

  it('handles times skipped or repeated by DST, midnight as 24:00, and other zones', () => {
    // 02:30 does not exist on 31 March in Berlin: the report runs just after the gap.
    expect(nextLocalTime('02:30', 'Europe/Berlin', at('2024-03-31T00:00:00Z'))).toBe(at('2024-03-31T01:30:00Z'));
    expect(nextLocalTime('24:00', 'Europe/Berlin', at('2024-05-01T12:00:00Z'))).toBe(at('2024-05-01T22:00:00Z'));
    expect(nextLocalTime('09:00', 'Asia/Kolkata', at('2024-05-01T00:00:00Z'))).toBe(at('2024-05-01T03:30:00Z'));
    expect(nextLocalTime('09:00', 'UTC', at('2024-05-01T09:00:00Z'))).toBe(at('2024-05-02T09:00:00Z'));
    expect(() => nextLocalTime('09:00', 'Mars/Olympus', 0)).toThrow('unknown time zone "Mars/Olympus"');
  });
});

describe('daily report', () => {
  it('start() schedules the next 09:00 Berlin report once, with a deterministic id and a report record', async () => {
    const h = harness(at('2024-03-30T08:30:00Z'));
    await h.report.start();
    await h.report.start();
    const due = at('2024-03-31T07:00:00Z');
    expect(h.published.map((p) => p.message.id)).toEqual([reportMessageId(due), reportMessageId(due)]);
    expect(h.published[0]).toMatchObject({ message: { type: 'report.daily', payload: { due } }, delayMs: due - h.clock.t });
    expect(await h.store.notifierState.find({ where: { kind: 'report' } })).toEqual([
      { id: reportRecordId(due), kind: 'report', due, dueAt: due, status: 'scheduled', sentTo: [], updatedAt: h.clock.t },
    ]);
  });

  it('stays at 09:00 local time day after day across the spring and autumn DST changes', async () => {
    for (const [start, expected] of [
      ['2024-03-29T12:00:00Z', ['2024-03-30T08:00:00Z', '2024-03-31T07:00:00Z', '2024-04-01T07:00:00Z']],
      ['2024-10-25T12:00:00Z', ['2024-10-26T07:00:00Z', '2024-10-27T08:00:00Z', '2024-10-28T08:00:00Z']],
    ] as const) {
      const h = harness(at(start));
      await h.report.start();
      const dues: number[] = [];
      for (let day = 0; day < 3; day++) dues.push(await h.runNext());
      expect(dues.map((d) => new Date(d).toISOString())).toEqual(expected.map((e) => new Date(e).toISOString()));
    }
  });

  it('lists unresolved alerts with age and labels, and open incidents, to every receiver', async () => {
    const h = harness(at('2024-05-02T06:00:00Z'));
    await h.store.alerts.put(alert('a1', 'firing', at('2024-05-01T07:00:00Z'), { alertname: 'DiskFull', instance: 'db-1', severity: 'critical' }, 'Disk 97% full'));
    await h.store.alerts.put(alert('a2', 'acknowledged', at('2024-05-02T05:00:00Z'), { alertname: 'HighCPU', instance: 'web-2' }));
    await h.store.alerts.put(alert('a3', 'pending', undefined, { alertname: 'SlowQueries' }));
    await h.store.alerts.put(alert('a4', 'resolved', at('2024-05-01T01:00:00Z'), { alertname: 'Gone' }));
    await h.store.alerts.put(alert('a5', 'inactive', undefined, { alertname: 'Quiet' }));
    const incident = { alertIds: ['a1', 'a2'], createdAt: at('2024-05-01T20:00:00Z'), updatedAt: 0 };
    await h.store.incidents.put({ id: 'i1', title: 'Database degraded', state: 'investigating', ...incident });
    await h.store.incidents.put({ id: 'i2', title: 'Old outage', state: 'resolved', ...incident });
    await h.store.incidents.put({ id: 'i3', title: 'Older outage', state: 'closed', ...incident });

    await h.report.start();
    const due = await h.runNext();
    expect(due).toBe(at('2024-05-02T07:00:00Z'));

    expect(h.delivered.map((n) => n.receiver)).toEqual(['ops', 'log']);
    const [toOps] = h.delivered;
    const labels = { alertname: 'VigilDailyReport', severity: 'info' };
    expect(toOps).toMatchObject({ rule: 'VigilDailyReport', groupKey: reportMessageId(due), groupLabels: labels, raisedAt: due });
    expect(toOps?.alerts).toEqual([
      {
        fingerprint: reportRecordId(due),
        status: 'firing',
        labels,
        annotations: {
          summary: 'Vigil daily report: 3 unresolved alerts, 1 open incident',
          description: [
            'Unresolved alerts: 3 (1 firing, 1 acknowledged, 1 pending)',
            '- [firing] DiskFull for 1d {instance=db-1, severity=critical}: Disk 97% full',
            '- [acknowledged] HighCPU for 2h {instance=web-2}',
            '- [pending] SlowQueries for 1h',
            '',
            'Open incidents: 1',
            '- [investigating] Database degraded for 11h (2 alerts)',
          ].join('\n'),
        },
        startsAt: '2024-05-02T07:00:00.000Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'https://vigil.example/api/v1/alerts',
      },
    ]);
    expect(h.delivered[1]?.alerts).toEqual(toOps?.alerts);
  });

  it('says so when nothing is unresolved', async () => {
    const h = harness(at('2024-05-02T06:00:00Z'));
    await h.report.start();
    await h.runNext();
    expect(h.delivered[0]?.alerts[0]?.annotations).toEqual({ summary: 'Vigil daily report: nothing unresolved', description: 'Unresolved alerts: 0 (0 firing, 0 acknowledged, 0 pending)' });
  });

  it('a redelivered report sends nothing twice, and a failed receiver is the only one retried', async () => {
    const h = harness(at('2024-05-02T06:00:00Z'));
    await h.report.start();
    h.failFor.add('log');
    const due = h.published.at(-1)!.message.payload.due;
    h.clock.t = due;
    await expect(h.report.onDue({ due })).rejects.toThrow('outbox write for log failed');
    expect(h.delivered.map((n) => n.receiver)).toEqual(['ops']);
    expect(await h.store.notifierState.get(reportRecordId(due))).toMatchObject({ status: 'scheduled', sentTo: ['ops'] });

    // Between the attempts an alert fires: the retried receiver still gets the report the first one got.
    await h.store.alerts.put(alert('late', 'firing', due + MINUTE, { alertname: 'Late' }));
    h.failFor.clear();
    h.clock.t += 2 * MINUTE;
    await h.report.onDue({ due });
    await h.report.onDue({ due });
    expect(h.delivered.map((n) => n.receiver)).toEqual(['ops', 'log']);
    expect({ ...h.delivered[1], receiver: 'ops' }).toEqual(h.delivered[0]);
    expect(h.delivered[1]?.raisedAt).toBe(due);
    const record = (await h.store.notifierState.get(reportRecordId(due))) as ReportRecord;
    expect(record).toMatchObject({ status: 'sent', sentTo: ['ops', 'log'], prepared: { at: due, next: due + 24 * HOUR } });
    expect(record.dueAt).toBeUndefined();
    // Each handling re-publishes the one next report (deduplicated by its id).
    expect(new Set(h.published.slice(1).map((p) => p.message.id))).toEqual(new Set([reportMessageId(due + 24 * HOUR)]));
  });

  it('after days of downtime sends one report, then resumes at the next 09:00 rather than catching up', async () => {
    const h = harness(at('2024-05-02T06:00:00Z'));
    await h.report.start();
    const due = h.published.at(-1)!.message.payload.due;
    h.clock.t = due + 3 * 24 * HOUR + HOUR;
    await h.report.onDue({ due });
    expect(h.delivered).toHaveLength(2);
    expect(h.published.at(-1)?.message.payload.due).toBe(due + 4 * 24 * HOUR);
  });

  it('drops a report scheduled under an earlier config; the new time is scheduled by start()', async () => {
    const h = harness(at('2024-05-02T06:00:00Z'));
    await h.report.start();
    const old = h.published.at(-1)!.message.payload.due;
    h.setConfig(configText('17:30'));
    await h.report.start();
    expect(h.published.at(-1)?.message.payload.due).toBe(at('2024-05-02T15:30:00Z'));

    h.clock.t = old;
    await h.report.onDue({ due: old });
    expect(h.delivered).toEqual([]);
    await h.runNext();
    expect(h.delivered).toHaveLength(2);
  });
});
