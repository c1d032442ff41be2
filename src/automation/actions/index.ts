import type { Envelope } from '../../bus/messages.js';
import { readSecret } from '../../config/load.js';
import type { AutomationConfig, RunbookStep, SecretValue } from '../../config/schema.js';
import { parseDuration } from '../../series/duration.js';
import { render, renderAll, renderUrl, type RunData } from '../params.js';
import { describeCommand, runCommand, type CommandSpec } from './command.js';
import { describeHttp, runHttp, type HttpSpec } from './http.js';
import { describeKubernetes, runKubernetes } from './kubernetes.js';
import { notificationMessage } from './notify.js';
import { scaleDecision } from './scale.js';
import { SECRET_NAME, type ActionResult, type Redact } from './types.js';

export { redactor, type ActionResult } from './types.js';
export { notificationMessage, RUNBOOK_RULE_PREFIX } from './notify.js';

/** Everything a step needs besides its own config. */
export interface StepContext {
  automation: AutomationConfig;
  baseDir: string;
  runbook: string;
  /** Unique per step of a run: names messages the step sends, so a repeat is deduplicated. */
  stepId: string;
  dryRun: boolean;
  now: number;
  /** Publishes a message to the notifier (notify and ticket steps). */
  publish(message: Envelope): Promise<void>;
  /** Collects every secret value the step resolves, so output and errors can be redacted. */
  secrets: string[];
  redact: Redact;
}

type CommandFields = Extract<RunbookStep, { kind: 'command' }>;
type HttpFields = Extract<RunbookStep, { kind: 'http' }>;

/** Resolves templated, possibly secret values; a `{file}` secret or a secret-looking name is masked in the audit. */
function resolveValues(values: Record<string, SecretValue> | undefined, data: RunData, ctx: StepContext): { values: Record<string, string>; secret: Set<string> } {
  const out: Record<string, string> = {};
  const secret = new Set<string>();
  for (const [name, value] of Object.entries(values ?? {})) {
    if (typeof value === 'string') out[name] = render(value, data);
    else out[name] = readSecret(value, ctx.baseDir);
    if (typeof value !== 'string' || SECRET_NAME.test(name)) {
      secret.add(name);
      ctx.secrets.push(out[name] as string);
    }
  }
  return { values: out, secret };
}

function commandSpec(step: Pick<CommandFields, 'argv' | 'env' | 'cwd' | 'timeout'>, data: RunData, ctx: StepContext): CommandSpec {
  const env = resolveValues(step.env, data, ctx);
  return {
    // argv[0] is never templated (checked at load), so the allowlist decides what can run.
    argv: [step.argv[0] as string, ...renderAll(step.argv.slice(1), data)],
    env: env.values,
    secretEnv: env.secret,
    ...(step.cwd === undefined ? {} : { cwd: render(step.cwd, data) }),
    timeoutMs: parseDuration(step.timeout),
    maxOutputBytes: ctx.automation.limits.max_output_bytes,
  };
}

function httpSpec(step: Pick<HttpFields, 'method' | 'url' | 'headers' | 'body' | 'expect_status' | 'timeout'>, data: RunData, ctx: StepContext): HttpSpec {
  const headers = resolveValues(step.headers, data, ctx);
  return {
    method: step.method,
    url: renderUrl(step.url, data),
    headers: headers.values,
    secretHeaders: headers.secret,
    ...(step.body === undefined ? {} : { body: render(step.body, data) }),
    expectStatus: step.expect_status ?? [],
    timeoutMs: parseDuration(step.timeout),
    maxOutputBytes: ctx.automation.limits.max_output_bytes,
  };
}

const dry = (action: Record<string, unknown>): ActionResult => ({ ok: true, action, durationMs: 0, dryRun: true });
const refused = (action: Record<string, unknown>, error: string): ActionResult => ({ ok: false, action, error, durationMs: 0, dryRun: false });

async function command(spec: CommandSpec, ctx: StepContext): Promise<ActionResult> {
  const redact = ctx.redact;
  // Checked at load too; checked again here so no path around the allowlist exists.
  if (!ctx.automation.command_allowlist.includes(spec.argv[0] as string)) return refused(describeCommand(spec, redact), `${spec.argv[0]} is not in automation.command_allowlist`);
  return ctx.dryRun ? dry(describeCommand(spec, redact)) : runCommand(spec, redact);
}

async function http(spec: HttpSpec, ctx: StepContext): Promise<ActionResult> {
  return ctx.dryRun ? dry(describeHttp(spec, ctx.redact)) : runHttp(spec, ctx.redact);
}

async function notify(kind: 'notify' | 'ticket', receiver: string | undefined, summary: string, severity: string, data: RunData, ctx: StepContext): Promise<ActionResult> {
  const action = { kind, ...(receiver ? { receiver } : {}), summary };
  if (ctx.dryRun) return dry(action);
  await ctx.publish(notificationMessage({ id: ctx.stepId, runbook: ctx.runbook, ...(receiver ? { receiver } : {}), summary, severity, ...(data.labels.instance ? { instance: data.labels.instance } : {}), now: ctx.now }));
  return { ok: true, action, durationMs: 0, dryRun: false };
}

/** Runs one step with its parameters templated from the run's data (or, in dry-run, describes it). */
export async function runStep(step: RunbookStep, data: RunData, ctx: StepContext): Promise<ActionResult> {
  switch (step.kind) {
    case 'command':
      return command(commandSpec(step, data, ctx), ctx);
    case 'http':
      return http(httpSpec(step, data, ctx), ctx);
    case 'systemd':
      // `--` ends systemctl's options, so a unit name from a label cannot pass itself off as one.
      return command(commandSpec({ argv: [ctx.automation.systemctl, step.operation, '--', step.unit], timeout: step.timeout }, data, ctx), ctx);
    case 'kubernetes': {
      const replicasText = step.replicas === undefined ? undefined : render(step.replicas, data);
      const replicas = replicasText === undefined ? undefined : Number(replicasText);
      const spec = {
        operation: step.operation,
        namespace: render(step.namespace, data),
        deployment: render(step.deployment, data),
        ...(replicas === undefined ? {} : { replicas }),
        ...(step.kubeconfig === undefined ? {} : { kubeconfig: step.kubeconfig }),
      };
      if (step.operation === 'scale' && (replicas === undefined || !Number.isInteger(replicas) || replicas < 0)) {
        return refused(describeKubernetes(spec), `replicas must be a whole number >= 0, got "${replicasText ?? ''}"`);
      }
      return ctx.dryRun ? dry(describeKubernetes(spec)) : runKubernetes(spec, ctx.now, ctx.redact);
    }
    case 'scale': {
      const utilisation = Number(render(step.value, data));
      const decision = scaleDecision(utilisation, step.up_above, step.down_below);
      if (decision === 'none') return { ok: true, action: { kind: 'scale', utilisation, decision }, durationMs: 0, dryRun: ctx.dryRun };
      const target = decision === 'up' ? step.up : step.down;
      const result = target.kind === 'command' ? await command(commandSpec(target, data, ctx), ctx) : await http(httpSpec(target, data, ctx), ctx);
      return { ...result, action: { kind: 'scale', utilisation, decision, then: result.action } };
    }
    case 'notify':
      return notify('notify', step.receiver, render(step.summary, data), step.severity, data, ctx);
    case 'ticket':
      return notify('ticket', step.receiver, render(step.summary, data), 'warning', data, ctx);
  }
}
