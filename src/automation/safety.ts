import type { VigilConfig } from '../config/load.js';
import type { RunbookConfig } from '../config/schema.js';
import { parseDuration } from '../series/duration.js';
import type { RunbookAuditRecord, RunbookExecutionRecord, Store } from '../store/store.js';
import { FAILED_OUTCOMES, IN_FLIGHT_STATES, type RemediationState } from './remediation.machine.js';

/** What a run is about: limits apply per target and per blast-radius group. */
export interface RunScope {
  target: string;
  group?: string;
}

/** A gate that stops a run before it starts; `gate` names which one (for the audit and metrics). */
export interface Refusal {
  gate: 'kill_switch' | 'circuit_breaker' | 'rate_limit' | 'target_rate_limit' | 'concurrency' | 'target_concurrency' | 'blast_radius';
  reason: string;
}

/** The execution record's fields the gates read. */
export type ExecutionFields = RunbookExecutionRecord & { target: string; group?: string; finishedAt?: number };

/** The kill switch: set in config, or toggled at run time (the newest kill_switch audit record wins). */
export async function killSwitch(config: VigilConfig, store: Store): Promise<{ engaged: boolean; by: string; at?: number }> {
  if (config.automation.kill_switch) return { engaged: true, by: 'config' };
  const [latest] = await store.runbookAudit.find({ where: { kind: 'kill_switch' }, orderBy: { field: 'at', direction: 'desc' }, limit: 1 });
  return latest ? { engaged: Boolean(latest.engaged), by: String(latest.by), at: latest.at } : { engaged: false, by: 'config' };
}

export function killSwitchRecord(engaged: boolean, by: string, at: number): RunbookAuditRecord {
  return { id: `kill-switch-${at}-${engaged ? 'on' : 'off'}`, executionId: '-', kind: 'kill_switch', at, engaged, by };
}

async function inFlight(store: Store): Promise<ExecutionFields[]> {
  const lists = await Promise.all(IN_FLIGHT_STATES.map((state) => store.runbookExecutions.find({ where: { state } })));
  return lists.flat() as ExecutionFields[];
}

/** Runs that really started (not blocked) since `from`. */
async function startedSince(store: Store, runbook: string, from: number): Promise<ExecutionFields[]> {
  const runs = (await store.runbookExecutions.find({ where: { runbook }, range: { field: 'createdAt', from } })) as ExecutionFields[];
  return runs.filter((r) => r.state !== 'blocked');
}

/**
 * Whether the circuit is open: `failures` failed runs within `window`, and the last one less than
 * `cool_down` ago. Derived from the stored runs, so every process and a restart agree. After the
 * cool-down the failures still in the window make it half-open: the next failure opens it again.
 * `without` leaves one run out, to tell whether that run's failure is what opened the circuit.
 */
export async function circuitOpen(runbook: RunbookConfig, store: Store, now: number, without?: string): Promise<{ open: boolean; failures: number; until?: number }> {
  const { failures, window, cool_down } = runbook.circuit_breaker;
  const runs = (await startedSince(store, runbook.name, now - parseDuration(window))).filter((r) => r.id !== without);
  const failed = runs.filter((r) => FAILED_OUTCOMES.includes(r.state as RemediationState) && r.finishedAt !== undefined);
  if (failed.length < failures) return { open: false, failures: failed.length };
  const last = Math.max(...failed.map((r) => r.finishedAt as number));
  const until = last + parseDuration(cool_down);
  return { open: now < until, failures: failed.length, until };
}

/** The blast-radius cap for a group: `max`, `max_percent` of `size` (at least 1), whichever is smaller. */
export function blastRadiusCap(blast: NonNullable<RunbookConfig['blast_radius']>): number {
  const caps = [blast.max ?? Infinity, blast.max_percent === undefined ? Infinity : Math.max(1, Math.floor((blast.size * blast.max_percent) / 100))];
  return Math.min(...caps);
}

/** Every safety gate a new run must pass, cheapest and most important first. */
export async function checkGates(config: VigilConfig, runbook: RunbookConfig, scope: RunScope, store: Store, now: number): Promise<Refusal | undefined> {
  const ks = await killSwitch(config, store);
  if (ks.engaged) return { gate: 'kill_switch', reason: `the kill switch is engaged (by ${ks.by})` };
  const breaker = await circuitOpen(runbook, store, now);
  if (breaker.open) return { gate: 'circuit_breaker', reason: `circuit open after ${breaker.failures} failures, until ${new Date(breaker.until as number).toISOString()}` };
  if (runbook.rate_limit) {
    const n = (await startedSince(store, runbook.name, now - parseDuration(runbook.rate_limit.per))).length;
    if (n >= runbook.rate_limit.max) return { gate: 'rate_limit', reason: `${n} runs in the last ${runbook.rate_limit.per} (max ${runbook.rate_limit.max})` };
  }
  if (runbook.target_rate_limit) {
    const runs = await startedSince(store, runbook.name, now - parseDuration(runbook.target_rate_limit.per));
    const n = runs.filter((r) => r.target === scope.target).length;
    if (n >= runbook.target_rate_limit.max) return { gate: 'target_rate_limit', reason: `${n} runs on ${scope.target} in the last ${runbook.target_rate_limit.per} (max ${runbook.target_rate_limit.max})` };
  }
  const flying = await inFlight(store);
  if (flying.length >= config.automation.limits.max_concurrent) return { gate: 'concurrency', reason: `${flying.length} runs in flight (max ${config.automation.limits.max_concurrent})` };
  const onTarget = flying.filter((r) => r.target === scope.target).length;
  if (onTarget >= runbook.max_concurrent_per_target) return { gate: 'target_concurrency', reason: `${onTarget} runs in flight on ${scope.target} (max ${runbook.max_concurrent_per_target})` };
  if (runbook.blast_radius && scope.group !== undefined) {
    const cap = blastRadiusCap(runbook.blast_radius);
    const targets = new Set(flying.filter((r) => r.group === scope.group && r.runbook === runbook.name).map((r) => r.target));
    if (targets.size >= cap) return { gate: 'blast_radius', reason: `${targets.size} of ${runbook.blast_radius.size} targets of ${scope.group} in flight (max ${cap})` };
  }
  return undefined;
}
