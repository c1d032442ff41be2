import { describe, expect, it } from 'vitest';
import { createDetector, DETECTOR_NAMES, restoreDetector, type DetectorState } from '../../src/models/anomaly/detector.js';

/** A noisy daily series (5-minute steps) with a spike and a level shift, from a fixed seed. */
function series(n: number): Array<[number, number]> {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const t = Date.UTC(2024, 0, 1) + i * 300_000;
    let v = 50 + 10 * Math.sin((2 * Math.PI * i) / 288) + rand() * 4;
    if (i === 700) v += 60;
    if (i > 900) v += 25;
    out.push([t, v]);
  }
  return out;
}

/** JSON round trip with the binary weights carried as bytes, as a store would keep them. */
function roundTrip(state: DetectorState): DetectorState {
  const { weights, ...rest } = state;
  const json = JSON.parse(JSON.stringify(rest)) as DetectorState;
  if (weights) json.weights = new Uint8Array(Buffer.from(Buffer.from(weights).toString('base64'), 'base64'));
  return json;
}

describe('detector save/restore', () => {
  for (const name of DETECTOR_NAMES) {
    it(`${name}: a restored detector scores the rest of the series exactly like the original`, async () => {
      const data = series(1200);
      // Two epochs keep the neural case fast; the round trip is the same at any number.
      const original = createDetector(name, { families: { neural: { epochs: 2 } } });
      for (const [t, v] of data.slice(0, 600)) {
        original.update(t, v);
        if (original.retrainDue) await original.retrain?.();
      }
      const saved = original.save();
      if (name === 'neural') expect(saved.weights?.byteLength).toBeGreaterThan(0);
      const restored = restoreDetector(roundTrip(saved));
      expect(restored.kind).toBe(name);
      let alerts = 0;
      for (const [t, v] of data.slice(600)) {
        const a = original.update(t, v);
        const b = restored.update(t, v);
        expect(b).toEqual(a);
        if (a.score > 0) alerts++;
        if (original.retrainDue) await original.retrain?.();
        if (restored.retrainDue) await restored.retrain?.();
      }
      // The compared half holds the spike and the level shift: the scores compared are not all zero.
      expect(alerts).toBeGreaterThan(0);
    });
  }

  it('a state saved before the shift statistic (version 1) restores warm: the point score goes on exactly, the shift statistic starts learning', () => {
    const data = series(1200);
    const original = createDetector();
    for (const [t, v] of data.slice(0, 600)) original.update(t, v);
    const saved = roundTrip(original.save());
    // What version 1 saved: no shift calibration, no CUSUMs.
    const state = saved.state as { shiftLikelihoods?: unknown; families: Array<{ state: Record<string, unknown> }> };
    delete state.shiftLikelihoods;
    for (const family of state.families) {
      delete family.state.shiftUp;
      delete family.state.shiftDown;
    }
    const restored = restoreDetector({ ...saved, version: 1 });
    const [t, v] = data[600]!;
    // The point view's state came back exactly: the same expected value and band.
    expect(restored.update(t, v).expected).toEqual(original.update(t, v).expected);
    // The spike at 700 is still found by the restored detector, with no warm-up to wait for.
    const found = data.slice(601, 720).some(([t2, v2]) => restored.update(t2, v2).score >= 0.5);
    expect(found).toBe(true);
  });

  it('rejects a non-finite point without touching its state', () => {
    const detector = createDetector();
    const data = series(400);
    for (const [t, v] of data.slice(0, 300)) detector.update(t, v);
    const before = JSON.stringify(detector.save());
    expect(() => detector.update(data[300]![0], Number.NaN)).toThrow(/not a pair of finite numbers/);
    expect(() => detector.update(Number.POSITIVE_INFINITY, 1)).toThrow(RangeError);
    expect(JSON.stringify(detector.save())).toBe(before);
  });

  it('rejects an unknown kind with a clear error', () => {
    expect(() => restoreDetector({ kind: 'nope', version: 1, params: {}, state: {}, points: 0 })).toThrow(/unknown detector kind "nope"/);
  });
});
