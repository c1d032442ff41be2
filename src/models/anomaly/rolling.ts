/** A fixed-size window of the most recent values kept sorted, for streaming median and MAD. JSON-safe. */
export interface RollingWindowState {
  size: number;
  /** Values in arrival order (oldest first). */
  values: number[];
}

export class RollingWindow {
  private readonly ring: number[];
  private readonly sorted: number[];

  constructor(readonly size: number, values: number[] = []) {
    this.ring = values.slice(-size);
    this.sorted = [...this.ring].sort((a, b) => a - b);
  }

  static restore(state: RollingWindowState): RollingWindow {
    return new RollingWindow(state.size, state.values);
  }

  get count(): number {
    return this.ring.length;
  }

  push(value: number): void {
    if (this.ring.length === this.size) {
      const oldest = this.ring.shift() as number;
      this.sorted.splice(lowerBound(this.sorted, oldest), 1);
    }
    this.ring.push(value);
    this.sorted.splice(lowerBound(this.sorted, value), 0, value);
  }

  median(): number {
    return sortedMedian(this.sorted, 0, this.sorted.length);
  }

  /** Median absolute deviation from `center`, by merging the two sides of the sorted window. */
  mad(center: number): number {
    const s = this.sorted;
    const n = s.length;
    if (n === 0) return 0;
    let right = lowerBound(s, center);
    let left = right - 1;
    const want = (n - 1) >> 1;
    let taken = 0;
    let previous = 0;
    while (taken <= want + (n % 2 === 0 ? 1 : 0)) {
      const dl = left >= 0 ? center - (s[left] as number) : Infinity;
      const dr = right < n ? (s[right] as number) - center : Infinity;
      const d = dl <= dr ? dl : dr;
      if (dl <= dr) left--; else right++;
      if (taken === want) {
        if (n % 2 === 1) return d;
        previous = d;
      } else if (taken === want + 1) return (previous + d) / 2;
      taken++;
    }
    return previous;
  }

  min(): number {
    return this.sorted[0] ?? 0;
  }

  max(): number {
    return this.sorted[this.sorted.length - 1] ?? 0;
  }

  save(): RollingWindowState {
    return { size: this.size, values: [...this.ring] };
  }
}

function lowerBound(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function sortedMedian(sorted: number[], from: number, to: number): number {
  const n = to - from;
  if (n === 0) return 0;
  const mid = from + (n >> 1);
  return n % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
