/**
 * Neural forecaster (TensorFlow.js): a small MLP predicts the next value from the last `lags` values, all
 * in robust standard deviations of the recent window; the raw score is the forecast error. Training runs
 * in retrain() (async, tfjs with @tensorflow/tfjs-node when installed, else the wasm backend); scoring
 * runs the same network in plain JS from the trained weights, so update() stays synchronous and a
 * restored detector needs no backend until its next training.
 */
import type { FamilyState, RawScore, ScoringFamily } from './family.js';
import { RollingWindow, type RollingWindowState } from './rolling.js';

export interface NeuralParams {
  lags: number;
  hidden: number;
  /** Training pairs kept (the recent window the model is trained on). */
  trainSize: number;
  retrainEvery: number;
  epochs: number;
  /** Points in the median/MAD window that normalises inputs and target. */
  window: number;
  /** Forecast error (in robust standard deviations) at which the raw score saturates. */
  zMax: number;
  seed: number;
}

export const NEURAL_DEFAULTS: NeuralParams = { lags: 12, hidden: 12, trainSize: 512, retrainEvery: 1024, epochs: 8, window: 64, zMax: 100, seed: 7 };

const MAD_TO_SIGMA = 1.4826;
const INPUT_LIMIT = 20;

interface NeuralState {
  points: number;
  recent: number[];
  window: RollingWindowState;
  /** Normalised [inputs..., target] rows. */
  samples: number[][];
  sinceTrain: number;
  trainings: number;
  trainedAt: number | null;
}

type Tf = typeof import('@tensorflow/tfjs');
let backend: Promise<Tf> | null = null;

/** tfjs-node when installed (native, faster), else tfjs on the wasm backend: the same model code runs on both. */
function loadTf(): Promise<Tf> {
  backend ??= (async () => {
    const native = '@tensorflow/tfjs-node';
    try {
      return (await import(native)) as Tf;
    } catch {
      const tf = await import('@tensorflow/tfjs');
      await import('@tensorflow/tfjs-backend-wasm');
      await tf.setBackend('wasm');
      await tf.ready();
      return tf;
    }
  })();
  return backend;
}

export class NeuralFamily implements ScoringFamily {
  readonly name = 'neural';
  private readonly p: NeuralParams;
  private readonly s: NeuralState;
  private readonly window: RollingWindow;
  /** Dense weights in tfjs order: kernel1 [lags x hidden], bias1, kernel2 [hidden x 1], bias2. */
  private weights: Float32Array | null;

  constructor(params: Partial<NeuralParams> = {}, saved?: NeuralState, weights?: Uint8Array) {
    this.p = { ...NEURAL_DEFAULTS, ...params };
    this.s = saved ? structuredClone(saved) : { points: 0, recent: [], window: { size: this.p.window, values: [] }, samples: [], sinceTrain: 0, trainings: 0, trainedAt: null };
    this.window = RollingWindow.restore(this.s.window);
    this.weights = weights && weights.byteLength > 0 ? new Float32Array(weights.slice().buffer) : null;
  }

  static restore(saved: FamilyState): NeuralFamily {
    return new NeuralFamily(saved.params as Partial<NeuralParams>, saved.state as NeuralState, saved.weights);
  }

  get retrainDue(): boolean {
    return this.s.samples.length >= this.p.trainSize / 2 && (this.weights === null || this.s.sinceTrain >= this.p.retrainEvery);
  }

  observe(_t: number, value: number): RawScore {
    const s = this.s;
    const center = this.window.count > 0 ? this.window.median() : value;
    const sigma = Math.max(MAD_TO_SIGMA * this.window.mad(center), 1e-9 * Math.abs(center), 1e-12);
    const inputs = s.recent.length === this.p.lags ? s.recent.map((v) => clip((v - center) / sigma)) : null;
    let raw = 0;
    let forecast = center;
    if (inputs && this.weights) {
      const predicted = this.forward(inputs);
      forecast = center + predicted * sigma;
      raw = Math.min(1, Math.abs((value - center) / sigma - predicted) / this.p.zMax);
    }
    // Learn after scoring: no look-ahead.
    if (inputs) {
      s.samples.push([...inputs, clip((value - center) / sigma)]);
      if (s.samples.length > this.p.trainSize) s.samples.shift();
    }
    this.window.push(value);
    s.recent.push(value);
    if (s.recent.length > this.p.lags) s.recent.shift();
    s.points++;
    s.sinceTrain++;
    return { raw, expected: { value: forecast, lower: forecast - 3 * sigma, upper: forecast + 3 * sigma } };
  }

  async retrain(): Promise<void> {
    const tf = await loadTf();
    const { lags, hidden, seed } = this.p;
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [lags], units: hidden, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
        tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
      ],
    });
    if (this.weights) model.setWeights(this.unpack(tf));
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
    const x = tf.tensor2d(this.s.samples.map((r) => r.slice(0, lags)));
    const y = tf.tensor2d(this.s.samples.map((r) => [r[lags] as number]));
    try {
      await model.fit(x, y, { epochs: this.p.epochs, batchSize: 32, shuffle: false, verbose: 0 });
      const parts = model.getWeights().map((w) => w.dataSync() as Float32Array);
      const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let offset = 0;
      for (const part of parts) {
        out.set(part, offset);
        offset += part.length;
      }
      this.weights = out;
    } finally {
      tf.dispose([x, y]);
      model.dispose();
    }
    this.s.trainings++;
    this.s.sinceTrain = 0;
  }

  save(): FamilyState {
    this.s.window = this.window.save();
    const out: FamilyState = { params: { ...this.p }, state: structuredClone(this.s) };
    if (this.weights) out.weights = new Uint8Array(this.weights.slice().buffer);
    return out;
  }

  private forward(inputs: number[]): number {
    const { lags, hidden } = this.p;
    const w = this.weights as Float32Array;
    const b1 = lags * hidden;
    const k2 = b1 + hidden;
    let out = w[k2 + hidden] as number;
    for (let h = 0; h < hidden; h++) {
      let a = w[b1 + h] as number;
      for (let i = 0; i < lags; i++) a += (inputs[i] as number) * (w[i * hidden + h] as number);
      if (a > 0) out += a * (w[k2 + h] as number);
    }
    return out;
  }

  private unpack(tf: Tf) {
    const { lags, hidden } = this.p;
    const w = this.weights as Float32Array;
    const b1 = lags * hidden;
    const k2 = b1 + hidden;
    return [
      tf.tensor2d(w.slice(0, b1), [lags, hidden]),
      tf.tensor1d(w.slice(b1, k2)),
      tf.tensor2d(w.slice(k2, k2 + hidden), [hidden, 1]),
      tf.tensor1d(w.slice(k2 + hidden, k2 + hidden + 1)),
    ];
  }
}

function clip(x: number): number {
  return Math.max(-INPUT_LIMIT, Math.min(INPUT_LIMIT, x));
}
