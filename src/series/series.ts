/** A labelled time series sample, the unit every actor exchanges. Times are epoch milliseconds. */
export interface Sample {
  /** Canonical series id: `name{a="1",b="2"}` with labels sorted by name. */
  series: string;
  name: string;
  labels: Record<string, string>;
  t: number;
  v: number;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export function isValidMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

export function isValidLabelName(name: string): boolean {
  return LABEL_NAME.test(name);
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** The canonical id of a series, identical to how Prometheus prints a series selector. */
export function seriesId(name: string, labels: Record<string, string>): string {
  const keys = Object.keys(labels).filter((k) => k !== '__name__').sort();
  if (keys.length === 0) return name;
  return `${name}{${keys.map((k) => `${k}="${escapeLabelValue(labels[k] ?? '')}"`).join(',')}}`;
}

export function makeSample(name: string, labels: Record<string, string>, t: number, v: number): Sample {
  const clean: Record<string, string> = {};
  for (const [k, val] of Object.entries(labels)) if (k !== '__name__') clean[k] = val;
  return { series: seriesId(name, clean), name, labels: clean, t, v };
}

/** FNV-1a 32-bit: a stable, fast hash so every process maps a key to the same partition. */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function partitionOf(key: string, partitions: number): number {
  return partitions <= 1 ? 0 : hashKey(key) % partitions;
}
