import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { UnattendedWindow } from '../../src/config/schema.js';
import { isUnattended, unattendedStart } from '../../src/oncall/unattended.js';
import { zonedInstant } from '../../src/oncall/zoned-time.js';

const BERLIN = 'Europe/Berlin';
const at = (date: string, clock: string, zone = BERLIN) => {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const [hh, mm] = clock.split(':').map(Number) as [number, number];
  return zonedInstant({ year: y, month: m, day: d }, hh * 60 + mm, zone);
};

const windows: UnattendedWindow[] = [
  { name: 'weekend', time_zone: BERLIN, weekdays: ['saturday', 'sunday'], dates: [] },
  { name: 'nights', time_zone: BERLIN, times: [{ start: '20:00', end: '08:00' }], dates: [] },
  { name: 'holidays', time_zone: BERLIN, dates: ['2026-12-24'] },
];

describe('unattended calendar', () => {
  it.each([
    ['a breach on Sunday afternoon: from Friday 20:00 (the night runs into the weekend)', at('2026-03-22', '15:00'), at('2026-03-20', '20:00')],
    ['a breach on Tuesday 03:00: from Monday 20:00', at('2026-03-24', '03:00'), at('2026-03-23', '20:00')],
    ['a breach on a holiday (Thursday) at noon: from Wednesday 20:00', at('2026-12-24', '12:00'), at('2026-12-23', '20:00')],
    ['a breach across the spring DST change (Sunday 29 March): still Friday 20:00 local', at('2026-03-29', '12:00'), at('2026-03-27', '20:00')],
  ])('%s', (_name, breach, start) => {
    expect(unattendedStart(windows, breach)).toBe(start);
  });

  it('has no start for an attended time', () => {
    expect(isUnattended(windows, at('2026-03-24', '10:00'))).toBe(false);
    expect(unattendedStart(windows, at('2026-03-24', '10:00'))).toBeUndefined();
  });

  it('is checked at load: a bad zone and a bad date name their path', () => {
    const text = `forecast:\n  unattended:\n    - { name: w, time_zone: Mars/Base, weekdays: [saturday] }\n    - { name: h, dates: ["2026-02-30"] }\n`;
    expect(() => parseConfig(text, 'vigil.yaml', {})).toThrow(ConfigError);
    try {
      parseConfig(text, 'vigil.yaml', {});
    } catch (err) {
      expect((err as Error).message).toContain('vigil.yaml:3: forecast.unattended[0].time_zone: unknown time zone "Mars/Base"');
      expect((err as Error).message).toContain('forecast.unattended[1].dates[0]: "2026-02-30" is not a calendar date');
    }
  });
});

describe('predict rule config', () => {
  it('fills defaults and sits beside threshold rules', () => {
    const config = parseConfig(
      `rules:\n  - { name: DiskFull, kind: threshold, metric: disk, op: ">", value: 95 }\n  - { name: DiskFillingUp, kind: predict, metric: disk, threshold: 90 }\n`,
      'vigil.yaml',
      {},
    );
    expect(config.rules[1]).toEqual({ name: 'DiskFillingUp', kind: 'predict', metric: 'disk', threshold: 90, direction: 'above', within: '3d', min_confidence: 0.8, severity: 'warning' });
    expect(config.forecast.step).toBe('5m');
  });

  it('names the field of a bad predict rule', () => {
    expect(() => parseConfig(`rules:\n  - { name: P, kind: predict, metric: disk, threshold: 90, within: soon }\n`, 'vigil.yaml', {})).toThrow(
      'vigil.yaml:2: rules[0].within: must be a duration such as 30s, 5m or 1h',
    );
    expect(() => parseConfig(`rules:\n  - { name: P, kind: predict, metric: disk, threshold: 90, min_confidence: 2 }\n`, 'vigil.yaml', {})).toThrow(/rules\[0\]\.min_confidence: must be <= 1/);
  });
});
