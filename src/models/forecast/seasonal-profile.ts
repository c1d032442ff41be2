/**
 * The seasonal part of a series, by robust decomposition: the mean over the last whole season, moved
 * forward by the trend to the current step, removes season and trend; each phase's term is the average of
 * what lies above or below that reference there (a plain average over the first cycles, exponentially
 * weighted after). The trend is the difference of the last two seasons' means, which no season biases.
 * Large residuals are clipped, so a spike or a clean-up does not bend the season.
 */
export interface SeasonalProfileState {
  period: number;
  /** Steps per term (a weekly profile keeps one term per hour). */
  bin: number;
  gamma: number;
  /** Shrinks terms seen few times towards zero: term × visits / (visits + shrink). */
  shrink: number;
  terms: number[];
  visits: number[];
  /** The last two seasons of values, as a ring (null where missing). */
  window: (number | null)[];
  next: number;
  scale: number;
  observed: number;
  /** Running sums of the two halves of the window, kept as they are so a restored profile continues bit for bit. */
  sums: { recent: { sum: number; count: number }; older: { sum: number; count: number } };
}

const CLIP = 3;
/** Share of a season that must be observed before its mean is trusted. */
const FILLED = 0.8;

export class SeasonalProfile {
  private readonly state: SeasonalProfileState;
  private recent = { sum: 0, count: 0 };
  private older = { sum: 0, count: 0 };

  constructor(period: number, bin: number, gamma: number, shrink: number, state?: SeasonalProfileState) {
    const terms = Math.ceil(period / bin);
    this.state = state
      ? { ...state, terms: [...state.terms], visits: [...state.visits], window: [...state.window] }
      : { period, bin, gamma, shrink, terms: new Array<number>(terms).fill(0), visits: new Array<number>(terms).fill(0), window: new Array<number | null>(2 * period).fill(null), next: 0, scale: 0, observed: 0, sums: { recent: { sum: 0, count: 0 }, older: { sum: 0, count: 0 } } };
    this.recent = { ...this.state.sums.recent };
    this.older = { ...this.state.sums.older };
  }

  private slot(index: number): number {
    return Math.floor((index % this.state.period) / this.state.bin);
  }

  /** The seasonal term at grid step `index`. */
  at(index: number): number {
    const s = this.slot(index);
    const visits = this.state.visits[s] as number;
    return visits === 0 ? 0 : ((this.state.terms[s] as number) * visits) / (visits + this.state.shrink);
  }

  get period(): number {
    return this.state.period;
  }

  /** Whether the terms are being learned (the season's mean and trend are known). */
  get learning(): boolean {
    return this.state.observed > 0;
  }

  /** Trend per step from the last two seasons' means, or undefined before two seasons. */
  slope(): number | undefined {
    const p = this.state.period;
    if (this.recent.count < FILLED * p || this.older.count < FILLED * p) return undefined;
    return (this.recent.sum / this.recent.count - this.older.sum / this.older.count) / p;
  }

  /** Feeds step `index` with `y` (NaN when missing), already stripped of any shorter season. */
  update(index: number, y: number): void {
    const st = this.state;
    const size = st.window.length;
    const leaving = st.window[st.next];
    if (leaving !== null && leaving !== undefined) {
      this.older.sum -= leaving;
      this.older.count--;
    }
    // The value one season old moves from the recent half to the older one.
    const ageing = st.window[(st.next - st.period + size) % size];
    if (ageing !== null && ageing !== undefined) {
      this.recent.sum -= ageing;
      this.recent.count--;
      this.older.sum += ageing;
      this.older.count++;
    }
    st.window[st.next] = Number.isNaN(y) ? null : y;
    st.next = (st.next + 1) % size;
    if (Number.isNaN(y)) return;
    this.recent.sum += y;
    this.recent.count++;
    // Learn only once the trend is known: a trailing mean lags a trend, and the lag would bend the season.
    const slope = this.slope();
    if (this.recent.count < FILLED * st.period || slope === undefined) return;
    // A daily profile starts from both days in its window; a weekly one from single hours seen once would
    // start from noise, so it learns visit by visit (and shrinks what it has seen little).
    if (st.observed === 0 && st.shrink === 0) this.bootstrap(index, slope);
    const reference = this.recent.sum / this.recent.count + slope * ((st.period - 1) / 2);
    const s = this.slot(index);
    const r = y - reference - (st.terms[s] as number);
    const limit = st.observed > 20 && st.scale > 0 ? CLIP * st.scale : Infinity;
    const clipped = Math.max(-limit, Math.min(limit, r));
    const visits = st.visits[s] as number;
    st.terms[s] = (st.terms[s] as number) + Math.max(st.gamma, 1 / (visits + 1)) * clipped;
    st.visits[s] = visits + 1;
    st.scale = st.observed === 0 ? Math.abs(r) : st.scale + Math.max(0.01, 1 / (st.observed + 1)) * (Math.min(Math.abs(r), 6 * st.scale) - st.scale);
    st.observed++;
    if (index % st.period === 0) this.recentre();
  }

  /** First terms from the whole window at once (every season in it, detrended), instead of one visit at a time. */
  private bootstrap(index: number, slope: number): void {
    const st = this.state;
    const size = st.window.length;
    const values: { slot: number; r: number }[] = [];
    let sum = 0;
    for (let age = 1; age < size; age++) {
      const v = st.window[(st.next - 1 - age + size) % size];
      if (v === null || v === undefined) continue;
      // Detrended to the current step, so every age is comparable.
      const r = v + slope * age;
      values.push({ slot: this.slot(index - age + st.period * Math.ceil(size / st.period)), r });
      sum += r;
    }
    const mean = sum / values.length;
    for (const { slot, r } of values) {
      const visits = st.visits[slot] as number;
      st.terms[slot] = (st.terms[slot] as number) + (r - mean - (st.terms[slot] as number)) / (visits + 1);
      st.visits[slot] = visits + 1;
    }
  }

  /**
   * Moves the stored history by `delta`: a level shift was detected, and the season is not what moved. The
   * newest `after` values, already on the new level, stay.
   */
  shift(delta: number, after: number): void {
    const w = this.state.window;
    for (let age = after + 1; age <= w.length; age++) {
      const i = (this.state.next - age + w.length) % w.length;
      if (w[i] !== null) w[i] = (w[i] as number) + delta;
    }
    this.recount();
  }

  private recount(): void {
    const { window, next, period } = this.state;
    this.recent = { sum: 0, count: 0 };
    this.older = { sum: 0, count: 0 };
    for (let age = 1; age <= window.length; age++) {
      const v = window[(next - age + window.length) % window.length];
      if (v === null || v === undefined) continue;
      const half = age <= period ? this.recent : this.older;
      half.sum += v;
      half.count++;
    }
  }

  private recentre(): void {
    const seen = this.state.terms.filter((_, i) => (this.state.visits[i] as number) > 0);
    if (seen.length === 0) return;
    const mean = seen.reduce((a, b) => a + b, 0) / seen.length;
    this.state.terms = this.state.terms.map((t, i) => ((this.state.visits[i] as number) > 0 ? t - mean : t));
  }

  toJSON(): SeasonalProfileState {
    return { ...this.state, terms: [...this.state.terms], visits: [...this.state.visits], window: [...this.state.window], sums: { recent: { ...this.recent }, older: { ...this.older } } };
  }
}
