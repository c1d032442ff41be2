import type { Suppression, Suppressor } from '../actors/alert-manager/suppressor.js';
import type { VigilConfig } from '../config/load.js';
import type { SilenceRecord } from '../store/store.js';
import { Inhibitor, type ActiveAlert } from './inhibition.js';
import { activeSilence, compileSilence, configSilences, type CompiledSilence } from './silences.js';
import { createTopology, type Topology } from './topology.js';
import { compileWindows, openWindow, windowCoverage, type Window } from './windows.js';

/**
 * Everything that mutes alerts, behind the alert manager's Suppressor: silences first (a person said
 * so), then maintenance windows, then inhibition by another active alert. `check` is synchronous and
 * cheap: silences from the store are loaded into memory by `setSilences`, and active alerts reach the
 * inhibitor through `track`.
 */
export class NoiseControl implements Suppressor {
  private silences: CompiledSilence[] = [];
  private stored: readonly SilenceRecord[] = [];
  private fromConfig: CompiledSilence[] = [];
  private maintenance: Window[] = [];
  private inhibitor!: Inhibitor;
  topology!: Topology;

  constructor(config: VigilConfig) {
    this.configure(config);
  }

  configure(config: VigilConfig): void {
    this.topology = createTopology(config.topology);
    const previous = this.inhibitor as Inhibitor | undefined;
    this.inhibitor = new Inhibitor(config.inhibit_rules, this.topology);
    if (previous) this.inhibitor.adopt(previous);
    this.maintenance = compileWindows(config.maintenance_windows, config.notifier.time_intervals);
    this.fromConfig = configSilences(config.silences).map(compileSilence);
    this.silences = [...this.fromConfig, ...this.stored.map(compileSilence)];
  }

  /** The silences stored through the API (the config's own are kept). */
  setSilences(records: readonly SilenceRecord[]): void {
    this.stored = records;
    this.silences = [...this.fromConfig, ...records.map(compileSilence)];
  }

  /** An alert changed state: active ones may inhibit others. */
  track(alert: ActiveAlert, active: boolean): void {
    this.inhibitor.update(alert, active);
  }

  check(labels: Record<string, string>, at: number): Suppression | undefined {
    const silence = activeSilence(this.silences, labels, at);
    if (silence) return { by: `silence:${silence.record.id}`, reason: `silenced by ${silence.record.createdBy}: ${silence.record.comment}` };
    const window = openWindow(this.maintenance, labels, at);
    if (window) return { by: `maintenance:${window.name}`, reason: `inside maintenance window ${window.name}` };
    const inhibition = this.inhibitor.check(labels);
    if (inhibition) {
      const { source, rule } = inhibition;
      const resource = source.labels[this.topology.label];
      return { by: `inhibited-by:${source.fingerprint}`, reason: `inhibited by ${source.labels.alertname ?? 'an alert'}${resource ? ` on ${resource}` : ''} (${rule})` };
    }
    return undefined;
  }

  /** Ms of [from, to) inside maintenance windows for these labels: SLA figures leave them out. */
  maintenanceCoverage(labels: Readonly<Record<string, string>>, from: number, to: number): number {
    return windowCoverage(this.maintenance, labels, from, to);
  }
}
