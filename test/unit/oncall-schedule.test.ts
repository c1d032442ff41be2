import { describe, expect, it } from 'vitest';
import type { TimeIntervalConfig } from '../../src/config/schema.js';
import { buildSchedule, onDuty, shifts, whoIsOnCall, type ScheduleConfig } from '../../src/oncall/schedule.js';
import { inTimeInterval as isInTimeInterval } from '../../src/oncall/time-interval.js';
import { formatWallTime, parseTime, zonedInstant } from '../../src/oncall/zoned-time.js';

const utc = (iso: string) => Date.parse(iso);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function schedule(partial: Partial<ScheduleConfig> & Pick<ScheduleConfig, 'layers'>, intervals: TimeIntervalConfig[] = []) {
  return buildSchedule({ name: 'primary', time_zone: 'UTC', overrides: [], ...partial }, intervals);
}

const dailyBerlin = (start: string) =>
  schedule({ time_zone: 'Europe/Berlin', layers: [{ rotation: 'daily', handoff: '09:00', start, users: ['alice', 'bob', 'carol'] }] });

describe('zoned time', () => {
  it('reads wall times in the zone, across both DST changes', () => {
    expect(parseTime('2024-03-30 09:00', 'Europe/Berlin')).toBe(utc('2024-03-30T08:00:00Z'));
    expect(parseTime('2024-03-31 09:00', 'Europe/Berlin')).toBe(utc('2024-03-31T07:00:00Z'));
    expect(parseTime('2024-10-27 09:00', 'Europe/Berlin')).toBe(utc('2024-10-27T08:00:00Z'));
    expect(parseTime('2024-03-10T09:00', 'America/New_York')).toBe(utc('2024-03-10T13:00:00Z'));
    expect(parseTime('2024-03-10T09:00:00+02:00', 'America/New_York')).toBe(utc('2024-03-10T07:00:00Z'));
    expect(parseTime('2024-02-30 09:00', 'UTC')).toBeUndefined();
    expect(parseTime('tomorrow', 'UTC')).toBeUndefined();
  });

  it('moves a time skipped in spring past the gap, and reads a repeated autumn time as its first occurrence', () => {
    // 02:30 does not exist in Berlin on 2024-03-31; it becomes 03:30 CEST.
    expect(zonedInstant({ year: 2024, month: 3, day: 31 }, 150, 'Europe/Berlin')).toBe(utc('2024-03-31T01:30:00Z'));
    // 02:30 happens twice on 2024-10-27: first in CEST (00:30Z).
    expect(zonedInstant({ year: 2024, month: 10, day: 27 }, 150, 'Europe/Berlin')).toBe(utc('2024-10-27T00:30:00Z'));
  });
});

describe('rotations', () => {
  it('daily: the hand-off happens at 09:00, not a minute before', () => {
    const s = dailyBerlin('2024-01-08');
    expect(whoIsOnCall(s, utc('2024-01-08T07:59:00Z'))).toBeUndefined(); // before the first hand-off
    expect(whoIsOnCall(s, utc('2024-01-08T08:00:00Z'))).toBe('alice');
    expect(whoIsOnCall(s, utc('2024-01-09T07:59:00Z'))).toBe('alice'); // 08:59 Berlin
    expect(whoIsOnCall(s, utc('2024-01-09T08:00:00Z'))).toBe('bob'); // 09:00 Berlin
    expect(whoIsOnCall(s, utc('2024-01-10T08:00:00Z'))).toBe('carol');
    expect(whoIsOnCall(s, utc('2024-01-11T08:00:00Z'))).toBe('alice');
  });

  it('weekly: one user per week from the start date, handing off at the hand-off time', () => {
    const s = schedule({ layers: [{ rotation: 'weekly', handoff: '10:00', start: '2024-01-01', users: ['alice', 'bob'] }] });
    expect(whoIsOnCall(s, utc('2024-01-04T12:00:00Z'))).toBe('alice');
    expect(whoIsOnCall(s, utc('2024-01-08T09:59:00Z'))).toBe('alice');
    expect(whoIsOnCall(s, utc('2024-01-08T10:00:00Z'))).toBe('bob');
    expect(whoIsOnCall(s, utc('2024-01-15T09:59:00Z'))).toBe('bob');
    expect(whoIsOnCall(s, utc('2024-01-15T10:00:00Z'))).toBe('alice');
  });

  it('Europe/Berlin spring forward: the hand-off stays 09:00 local, so that shift lasts 23 hours', () => {
    const s = dailyBerlin('2024-03-29');
    expect(whoIsOnCall(s, utc('2024-03-31T06:59:00Z'))).toBe('bob'); // 08:59 CEST
    expect(whoIsOnCall(s, utc('2024-03-31T07:00:00Z'))).toBe('carol'); // 09:00 CEST
    const list = shifts(s, utc('2024-03-30T00:00:00Z'), utc('2024-04-01T00:00:00Z'));
    expect(list.map((x) => [x.user, new Date(x.start).toISOString(), new Date(x.end).toISOString()])).toEqual([
      ['alice', '2024-03-30T00:00:00.000Z', '2024-03-30T08:00:00.000Z'],
      ['bob', '2024-03-30T08:00:00.000Z', '2024-03-31T07:00:00.000Z'],
      ['carol', '2024-03-31T07:00:00.000Z', '2024-04-01T00:00:00.000Z'],
    ]);
    expect(list[1]!.end - list[1]!.start).toBe(23 * HOUR);
  });

  it('Europe/Berlin fall back: the hand-off stays 09:00 local, so that shift lasts 25 hours', () => {
    const s = dailyBerlin('2024-10-25');
    expect(whoIsOnCall(s, utc('2024-10-27T07:59:00Z'))).toBe('bob'); // 08:59 CET
    expect(whoIsOnCall(s, utc('2024-10-27T08:00:00Z'))).toBe('carol'); // 09:00 CET
    const [bobs] = shifts(s, utc('2024-10-26T07:00:00Z'), utc('2024-10-28T00:00:00Z'));
    expect(bobs).toEqual({ user: 'bob', start: utc('2024-10-26T07:00:00Z'), end: utc('2024-10-27T08:00:00Z') });
    expect(bobs!.end - bobs!.start).toBe(25 * HOUR);
  });

  it('America/New_York: 09:00 local on both sides of the March and November changes', () => {
    const s = schedule({ time_zone: 'America/New_York', layers: [{ rotation: 'daily', handoff: '09:00', start: '2024-03-09', users: ['ann', 'ben'] }] });
    expect(whoIsOnCall(s, utc('2024-03-09T14:00:00Z'))).toBe('ann'); // 09:00 EST
    expect(whoIsOnCall(s, utc('2024-03-10T12:59:00Z'))).toBe('ann'); // 08:59 EDT
    expect(whoIsOnCall(s, utc('2024-03-10T13:00:00Z'))).toBe('ben'); // 09:00 EDT
    expect(whoIsOnCall(s, utc('2024-11-03T13:59:00Z'))).toBe(whoIsOnCall(s, utc('2024-11-02T13:00:00Z'))); // 08:59 EST, same turn as 09:00 EDT the day before
    expect(whoIsOnCall(s, utc('2024-11-03T14:00:00Z'))).not.toBe(whoIsOnCall(s, utc('2024-11-03T13:59:00Z')));
  });
});

describe('layers, restrict and overrides', () => {
  const nights: TimeIntervalConfig = { name: 'nights', location: 'Europe/Berlin', times: [{ start: '22:00', end: '06:00' }] };
  const weekends: TimeIntervalConfig = { name: 'weekends', location: 'Europe/Berlin', weekdays: ['saturday', 'sunday'] };
  const layered = (overrides: ScheduleConfig['overrides'] = []) =>
    schedule(
      {
        time_zone: 'Europe/Berlin',
        layers: [
          { rotation: 'daily', handoff: '09:00', start: '2024-01-01', users: ['alice', 'bob'] },
          { rotation: 'weekly', handoff: '09:00', start: '2024-01-01', users: ['owl'], restrict: ['nights'] },
        ],
        overrides,
      },
      [nights, weekends],
    );

  it('a later layer wins only inside its restricting interval', () => {
    const s = layered();
    expect(whoIsOnCall(s, utc('2024-01-03T11:00:00Z'))).toBe('alice'); // 12:00 Berlin, day 2
    expect(whoIsOnCall(s, utc('2024-01-03T21:00:00Z'))).toBe('owl'); // 22:00 Berlin
    expect(whoIsOnCall(s, utc('2024-01-03T20:59:00Z'))).toBe('alice');
    expect(whoIsOnCall(s, utc('2024-01-04T05:00:00Z') - MINUTE)).toBe('owl'); // 05:59 Berlin is still night
    expect(whoIsOnCall(s, utc('2024-01-04T05:00:00Z'))).toBe('alice');
  });

  it('an override wins over every layer; the last override listed wins over earlier ones', () => {
    const s = layered([
      { user: 'carol', start: '2024-01-03 20:00', end: '2024-01-04 08:00' },
      { user: 'dave', start: '2024-01-03T23:00:00Z', end: '2024-01-04T00:00:00Z' },
    ]);
    expect(whoIsOnCall(s, utc('2024-01-03T19:00:00Z'))).toBe('carol');
    expect(whoIsOnCall(s, utc('2024-01-03T21:30:00Z'))).toBe('carol');
    expect(whoIsOnCall(s, utc('2024-01-03T23:30:00Z'))).toBe('dave');
    expect(whoIsOnCall(s, utc('2024-01-04T07:00:00Z'))).toBe('alice');
  });

  it('shifts() lists the day as people see it, and onDuty says until when', () => {
    const s = layered([{ user: 'carol', start: '2024-01-03 14:00', end: '2024-01-03 16:00' }]);
    const list = shifts(s, utc('2024-01-03T08:00:00Z'), utc('2024-01-04T08:00:00Z'));
    expect(list.map((x) => `${x.user} ${formatWallTime(x.start, 'Europe/Berlin')}`)).toEqual([
      'alice 2024-01-03 09:00 Europe/Berlin',
      'carol 2024-01-03 14:00 Europe/Berlin',
      'alice 2024-01-03 16:00 Europe/Berlin',
      'owl 2024-01-03 22:00 Europe/Berlin',
      'alice 2024-01-04 06:00 Europe/Berlin',
    ]);
    expect(onDuty(s, utc('2024-01-03T10:00:00Z'))).toEqual({ user: 'alice', until: utc('2024-01-03T13:00:00Z') });
  });

  it('a wrapped interval belongs to the weekday it starts on', () => {
    const fridayNights: TimeIntervalConfig = { name: 'fri', location: 'UTC', weekdays: ['friday'], times: [{ start: '22:00', end: '06:00' }] };
    expect(isInTimeInterval(fridayNights, utc('2024-01-05T23:00:00Z'))).toBe(true); // Friday
    expect(isInTimeInterval(fridayNights, utc('2024-01-06T03:00:00Z'))).toBe(true); // Saturday early
    expect(isInTimeInterval(fridayNights, utc('2024-01-06T23:00:00Z'))).toBe(false);
    expect(isInTimeInterval(weekends, utc('2024-01-06T12:00:00Z'))).toBe(true);
  });

  it('rejects a restrict naming no interval and an override that ends before it starts', () => {
    expect(() => schedule({ layers: [{ rotation: 'daily', handoff: '09:00', start: '2024-01-01', users: ['a'], restrict: ['nope'] }] })).toThrow(/no time interval named "nope"/);
    expect(() => schedule({ layers: [], overrides: [{ user: 'a', start: '2024-01-02 00:00', end: '2024-01-01 00:00' }] })).toThrow(/overrides\[0\]/);
  });
});
