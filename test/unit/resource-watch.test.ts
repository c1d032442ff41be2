import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../../src/actors/anomaly-detector/model-codec.js';
import { ResourceWatch, type GroupConfig } from '../../src/actors/anomaly-detector/resource-watch.js';

const group: GroupConfig = { name: 'host', by: 'instance', metrics: ['cpu*', 'mem*'], trees: 50, train_size: 64, retrain_every: 64 };
const rules = { threshold: 0.5, settlePoints: 5, settleAfterMs: 900_000 };
const members = ['cpu{instance="h1"}', 'mem{instance="h1"}'];
const point = (i: number): [number, number] => [50 + 10 * Math.sin(i / 9) + ((i * 7919) % 11) / 10, 100 + 20 * Math.sin(i / 9) + ((i * 104_729) % 13) / 10];

function feed(watch: ResourceWatch, from: number, to: number) {
  const out = [];
  for (let i = from; i < to; i++) {
    const [cpu, mem] = point(i);
    expect(watch.offer(0, members[0]!, i * 60_000, cpu, rules, i)).toBeUndefined(); // waits for every member
    out.push(watch.offer(1, members[1]!, i * 60_000, mem, rules, i));
  }
  return out;
}

describe('multivariate resource watch', () => {
  it('restored from its stored bytes, it scores the next rounds exactly like the original (same forest, same calibration)', () => {
    const original = new ResourceWatch(group, 'host{instance="h1"}', 'h1');
    feed(original, 0, 200);
    const { meta, weights } = encodeModel({ id: original.id, name: 'host', labels: { instance: 'h1' } }, original.save(), 1);
    expect(meta).toMatchObject({ id: 'host{instance="h1"}', kind: 'multivariate-iforest', version: 3 }); // three trainings in 200 rounds (every 64 once 32 are collected)
    const restored = new ResourceWatch(group, original.id, 'h1', decodeModel({ meta, weights }).saved);
    expect(restored.members).toEqual(members);
    expect(feed(restored, 200, 400)).toEqual(feed(original, 200, 400));
  });

  it('a second series of the same metric pattern is not a member', () => {
    const watch = new ResourceWatch(group, 'host{instance="h1"}', 'h1');
    feed(watch, 0, 3);
    expect(watch.offer(0, 'cpu{instance="h1",core="1"}', 10 * 60_000, 99, rules, 0)).toBeUndefined();
    expect(watch.members).toEqual(members);
  });
});
