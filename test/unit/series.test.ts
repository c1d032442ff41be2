import { describe, expect, it } from 'vitest';
import { makeSample, partitionOf, seriesId } from '../../src/series/series.js';
import { formatDuration, parseDuration } from '../../src/series/duration.js';
import { testRedisUrl } from '../helpers/env.js';

describe('series ids', () => {
  it('sorts labels and escapes values like Prometheus', () => {
    expect(seriesId('up', { job: 'a', instance: 'x"y' })).toBe('up{instance="x\\"y",job="a"}');
    expect(seriesId('up', {})).toBe('up');
    expect(makeSample('up', { __name__: 'up', b: '1' }, 1, 2).labels).toEqual({ b: '1' });
  });
  it('maps a key to one stable partition', () => {
    expect(partitionOf('cpu{host="a"}', 8)).toBe(partitionOf('cpu{host="a"}', 8));
    expect(partitionOf('anything', 1)).toBe(0);
    const seen = new Set(Array.from({ length: 200 }, (_, i) => partitionOf(`s${i}`, 8)));
    expect(seen.size).toBe(8);
  });
});

describe('durations', () => {
  it.each([
    ['15s', 15_000], ['5m', 300_000], ['1h30m', 5_400_000], ['250ms', 250], ['1d', 86_400_000], ['0s', 0],
  ])('parses %s', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it.each(['', '5', 'm5', '5 m', '1hh'])('rejects %j', (text) => expect(() => parseDuration(text)).toThrow());
  it('formats', () => expect(formatDuration(5_400_000)).toBe('1h30m'));
  it('has a test Redis', () => expect(testRedisUrl()).toMatch(/^redis:\/\//));
});
