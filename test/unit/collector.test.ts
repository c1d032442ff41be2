import { hostname } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCollector, type Collector } from '../../src/actors/collector/index.js';
import { every } from '../../src/actors/collector/source.js';
import { envelope } from '../../src/bus/messages.js';
import { makeSample } from '../../src/series/series.js';
import { collectorHarness, counter } from './collector-context.js';

const now = Date.UTC(2026, 10, 23, 10);
const push = (id: string, samples: unknown[], source = 'push') => envelope('samples.push', id, { source, samples } as never, undefined, now);
const cpu = (t: number, host = 'a') => makeSample('cpu', { host }, t, t / 1000);

let collector: Collector | undefined;
afterEach(async () => {
  await collector?.stop?.();
  collector = undefined;
});

describe('collector: pushed samples', () => {
  it('publishes admitted samples in batches of batch_size, ids derived from the message id, keyed by source', async () => {
    const h = collectorHarness('collector:\n  batch_size: 2\n');
    collector = createCollector(h.ctx);
    await collector.handle(push('req-1', [cpu(now - 3000), cpu(now - 2000), cpu(now - 1000), cpu(now - 1000, 'b'), cpu(now, 'b')], 'api'));
    expect(h.published.map((m) => [m.type, m.id, m.key, m.payload.source, m.payload.samples.length])).toEqual([
      ['samples', 'req-1:0', 'api', 'api', 2],
      ['samples', 'req-1:1', 'api', 'api', 2],
      ['samples', 'req-1:2', 'api', 'api', 1],
    ]);
    // In time order, whatever order the push listed them in.
    expect(h.samples().map((s) => s.t)).toEqual([now - 3000, now - 2000, now - 1000, now - 1000, now]);
    expect(await counter(h.metrics.samplesIngested, { source: 'api' })).toBe(5);
  });

  it('rejects out-of-order and duplicate samples and counts them by reason', async () => {
    const h = collectorHarness();
    collector = createCollector(h.ctx);
    await collector.handle(push('m1', [cpu(now - 1000)]));
    await collector.handle(push('m2', [cpu(now - 2000), cpu(now - 1000), cpu(now)]));
    expect(h.samples().map((s) => s.t)).toEqual([now - 1000, now]);
    expect(await counter(h.metrics.samplesRejected, { source: 'push', reason: 'out_of_order' })).toBe(1);
    expect(await counter(h.metrics.samplesRejected, { source: 'push', reason: 'duplicate' })).toBe(1);
    const warned = h.logs.filter((l) => l.msg?.toString().startsWith('samples rejected'));
    expect(warned.map((l) => l.reason).sort()).toEqual(['duplicate', 'out_of_order']);
  });

  it('after a failed publish, the retried message publishes the same samples under the same ids', async () => {
    const h = collectorHarness('collector:\n  batch_size: 1\n');
    collector = createCollector(h.ctx);
    const message = push('m1', [cpu(now - 1000), cpu(now)]);
    h.failPublishes(1);
    await expect(collector.handle(message)).rejects.toThrow('transport down');
    expect(h.published).toEqual([]);
    await collector.handle(message);
    expect(h.published.map((m) => m.id)).toEqual(['m1:0', 'm1:1']);
    expect(await counter(h.metrics.samplesRejected, { source: 'push', reason: 'duplicate' })).toBe(0);
    // Delivered a third time after success: nothing new is published.
    await collector.handle(message);
    expect(h.published).toHaveLength(2);
  });

  it('re-checks samples that crossed the bus and never throws on a bad payload', async () => {
    const h = collectorHarness();
    collector = createCollector(h.ctx);
    await collector.handle(push('m1', [cpu(now), null, { name: 'x' }, { ...cpu(now, 'b'), v: Number.NaN }]));
    expect(h.samples()).toHaveLength(1);
    expect(await counter(h.metrics.samplesRejected, { source: 'push', reason: 'malformed' })).toBe(2);
    expect(await counter(h.metrics.samplesRejected, { source: 'push', reason: 'non_finite' })).toBe(1);
    await collector.handle(envelope('samples.push', 'm2', { source: 'push', samples: 'nope' } as never));
    expect(await counter(h.metrics.samplesRejected, { source: 'push', reason: 'malformed' })).toBe(3);
  });
});

describe('collector: host source', () => {
  it('reports sane CPU, load, memory, disk and network values with the host label', async () => {
    const h = collectorHarness('collector:\n  sources:\n    - kind: host\n      interval: 1h\n      labels: { dc: lab }\n');
    h.clock.set(Date.now());
    collector = createCollector(h.ctx);
    await collector.start?.();
    await collector.ready();
    await new Promise((r) => setTimeout(r, 300));
    h.clock.set(Date.now());
    await collector.collectOnce();
    const samples = h.samples();
    const value = (name: string) => samples.filter((s) => s.name === name).map((s) => s.v);
    for (const s of samples) expect(s.labels).toMatchObject({ host: hostname(), dc: 'lab' });

    const [cpuPct] = value('host_cpu_usage_percent');
    expect(cpuPct).toBeGreaterThanOrEqual(0);
    expect(cpuPct).toBeLessThanOrEqual(100);
    expect(value('host_load1')[0]).toBeGreaterThanOrEqual(0);
    const [total] = value('host_memory_total_bytes');
    const [used] = value('host_memory_used_bytes');
    expect(total).toBeGreaterThan(64 * 1024 * 1024);
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThan(total as number);
    expect(value('host_memory_used_percent')[0]).toBeCloseTo((100 * (used as number)) / (total as number), 5);

    const root = samples.filter((s) => s.name === 'host_disk_size_bytes');
    expect(root.length).toBeGreaterThan(0);
    for (const disk of root) {
      const usedDisk = samples.find((s) => s.name === 'host_disk_used_bytes' && s.series.endsWith(disk.series.slice('host_disk_size_bytes'.length)));
      expect(usedDisk?.v).toBeLessThanOrEqual(disk.v);
      expect(disk.labels.mountpoint).toMatch(/^\//);
    }
    for (const rate of [...value('host_network_receive_bytes_per_second'), ...value('host_network_transmit_bytes_per_second')]) expect(rate).toBeGreaterThanOrEqual(0);
    expect(samples.some((s) => s.labels.interface === 'lo')).toBe(false);
  });
});

describe('collector: lifecycle', () => {
  it('restarts sources on reload and stops them on stop', async () => {
    const h = collectorHarness('collector:\n  sources:\n    - { kind: host, name: box, interval: 1h }\n');
    h.clock.set(Date.now());
    collector = createCollector(h.ctx);
    await collector.start?.();
    await collector.ready();
    expect(new Set(h.published.map((m) => m.payload.source))).toEqual(new Set(['box']));

    const next = h.setConfig('collector:\n  sources:\n    - { kind: host, name: other, interval: 1h }\n');
    h.clock.set(Date.now() + 1000);
    await collector.reload?.(next);
    await collector.ready();
    expect(h.published.at(-1)?.payload.source).toBe('other');

    await collector.stop?.();
    const count = h.published.length;
    await collector.collectOnce();
    expect(h.published).toHaveLength(count);
  });
});

describe('collector: scheduling', () => {
  it('runs a source every interval but never two rounds at once', async () => {
    vi.useFakeTimers();
    try {
      let runs = 0;
      let finish: () => void = () => undefined;
      const stop = every(1000, () => {
        runs++;
        return new Promise<void>((resolve) => (finish = resolve));
      });
      await vi.advanceTimersByTimeAsync(3500);
      expect(runs).toBe(1); // still running: ticks at 2s and 3s skipped
      finish();
      await vi.advanceTimersByTimeAsync(1000);
      expect(runs).toBe(2);
      stop();
      finish();
      await vi.advanceTimersByTimeAsync(5000);
      expect(runs).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
