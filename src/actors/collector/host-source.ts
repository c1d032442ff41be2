import { cpus, hostname, loadavg } from 'node:os';
import si from 'systeminformation';
import type { SourceConfig } from '../../config/schema.js';
import { checkSample, type Rejection } from '../../ingest/sample-check.js';
import { parseDuration } from '../../series/duration.js';
import type { Sample } from '../../series/series.js';
import { every, type Source, type SourceDeps } from './source.js';

export type HostSourceConfig = Extract<SourceConfig, { kind: 'host' }>;

/** Filesystems that hold no user data (memory, kernel views, read-only images). */
const PSEUDO_FS = new Set(['tmpfs', 'devtmpfs', 'ramfs', 'squashfs', 'proc', 'sysfs', 'cgroup', 'cgroup2', 'devpts', 'mqueue', 'nsfs', 'autofs', 'fuse.lxcfs', 'tracefs', 'debugfs', 'securityfs', 'pstore', 'bpf', 'efivarfs']);

interface CpuTimes {
  idle: number;
  total: number;
}

function cpuTimes(): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    idle += cpu.times.idle;
    total += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq + cpu.times.idle;
  }
  return { idle, total };
}

/**
 * CPU, load, memory, disk and network of this machine. CPU % and network rates are differences
 * between two rounds, kept per source (systeminformation's own rate helpers share one global state),
 * so the first round yields the levels only.
 */
export function createHostSource(config: HostSourceConfig, deps: SourceDeps): Source {
  const intervalMs = parseDuration(config.interval);
  const base = { host: hostname(), ...config.labels };
  let previous: { at: number; cpu: CpuTimes; net: Map<string, { rx: number; tx: number }> } | undefined;
  let stopTimer: (() => void) | undefined;
  let running: Promise<void> | undefined;

  async function read(now: number): Promise<{ samples: Sample[]; rejected: Rejection[] }> {
    const samples: Sample[] = [];
    const rejected: Rejection[] = [];
    const add = (name: string, v: number, labels: Record<string, string> = {}) => {
      const checked = checkSample(name, { ...base, ...labels }, now, v, now);
      if ('sample' in checked) samples.push(checked.sample);
      else rejected.push({ item: samples.length + rejected.length, ...checked });
    };
    const [mem, disks, nets] = await Promise.all([si.mem(), si.fsSize(), si.networkStats('*')]);
    const cpu = cpuTimes();
    const net = new Map(nets.filter((n) => n.iface !== 'lo').map((n) => [n.iface, { rx: n.rx_bytes, tx: n.tx_bytes }]));

    const [load1, load5, load15] = loadavg() as [number, number, number];
    add('host_load1', load1);
    add('host_load5', load5);
    add('host_load15', load15);
    const memUsed = mem.total - mem.available;
    add('host_memory_total_bytes', mem.total);
    add('host_memory_used_bytes', memUsed);
    if (mem.total > 0) add('host_memory_used_percent', (100 * memUsed) / mem.total);

    // A device mounted at several places (bind mounts) counts once, under its shortest mount path.
    const byDevice = new Map<string, (typeof disks)[number]>();
    for (const d of disks) {
      if (PSEUDO_FS.has(d.type) || !(d.size > 0)) continue;
      const seen = byDevice.get(d.fs);
      if (!seen || d.mount.length < seen.mount.length) byDevice.set(d.fs, d);
    }
    for (const d of byDevice.values()) {
      const labels = { device: d.fs, mountpoint: d.mount, fstype: d.type };
      add('host_disk_size_bytes', d.size, labels);
      add('host_disk_used_bytes', d.used, labels);
      add('host_disk_used_percent', (100 * d.used) / d.size, labels);
    }

    const seconds = previous ? (now - previous.at) / 1000 : 0;
    if (previous && seconds > 0) {
      const busy = cpu.total - previous.cpu.total;
      if (busy > 0) add('host_cpu_usage_percent', 100 * (1 - (cpu.idle - previous.cpu.idle) / busy));
      for (const [iface, counters] of net) {
        const before = previous.net.get(iface);
        // A counter that went down was reset (interface re-created): skip one round rather than report a negative rate.
        if (!before || counters.rx < before.rx || counters.tx < before.tx) continue;
        add('host_network_receive_bytes_per_second', (counters.rx - before.rx) / seconds, { interface: iface });
        add('host_network_transmit_bytes_per_second', (counters.tx - before.tx) / seconds, { interface: iface });
      }
    }
    previous = { at: now, cpu, net };
    return { samples, rejected };
  }

  async function collect(): Promise<void> {
    let result: { samples: Sample[]; rejected: Rejection[] };
    try {
      result = await read(deps.clock.now());
    } catch (err) {
      deps.report.fail('host', 'probe_failed', (err as Error).message);
      return;
    }
    deps.report.ok('host');
    await deps.ingest(result.samples, result.rejected);
  }

  const collectOnce = () => {
    running ??= collect().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    name: config.name,
    async start() {
      stopTimer = every(intervalMs, collectOnce);
      await collectOnce();
    },
    collectOnce,
    async stop() {
      stopTimer?.();
      await running;
    },
  };
}
