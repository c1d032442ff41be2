/**
 * bench:nab — replays every file of ../shared/nab/data through the `vigil score` code path
 * (parseSeriesCsv + scoreSeries, default configuration unless --detector), scores the results with
 * Vigil's NAB v1.1 scorer and prints the three normalised scores, thresholds, per-category scores and
 * points per second.
 *
 *   npm run bench:nab [-- --detector robust] [-- --corpus ../shared/nab] [-- --options '{"quietPoints":100}']
 *
 * --options overrides the default configuration for research; the figures in the README use none.
 * Memory per monitored series: the heap held by --series detectors after each saw 2,100 points (a week
 * of 5-minute data, so every profile is full), and the size of one saved state as JSON.
 *
 * --jitter N re-scores the corpus N more times with the default configuration's constants each moved
 * by a seeded random factor in [0.85, 1.15], and prints the mean and range: how much of the score is
 * the detector and how much one lucky setting of its constants.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createDetector, DETECTOR_NAMES, type DetectorName, type DetectorOptions } from '../../src/models/anomaly/detector.js';
import { LIKELIHOOD_DEFAULTS } from '../../src/models/anomaly/likelihood.js';
import { DEFAULT_QUIET_ESCALATION, DEFAULT_QUIET_POINTS } from '../../src/models/anomaly/pipeline.js';
import { ROBUST_DEFAULTS } from '../../src/models/anomaly/robust.js';
import { parseSeriesCsv, scoreSeries } from '../../src/models/anomaly/replay.js';
import { listCorpus, readWindows } from '../../src/models/nab/corpus.js';
import { PROFILES, scoreCorpus, scoreSubsetAt, type ProfileName, type ScoredFile } from '../../src/models/nab/scorer.js';
import { mulberry32 } from '../../src/models/random.js';

const { values: args } = parseArgs({
  options: {
    detector: { type: 'string', default: 'ensemble' },
    corpus: { type: 'string', default: '../shared/nab' },
    options: { type: 'string' },
    files: { type: 'boolean', default: false },
    series: { type: 'string', default: '200' },
    jitter: { type: 'string', default: '0' },
  },
});
const detector = args.detector as DetectorName;
if (!DETECTOR_NAMES.includes(detector)) throw new Error(`--detector must be one of ${DETECTOR_NAMES.join(', ')}`);
const detectorOptions = args.options ? (JSON.parse(args.options) as DetectorOptions) : undefined;

const windows = readWindows(args.corpus);
const corpus = listCorpus(args.corpus).map((file) => ({ ...file, rows: parseSeriesCsv(readFileSync(file.path, 'utf8'), file.path) }));
let points = 0;
let seconds = 0;

/** Scores every file with `options`; adds the detection time to the points/s figure. */
async function scoreAll(options: DetectorOptions | undefined): Promise<Array<ScoredFile & { category: string }>> {
  const out: Array<ScoredFile & { category: string }> = [];
  for (const file of corpus) {
    const started = process.hrtime.bigint();
    const scores = await scoreSeries(file.rows, { detector, ...(options ? { detectorOptions: options } : {}) });
    seconds += Number(process.hrtime.bigint() - started) / 1e9;
    points += file.rows.length;
    out.push({ name: file.name, category: file.category, timestamps: file.rows.map((r) => r.t), scores, windows: windows.get(file.name) ?? [] });
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  return out;
}
const scored = await scoreAll(detectorOptions);

const categories = [...new Set(scored.map((f) => f.category))];
const pad = (s: string, n: number) => s.padEnd(n);
console.log(`NAB v1.1 on ${scored.length} files (${args.corpus}), detector "${detector}"${detectorOptions ? ` with ${args.options}` : ' (default configuration)'}`);
console.log(`${pad('profile', 20)}${pad('score', 9)}${pad('threshold', 11)}${categories.map((c) => pad(c, 23)).join('')}`);
for (const profile of Object.keys(PROFILES) as ProfileName[]) {
  const result = scoreCorpus(scored, profile);
  // A category without windows has no normalised score; show its raw (false-positive) score instead.
  const perCategory = categories.map((c) => {
    const files = scored.filter((f) => f.category === c);
    if (files.some((f) => f.windows.length > 0)) return scoreSubsetAt(files, profile, result.threshold).toFixed(1);
    return `raw ${files.reduce((n, f) => n + (result.perFile[f.name] ?? 0), 0).toFixed(2)}`;
  });
  console.log(`${pad(profile, 20)}${pad(result.normalized.toFixed(2), 9)}${pad(result.threshold.toFixed(4), 11)}${perCategory.map((s) => pad(s, 23)).join('')}`);
  if (args.files && profile === 'standard') for (const [name, raw] of Object.entries(result.perFile)) console.log(`  ${pad(name, 60)} ${raw.toFixed(3)}`);
}
console.log(`${points} points in ${seconds.toFixed(2)} s of detection: ${Math.round(points / seconds)} points/s (one core)`);

const jitters = Number(args.jitter);
if (jitters > 0) {
  const random = mulberry32(7);
  const move = (v: number, integer = false) => {
    const moved = v * (0.85 + 0.3 * random());
    return integer ? Math.round(moved) : moved;
  };
  const figures: Record<ProfileName, number[]> = { standard: [], reward_low_FP_rate: [], reward_low_FN_rate: [] };
  for (let i = 0; i < jitters; i++) {
    const r = { ...ROBUST_DEFAULTS, ...detectorOptions?.families?.robust } as typeof ROBUST_DEFAULTS;
    const l = { ...LIKELIHOOD_DEFAULTS, ...detectorOptions?.likelihood };
    const jittered: DetectorOptions = {
      ...detectorOptions,
      families: { ...detectorOptions?.families, robust: { ...r, window: move(r.window, true), zHalf: move(r.zHalf), seasonalAlpha: move(r.seasonalAlpha), phaseToleranceMs: move(r.phaseToleranceMs) } },
      likelihood: { ...l, horizon: move(l.horizon, true), learning: move(l.learning, true) },
      quietPoints: move(detectorOptions?.quietPoints ?? DEFAULT_QUIET_POINTS, true),
      quietEscalation: move(detectorOptions?.quietEscalation ?? DEFAULT_QUIET_ESCALATION),
    };
    const files = await scoreAll(jittered);
    for (const profile of Object.keys(PROFILES) as ProfileName[]) figures[profile].push(scoreCorpus(files, profile).normalized);
  }
  console.log(`${jitters} jitters of the constants (each ×0.85–1.15):`);
  for (const [profile, list] of Object.entries(figures)) {
    console.log(`${pad(profile, 20)}mean ${(list.reduce((a, b) => a + b, 0) / list.length).toFixed(2)}, range ${Math.min(...list).toFixed(1)}–${Math.max(...list).toFixed(1)}`);
  }
}

/** Heap per series at steady state (needs --expose-gc for a clean figure; the npm script passes it). */
function memoryPerSeries(count: number): { heapBytes: number | null; stateBytes: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const detectors = Array.from({ length: count }, () => createDetector(detector, detectorOptions));
  for (let i = 0; i < 2100; i++) {
    const t = Date.UTC(2024, 0, 1) + i * 300_000;
    detectors.forEach((d, k) => d.update(t, 50 + 10 * Math.sin((2 * Math.PI * i) / 288) + ((i * 7919 + k * 104729) % 100) / 50));
  }
  gc?.();
  const heapBytes = gc ? (process.memoryUsage().heapUsed - before) / count : null;
  const { weights, ...state } = detectors[0]!.save();
  return { heapBytes, stateBytes: JSON.stringify(state).length + (weights?.byteLength ?? 0) };
}
const memory = memoryPerSeries(Number(args.series));
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`memory per series: ${memory.heapBytes === null ? 'heap n/a (run with --expose-gc)' : `${kib(memory.heapBytes)} heap`}, ${kib(memory.stateBytes)} saved state`);
