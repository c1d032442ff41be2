import type { AutomationConfig } from '../config/schema.js';
import { promQuery } from './verify.js';

/** A resource that stayed under both thresholds for the whole window: a downsizing candidate. */
export interface Recommendation {
  resource: string;
  /** The highest CPU and memory percent seen over the window. */
  maxCpuPercent: number;
  maxMemoryPercent: number;
  window: string;
  advice: string;
}

/**
 * Resources under `cpu_below`% CPU and `memory_below`% memory over the whole window, from the configured
 * Prometheus. Only a report: nothing is resized unless a runbook says so.
 */
export async function downsizingCandidates(automation: AutomationConfig): Promise<Recommendation[]> {
  const r = automation.recommendations;
  if (!automation.prometheus_url) throw new Error('automation.prometheus_url is not set');
  const peak = (query: string) => `max by (${r.by}) (max_over_time((${query})[${r.window}:${r.step}]))`;
  const [cpu, memory] = await Promise.all([promQuery(automation.prometheus_url, peak(r.cpu_query)), promQuery(automation.prometheus_url, peak(r.memory_query))]);
  const memoryOf = new Map(memory.map((m) => [m.metric[r.by] ?? '', m.value]));
  return cpu
    .map((c) => ({ resource: c.metric[r.by] ?? '', cpu: c.value, memory: memoryOf.get(c.metric[r.by] ?? '') }))
    .filter((c): c is { resource: string; cpu: number; memory: number } => c.memory !== undefined && c.cpu < r.cpu_below && c.memory < r.memory_below)
    .sort((a, b) => a.resource.localeCompare(b.resource))
    .map((c) => ({
      resource: c.resource,
      maxCpuPercent: c.cpu,
      maxMemoryPercent: c.memory,
      window: r.window,
      advice: `peaked at ${c.cpu.toFixed(1)}% CPU and ${c.memory.toFixed(1)}% memory over ${r.window}: consider a smaller size`,
    }));
}
