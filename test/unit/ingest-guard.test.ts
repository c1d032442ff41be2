import { describe, expect, it } from 'vitest';
import { createSampleGuard } from '../../src/ingest/sample-guard.js';
import { makeSample } from '../../src/series/series.js';

const cpu = (t: number, host = 'a') => makeSample('cpu', { host }, t, 1);

describe('sample guard', () => {
  it('admits increasing times and rejects older (out_of_order) and equal (duplicate) ones', () => {
    const guard = createSampleGuard();
    const first = guard.check([cpu(10), cpu(20)]);
    expect(first.admitted.map((s) => s.t)).toEqual([10, 20]);
    guard.commit(first.admitted);
    const second = guard.check([cpu(15), cpu(20), cpu(30), cpu(5, 'b')]);
    expect(second.admitted.map((s) => [s.labels.host, s.t])).toEqual([['b', 5], ['a', 30]]);
    expect(second.rejected).toEqual([
      { item: 0, reason: 'out_of_order', detail: 'cpu{host="a"} at 15, last admitted at 20' },
      { item: 1, reason: 'duplicate', detail: 'cpu{host="a"} at 20, last admitted at 20' },
    ]);
  });

  it('orders a batch by time and catches duplicates within it', () => {
    const guard = createSampleGuard();
    const { admitted, rejected } = guard.check([cpu(30), cpu(10), cpu(20), cpu(10)]);
    expect(admitted.map((s) => s.t)).toEqual([10, 20, 30]);
    expect(rejected).toEqual([{ item: 3, reason: 'duplicate', detail: expect.any(String) }]);
  });

  it('changes nothing until commit, so a failed publish can be retried', () => {
    const guard = createSampleGuard();
    const batch = [cpu(10), cpu(20)];
    expect(guard.check(batch).admitted).toHaveLength(2);
    expect(guard.check(batch).admitted).toHaveLength(2);
    guard.commit(guard.check(batch).admitted);
    expect(guard.check(batch).rejected.map((r) => r.reason)).toEqual(['out_of_order', 'duplicate']);
  });

  it('forgets the least recently seen series past its cap', () => {
    const guard = createSampleGuard(2);
    guard.commit([cpu(10, 'a')]);
    guard.commit([cpu(10, 'b')]);
    guard.commit([cpu(11, 'a')]); // a is now the most recent
    guard.commit([cpu(10, 'c')]); // evicts b
    expect(guard.size).toBe(2);
    expect(guard.check([cpu(1, 'b')]).admitted).toHaveLength(1);
    expect(guard.check([cpu(1, 'a')]).rejected[0]?.reason).toBe('out_of_order');
    expect(guard.check([cpu(10, 'c')]).rejected[0]?.reason).toBe('duplicate');
  });
});
