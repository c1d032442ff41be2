/**
 * Ordinary least squares of the last `window` grid values against their step, updated in O(1) per step.
 * x is 0 for the newest value and -1, -2, ... for older ones, so the fit predicts `h` steps ahead at x = h.
 * Missing values (NaN) keep their slot: the fit spans the window's time, not its sample count.
 */
export interface SlidingRegressionState {
  window: number;
  values: (number | null)[];
  next: number;
  size: number;
  /** The running sums, kept as they are so a restored fit continues bit for bit. */
  sums: [n: number, sx: number, sxx: number, sy: number, sxy: number, sinceRecompute: number];
}

export class SlidingRegression {
  readonly window: number;
  private readonly values: Float64Array;
  /** Ring position of the next value. */
  private next = 0;
  /** Slots filled (observed or missing). */
  private size = 0;
  private n = 0;
  private sx = 0;
  private sxx = 0;
  private sy = 0;
  private sxy = 0;
  private sinceRecompute = 0;

  constructor(window: number, state?: SlidingRegressionState) {
    this.window = state?.window ?? window;
    this.values = new Float64Array(this.window).fill(NaN);
    if (state) {
      state.values.forEach((v, i) => (this.values[i] = v === null ? NaN : v));
      this.next = state.next;
      this.size = state.size;
      [this.n, this.sx, this.sxx, this.sy, this.sxy, this.sinceRecompute] = state.sums;
    }
  }

  push(y: number): void {
    // Every existing value moves one step into the past.
    this.sxx += -2 * this.sx + this.n;
    this.sxy -= this.sy;
    this.sx -= this.n;
    if (this.size === this.window) {
      const old = this.values[this.next] as number;
      if (!Number.isNaN(old)) {
        const x = -this.window;
        this.n--;
        this.sx -= x;
        this.sxx -= x * x;
        this.sy -= old;
        this.sxy -= x * old;
      }
    } else {
      this.size++;
    }
    this.values[this.next] = y;
    this.next = (this.next + 1) % this.window;
    if (!Number.isNaN(y)) {
      this.n++;
      this.sy += y;
    }
    // Rounding drifts in running sums; an exact pass once per window bounds it.
    if (++this.sinceRecompute >= this.window) this.recompute();
  }

  /** Moves every stored value by `delta` (a level shift was re-anchored). */
  shift(delta: number): void {
    for (let i = 0; i < this.window; i++) this.values[i] = (this.values[i] as number) + delta;
    this.recompute();
  }

  clear(): void {
    this.values.fill(NaN);
    this.next = 0;
    this.size = 0;
    this.recompute();
  }

  /** Observed values in the window. */
  get count(): number {
    return this.n;
  }

  /** Slope per step, or 0 with fewer than two observed values. */
  slope(): number {
    const den = this.n * this.sxx - this.sx * this.sx;
    return this.n < 2 || den <= 0 ? 0 : (this.n * this.sxy - this.sx * this.sy) / den;
  }

  /** The fitted line's value h steps after the newest slot. */
  predict(h: number): number {
    if (this.n === 0) return NaN;
    const b = this.slope();
    return (this.sy - b * this.sx) / this.n + b * h;
  }

  private recompute(): void {
    this.n = this.sx = this.sxx = this.sy = this.sxy = 0;
    for (let age = 0; age < this.size; age++) {
      const y = this.values[(this.next - 1 - age + this.window) % this.window] as number;
      if (Number.isNaN(y)) continue;
      const x = -age;
      this.n++;
      this.sx += x;
      this.sxx += x * x;
      this.sy += y;
      this.sxy += x * y;
    }
    this.sinceRecompute = 0;
  }

  toJSON(): SlidingRegressionState {
    return {
      window: this.window,
      values: Array.from(this.values, (v) => (Number.isNaN(v) ? null : v)),
      next: this.next,
      size: this.size,
      sums: [this.n, this.sx, this.sxx, this.sy, this.sxy, this.sinceRecompute],
    };
  }
}
