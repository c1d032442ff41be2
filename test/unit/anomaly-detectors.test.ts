import { describe, expect, it } from 'vitest';
import { createDetector, DEFAULT_THRESHOLD, type DetectorName } from '../../src/models/anomaly/detector.js';
import { DAY_POINTS, seasonal, START, STEP_MS } from './anomaly-synthetic.js';

/** The change starts here: day 10 of a 5-minute series, long after warm-up. */
const AT = 10 * DAY_POINTS + 120;

/** Points from the change at `at` to the first score >= the default threshold (-1: never). */
async function delay(name: DetectorName, seed: number, change: (i: number, v: number) => number, at = AT): Promise<number> {
  const detector = createDetector(name, { families: { neural: { epochs: 2 } } });
  for (const [i, [t, v]] of seasonal(at + 600, seed, change).entries()) {
    const { score } = detector.update(t, v);
    if (detector.retrainDue) await detector.retrain?.();
    if (i >= at && score >= DEFAULT_THRESHOLD) return i - at;
  }
  return -1;
}

function stuckAfter(at: number): (i: number, v: number) => number {
  let frozen = 0;
  return (i, v) => {
    if (i === at - 1) frozen = v;
    return i >= at ? frozen : v;
  };
}

// Noise is +-2 around a daily cycle of amplitude 10 (see anomaly-synthetic.ts); each case runs on 5 seeds
// and states how many points after the change the default detector must alert.
const cases: Array<{ name: string; within: number; change: (i: number, v: number) => number }> = [
  { name: 'a spike of +8', within: 0, change: (i, v) => (i === AT ? v + 8 : v) },
  { name: 'a level shift of +8', within: 2, change: (i, v) => (i >= AT ? v + 8 : v) },
  { name: 'a level drop of -8', within: 2, change: (i, v) => (i >= AT ? v - 8 : v) },
  { name: 'a trend change of +0.5 per point', within: 20, change: (i, v) => (i >= AT ? v + 0.5 * (i - AT) : v) },
  { name: 'a flatline (the value freezes)', within: 3, change: stuckAfter(AT) },
];

describe('default detector on synthetic series', () => {
  for (const c of cases) {
    it(`finds ${c.name} within ${c.within} points`, async () => {
      for (const seed of [1, 2, 3, 4, 5]) {
        const d = await delay('ensemble', seed, c.change);
        expect(d, `seed ${seed}`).toBeGreaterThanOrEqual(0);
        expect(d, `seed ${seed}`).toBeLessThanOrEqual(c.within);
      }
    });
  }

  it('raises no alert on a clean seasonal series once the first day (the daily profile) is learnt', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const detector = createDetector();
      const alerts: number[] = [];
      for (const [i, [t, v]] of seasonal(14 * DAY_POINTS, seed).entries()) {
        const { score } = detector.update(t, v);
        if (i >= DAY_POINTS + 64 && score >= DEFAULT_THRESHOLD) alerts.push(i);
      }
      expect(alerts, `seed ${seed}`).toEqual([]);
    }
  });

  it('a daily job that runs five minutes early is not an anomaly (phase tolerance)', () => {
    const JOB = 96; // 08:00, a spike of +40 every day
    const early = 12 * DAY_POINTS + JOB;
    const job = (i: number, v: number) => {
      if (i === early - 1 || (i % DAY_POINTS === JOB && i !== early)) return v + 40;
      return v;
    };
    // Alerts on the point before `at` (the early run) and at `at` (where the run was expected).
    const alertsNear = (phaseToleranceMs: number | undefined, at: number) => {
      const detector = createDetector('ensemble', phaseToleranceMs === undefined ? {} : { families: { robust: { phaseToleranceMs } } });
      const alerts: number[] = [];
      for (const [i, [t, v]] of seasonal(14 * DAY_POINTS, 7, job).entries()) {
        const { score } = detector.update(t, v);
        if ((i === at - 1 || i === at) && score >= DEFAULT_THRESHOLD) alerts.push(i);
      }
      return alerts;
    };
    expect(alertsNear(undefined, early)).toEqual([]);
    expect(alertsNear(0, early).length).toBeGreaterThan(0);
  });

  it('spikes coming denser are an anomaly though each spike is routine (the shift statistic)', () => {
    // A flat series with a pair of +20 spikes every 100 points (as NAB's art_increase_spike_density),
    // then five in 15 points.
    const burst = 2000;
    const spike = (i: number) => (i < burst ? i % 100 === 0 || i % 100 === 6 : [0, 5, 6, 10, 15].includes(i - burst));
    const alertsInBurst = (shiftHalf?: number) => {
      const detector = createDetector('ensemble', shiftHalf === undefined ? {} : { families: { robust: { shiftHalf } } });
      const found: number[] = [];
      for (let i = 0; i < burst + 100; i++) {
        const { score } = detector.update(START + i * STEP_MS, spike(i) ? 20 : 0);
        if (i >= burst && score >= DEFAULT_THRESHOLD) found.push(i);
      }
      return found;
    };
    expect(alertsInBurst().some((i) => i > burst)).toBe(true);
    // Without the shift statistic (a CUSUM that never reaches half-score), no spike of the burst stands out.
    expect(alertsInBurst(1e9)).toEqual([]);
  });

  it('expects the daily cycle: the expected value follows the noiseless curve, the band holds the noise', () => {
    const detector = createDetector();
    const points = seasonal(4 * DAY_POINTS, 9);
    points.forEach(([t, v], i) => {
      const { expected, detectors } = detector.update(t, v);
      expect(Object.keys(detectors)).toEqual(['robust']);
      if (i < 2 * DAY_POINTS) return;
      const clean = 50 + 10 * Math.sin((2 * Math.PI * i) / DAY_POINTS);
      expect(Math.abs(expected.value - clean), `point ${i}`).toBeLessThan(2.5);
      expect(expected.lower).toBeLessThan(clean - 1);
      expect(expected.upper).toBeGreaterThan(clean + 1);
    });
  });
});

describe('each family alone finds a spike', () => {
  const at = 3 * DAY_POINTS + 120;
  for (const name of ['robust', 'iforest', 'neural'] as const) {
    it(`${name}: a spike of +20 on day 4 within 1 point`, async () => {
      const d = await delay(name, 1, (i, v) => (i === at ? v + 20 : v), at);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(1);
    });
  }
});
