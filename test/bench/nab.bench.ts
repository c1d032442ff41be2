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
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createDetector, DETECTOR_NAMES, type DetectorName, type DetectorOptions } from '../../src/models/anomaly/detector.js';
import { parseSeriesCsv, scoreSeries } from '../../src/models/anomaly/replay.js';
import { listCorpus, readWindows } from '../../src/models/nab/corpus.js';
import { PROFILES, scoreCorpus, scoreSubsetAt, type ProfileName, type ScoredFile } from '../../src/models/nab/scorer.js';

const { values: args } = parseArgs({
  options: {
    detector: { type: 'string', default: 'ensemble' },
    corpus: { type: 'string', default: '../shared/nab' },
    options: { type: 'string' },
    files: { type: 'boolean', default: false },
    series: { type: 'string', default: '200' },
  },
});
const detector = args.detector as DetectorName;
if (!DETECTOR_NAMES.includes(detector)) throw new Error(`--detector must be one of ${DETECTOR_NAMES.join(', ')}`);
const detectorOptions = args.options ? (JSON.parse(args.options) as DetectorOptions) : undefined;

const corpus = listCorpus(args.corpus);
const windows = readWindows(args.corpus);
const scored: Array<ScoredFile & { category: string }> = [];
let points = 0;
let seconds = 0;
for (const file of corpus) {
  const rows = parseSeriesCsv(readFileSync(file.path, 'utf8'), file.path);
  const started = process.hrtime.bigint();
  const scores = await scoreSeries(rows, { detector, detectorOptions });
  seconds += Number(process.hrtime.bigint() - started) / 1e9;
  points += rows.length;
  scored.push({ name: file.name, category: file.category, timestamps: rows.map((r) => r.t), scores, windows: windows.get(file.name) ?? [] });
  process.stderr.write('.');
}
process.stderr.write('\n');

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
