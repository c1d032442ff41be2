import { createHash } from 'node:crypto';
import { createActor, type Snapshot } from 'xstate';
import { notificationMessage, RUNBOOK_RULE_PREFIX, redactor, runStep, type ActionResult } from '../../automation/actions/index.js';
import { render, shouldRun, type RunData } from '../../automation/params.js';
import {
  remediationMachine,
  type RemediationEmitted,
  type RemediationEvent,
  type RemediationState,
  type RemediationTimer,
} from '../../automation/remediation.machine.js';
import { checkGates, circuitOpen, killSwitch, type ExecutionFields } from '../../automation/safety.js';
import { nextCronTime, TriggerSet, type Firing } from '../../automation/triggers.js';
import { checkOnce } from '../../automation/verify.js';
import { envelope, type Envelope, type MessagePayloads, type RunbookTimer, type Severity } from '../../bus/messages.js';
import type { VigilConfig } from '../../config/load.js';
import type { RunbookConfig } from '../../config/schema.js';
import { parseDuration } from '../../series/duration.js';
import type { RunbookAuditRecord } from '../../store/store.js';
import type { Actor, ActorContext } from '../actor.js';

/** One run as stored in `runbookExecutions`: the machine's snapshot plus what the audit and the gates read. */
export interface ExecutionRecord extends ExecutionFields {
  state: RemediationState;
  trigger: { source: string; reason: string; messageId: string };
  data: RunData;
  dryRun: boolean;
  reason?: string;
  approvedBy?: string;
  approvalDeadline?: number;
  verifyDeadline?: number;
  /** Audit records written so far: orders a run's audit when several share a millisecond. */
  auditSeq: number;
}

/** Final outcomes that raise a system event, and how loudly. */
const OUTCOME_EVENTS: Partial<Record<RemediationState, Severity>> = {
  failed: 'warning',
  rolled_back: 'warning',
  rollback_failed: 'critical',
  expired: 'warning',
};

/** Ids without ':' (BullMQ forbids it); the same cause gives the same run, so a redelivered trigger is a no-op. */
export const executionId = (runbook: string, source: string) => `run-${runbook}-${createHash('sha256').update(`${runbook}\u0000${source}`).digest('hex').slice(0, 16)}`;
const timerId = (t: RunbookTimer) => (t.timer === 'cron' ? `runbook-cron-${t.runbook}-${t.path}-${t.deadline}` : `runbook-${t.executionId}-${t.timer}-${t.deadline}`);

function isFinal(state: RemediationState, snapshotStatus: string): boolean {
  return snapshotStatus === 'done' || state === 'failed';
}

/**
 * Runs runbooks: triggers (alerts, samples, cron ticks) propose runs; the safety gates admit or block them;
 * each run is a remediation machine whose snapshot lives in the store, advanced one event at a time.
 * Acting happens inside the message that caused it, so a crash mid-step leaves the run `executing` and
 * the next start fails it safely (and rolls back). Timers are delayed `runbook.timer` messages.
 */
export function createAutomation(ctx: ActorContext): Actor {
  const log = ctx.logger.child({ actor: 'automation' });
  const { store, bus, clock, metrics } = ctx;
  let triggers = new TriggerSet(ctx.config().runbooks);
  const chains = new Map<string, Promise<void>>();

  const runbookOf = (name: string): RunbookConfig | undefined => ctx.config().runbooks.find((r) => r.name === name);

  /** One event at a time per key (a run, or `propose` for admission so limits are counted exactly). */
  function serialized(key: string, fn: () => Promise<void>): Promise<void> {
    const next = (chains.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = next.catch(() => undefined);
    chains.set(key, tail);
    void tail.then(() => chains.get(key) === tail && chains.delete(key));
    return next;
  }

  async function publishTimer(timer: RunbookTimer, now: number): Promise<void> {
    const key = timer.timer === 'cron' ? timer.runbook : timer.executionId;
    await bus.publish([envelope('runbook.timer', timerId(timer), timer, key, now)], { delayMs: Math.max(0, timer.deadline - now) });
  }

  async function raise(kind: string, severity: Severity, labels: Record<string, string>, message: string, id: string): Promise<void> {
    const at = clock.now();
    await bus.publish([envelope('system.event', id, { source: 'automation', kind, severity, labels, message, at }, labels.runbook, at)]);
  }

  /** Writes one audit entry of a run, numbered in order (a replayed event rewrites the same entries). */
  async function audit(run: ExecutionRecord, entry: Pick<RunbookAuditRecord, 'kind' | 'at'> & Record<string, unknown>): Promise<void> {
    const seq = ++run.auditSeq;
    await store.runbookAudit.put({ ...entry, id: `${run.id}-${seq}`, executionId: run.id, seq });
  }

  async function scheduleCrons(now: number): Promise<void> {
    for (const c of triggers.crons) {
      const next = nextCronTime(c.cron, now);
      if (next !== undefined) await publishTimer({ timer: 'cron', runbook: c.runbook, path: c.path, deadline: next }, now);
    }
  }

  // ---- proposing a run ------------------------------------------------------------------------

  async function propose(firing: Firing, message: Envelope): Promise<void> {
    const runbook = runbookOf(firing.runbook);
    if (!runbook) return;
    const id = executionId(runbook.name, firing.source);
    let admitted: RemediationEvent | undefined;
    await serialized('propose', async () => {
      if (await store.runbookExecutions.get(id)) return;
      const now = clock.now();
      const config = ctx.config();
      const target = render(runbook.target, firing.data) || runbook.name;
      const group = runbook.blast_radius ? render(runbook.blast_radius.group, firing.data) : undefined;
      const refusal = await checkGates(config, runbook, { target, ...(group === undefined ? {} : { group }) }, store, now);
      const severity = firing.data.labels.severity ?? '';
      const needsApproval = runbook.approval.required || runbook.approval.severities.includes(severity as Severity);
      const dryRun = config.automation.dry_run || runbook.dry_run;
      const machine = createActor(remediationMachine, { input: { hasVerify: runbook.verify !== undefined, hasRollback: runbook.rollback.length > 0 } });
      machine.start();
      const record: ExecutionRecord = {
        id,
        runbook: runbook.name,
        state: 'proposed',
        snapshot: machine.getPersistedSnapshot(),
        createdAt: now,
        updatedAt: now,
        target,
        ...(group === undefined ? {} : { group }),
        trigger: { source: firing.source, reason: firing.reason, messageId: message.id },
        data: firing.data,
        dryRun,
        auditSeq: 0,
      };
      machine.stop();
      await store.runbookExecutions.put(record);
      log.info({ executionId: id, runbook: runbook.name, target, trigger: firing.reason, dryRun }, 'runbook run proposed');
      admitted = refusal
        ? { type: 'block', at: now, reason: `${refusal.gate}: ${refusal.reason}` }
        : {
            type: 'start',
            at: now,
            dryRun,
            ...(needsApproval ? { approvalTimeoutMs: parseDuration(runbook.approval.timeout) } : {}),
            verifyTimeoutMs: runbook.verify ? parseDuration(runbook.verify.timeout) : 0,
          };
    });
    if (admitted) await advance(id, admitted);
  }

  // ---- advancing a run ------------------------------------------------------------------------

  async function advance(id: string, first: RemediationEvent): Promise<void> {
    await serialized(id, async () => {
      const queue = [first];
      for (let event = queue.shift(); event; event = queue.shift()) {
        const record = (await store.runbookExecutions.get(id)) as ExecutionRecord | undefined;
        if (!record) return;
        queue.push(...(await apply(record, event)));
      }
    });
  }

  /** Feeds one event to a run's machine, persists what changed, then performs its effects; returns their outcomes as events. */
  async function apply(record: ExecutionRecord, event: RemediationEvent): Promise<RemediationEvent[]> {
    const machine = createActor(remediationMachine, { snapshot: record.snapshot as Snapshot<unknown>, input: { hasVerify: false, hasRollback: false } });
    const emitted: RemediationEmitted[] = [];
    machine.on('*', (e) => emitted.push(e));
    machine.start();
    machine.send(event);
    const snapshot = machine.getSnapshot();
    // Taken before stop(): a stopped actor's snapshot restores as stopped and ignores eventless transitions.
    const persisted = machine.getPersistedSnapshot();
    machine.stop();
    if (!emitted.some((e) => e.type === 'transition')) return [];

    const now = clock.now();
    const state = snapshot.value as RemediationState;
    const c = snapshot.context;
    Object.assign(record, {
      state,
      snapshot: persisted,
      updatedAt: now,
      ...(c.reason === undefined ? {} : { reason: c.reason }),
      ...(c.approvedBy === undefined ? {} : { approvedBy: c.approvedBy }),
      ...(c.approvalDeadline === undefined ? {} : { approvalDeadline: c.approvalDeadline }),
      ...(c.verifyDeadline === undefined ? {} : { verifyDeadline: c.verifyDeadline }),
    });
    const final = isFinal(state, snapshot.status);
    if (final) record.finishedAt = now;

    for (const e of emitted) {
      if (e.type === 'transition') {
        await audit(record, { kind: 'transition', at: e.at, from: e.from, to: e.to, by: e.by, reason: e.reason });
        log.info({ executionId: record.id, runbook: record.runbook, from: e.from, to: e.to, by: e.by, reason: e.reason }, 'runbook run changed state');
      } else if (e.type === 'schedule') {
        await publishTimer({ timer: e.timer, executionId: record.id, deadline: e.deadline }, now);
      }
    }
    await store.runbookExecutions.put(record);
    if (final) await finished(record);
    if (state === 'awaiting_approval') await askForApproval(record);

    const next: RemediationEvent[] = [];
    for (const e of emitted) {
      if (e.type === 'execute') next.push(await runPhase(record, 'steps'));
      else if (e.type === 'rollback') next.push(await runPhase(record, 'rollback'));
      else if (e.type === 'verify') {
        const passed = await verifyOnce(record);
        if (passed) next.push(passed);
      }
    }
    return next;
  }

  async function askForApproval(record: ExecutionRecord): Promise<void> {
    const receiver = runbookOf(record.runbook)?.approval.receiver;
    if (!receiver) return;
    const until = record.approvalDeadline === undefined ? '' : ` before ${new Date(record.approvalDeadline).toISOString()}`;
    const summary = `runbook ${record.runbook} wants to act on ${record.target} (${record.trigger.reason}): vigil runs approve ${record.id}${until}, or vigil runs deny ${record.id}`;
    await bus.publish([notificationMessage({ id: `${record.id}-approval`, runbook: record.runbook, receiver, summary, severity: 'warning', instance: record.target, now: clock.now() })]);
  }

  async function finished(record: ExecutionRecord): Promise<void> {
    metrics.runbookRuns.inc({ runbook: record.runbook, state: record.state });
    const severity = OUTCOME_EVENTS[record.state];
    const labels = { runbook: record.runbook, target: record.target, execution: record.id };
    if (severity) {
      await raise(`runbook.${record.state}`, severity, labels, `runbook ${record.runbook} on ${record.target}: ${record.state}${record.reason ? ` (${record.reason})` : ''}`, `sysevent-${record.id}-${record.state}`);
    }
    const runbook = runbookOf(record.runbook);
    if (!runbook || record.state === 'expired' || !['failed', 'rolled_back', 'rollback_failed'].includes(record.state)) return;
    const now = clock.now();
    const breaker = await circuitOpen(runbook, store, now);
    // Raised by the failure that opens the circuit, once per opening.
    if (breaker.open && !(await circuitOpen(runbook, store, now, record.id)).open) {
      await raise('runbook.circuit_open', 'critical', { runbook: runbook.name }, `runbook ${runbook.name}: circuit open after ${breaker.failures} failures within ${runbook.circuit_breaker.window}; closed again after ${runbook.circuit_breaker.cool_down}`, `sysevent-${record.id}-circuit-open`);
    }
  }

  // ---- acting ---------------------------------------------------------------------------------

  async function runPhase(record: ExecutionRecord, phase: 'steps' | 'rollback'): Promise<RemediationEvent> {
    const runbook = runbookOf(record.runbook);
    const failedType = phase === 'steps' ? 'steps.failed' : 'rollback.failed';
    if (!runbook) return { type: failedType, at: clock.now(), error: `runbook ${record.runbook} is no longer configured` };
    const config = ctx.config();
    const steps = phase === 'steps' ? runbook.steps : runbook.rollback;
    let previous: boolean | undefined;
    let ran = false;
    for (const [i, step] of steps.entries()) {
      const at = clock.now();
      const stepId = `${record.id}-${phase}-${i}`;
      // The kill switch stops a run between steps; a rollback still restores what was changed.
      if (phase === 'steps' && !record.dryRun && (await killSwitch(config, store)).engaged) {
        return { type: 'steps.failed', at, error: 'the kill switch was engaged', nothingChanged: !ran };
      }
      if (!shouldRun(step.when, previous, record.data)) {
        await audit(record, { kind: 'step', at, phase, index: i, name: step.name, skipped: true, when: step.when });
        await store.runbookExecutions.put(record);
        metrics.runbookSteps.inc({ kind: step.kind, outcome: 'skipped' });
        continue;
      }
      const secrets: string[] = [];
      let result: ActionResult;
      try {
        result = await runStep(step, record.data, {
          automation: config.automation,
          baseDir: config.baseDir,
          runbook: record.runbook,
          stepId,
          dryRun: record.dryRun,
          now: at,
          publish: (m) => bus.publish([m]),
          secrets,
          redact: (text) => redactor(secrets)(text),
        });
      } catch (err) {
        result = { ok: false, action: { kind: step.kind }, error: redactor(secrets)((err as Error).message), durationMs: clock.now() - at, dryRun: record.dryRun };
      }
      await audit(record, { kind: 'step', at, phase, index: i, name: step.name, ...result });
      await store.runbookExecutions.put(record);
      metrics.runbookSteps.inc({ kind: step.kind, outcome: result.dryRun ? 'dry_run' : result.ok ? 'ok' : 'failed' });
      log.info({ executionId: record.id, step: step.name, phase, ok: result.ok, status: result.status, durationMs: result.durationMs, dryRun: result.dryRun }, 'runbook step done');
      previous = result.ok;
      ran = true;
      if (!result.ok && !step.continue_on_error) return { type: failedType, at: clock.now(), error: `step ${step.name}: ${result.error ?? 'failed'}` };
    }
    return phase === 'steps' ? { type: 'steps.done', at: clock.now() } : { type: 'rollback.done', at: clock.now() };
  }

  /** One verification check: passed gives the event; otherwise the next check is scheduled (the verify timer ends it). */
  async function verifyOnce(record: ExecutionRecord): Promise<RemediationEvent | undefined> {
    const runbook = runbookOf(record.runbook);
    const now = clock.now();
    if (!runbook?.verify) return { type: 'verify.failed', at: now, error: `runbook ${record.runbook} has no verification any more` };
    const outcome = await checkOnce(runbook.verify, record.data, ctx.config().automation.prometheus_url);
    await audit(record, { kind: 'verify', at: now, ok: outcome.ok, detail: outcome.detail });
    await store.runbookExecutions.put(record);
    if (outcome.ok) return { type: 'verify.passed', at: clock.now(), detail: outcome.detail };
    const next = now + parseDuration(runbook.verify.interval);
    if (record.verifyDeadline !== undefined && next < record.verifyDeadline) await publishTimer({ timer: 'verify_check', executionId: record.id, deadline: next }, now);
    return undefined;
  }

  async function onVerifyCheck(id: string): Promise<void> {
    let passed: RemediationEvent | undefined;
    await serialized(id, async () => {
      const record = (await store.runbookExecutions.get(id)) as ExecutionRecord | undefined;
      if (record?.state === 'verifying') passed = await verifyOnce(record);
    });
    if (passed) await advance(id, passed);
  }

  // ---- restart ---------------------------------------------------------------------------------

  /** Runs caught mid-action by a stop are failed (and rolled back); waiting ones keep their durable timers. */
  async function recover(): Promise<void> {
    const now = clock.now();
    for (const state of ['proposed', 'executing', 'rolling_back'] as const) {
      for (const r of await store.runbookExecutions.find({ where: { state } })) {
        await advance(r.id, { type: 'abort', at: now, reason: `interrupted while ${state} (Vigil restarted)` });
      }
    }
    for (const r of await store.runbookExecutions.find({ where: { state: 'verifying' } })) {
      await publishTimer({ timer: 'verify_check', executionId: r.id, deadline: now }, now);
    }
  }

  return {
    name: 'automation',
    async start() {
      await recover();
      await scheduleCrons(clock.now());
    },
    async reload(config: VigilConfig) {
      triggers = new TriggerSet(config.runbooks);
      await scheduleCrons(clock.now());
    },
    async handle(message) {
      switch (message.type) {
        case 'alert.notify': {
          const { alert, rule } = (message as Envelope<'alert.notify'>).payload;
          if (rule.startsWith(RUNBOOK_RULE_PREFIX)) return;
          for (const f of triggers.onAlert(alert, message.ts)) await propose(f, message);
          return;
        }
        case 'samples':
          for (const f of triggers.onSamples((message as Envelope<'samples'>).payload.samples)) await propose(f, message);
          return;
        case 'runbook.timer': {
          const t = (message as Envelope<'runbook.timer'>).payload;
          if (t.timer === 'cron') {
            for (const f of triggers.onCron(t.runbook, t.path, t.deadline)) await propose(f, message);
            const schedule = triggers.crons.find((c) => c.runbook === t.runbook && c.path === t.path);
            const next = schedule && nextCronTime(schedule.cron, t.deadline);
            if (next !== undefined) await publishTimer({ ...t, deadline: next }, clock.now());
          } else if (t.timer === 'verify_check') {
            await onVerifyCheck(t.executionId);
          } else {
            await advance(t.executionId, { type: 'timer', timer: t.timer as RemediationTimer, deadline: t.deadline });
          }
          return;
        }
        case 'runbook.approve':
        case 'runbook.deny': {
          const p = message.payload as MessagePayloads['runbook.approve'];
          const type = message.type === 'runbook.approve' ? 'approve' : 'deny';
          await advance(p.executionId, { type, at: clock.now(), by: p.by, ...(p.comment ? { comment: p.comment } : {}) });
          return;
        }
        default:
          log.warn({ type: message.type, msgId: message.id }, 'automation ignores this message type');
      }
    },
  };
}
