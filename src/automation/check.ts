import { parseMatchers, MatcherError } from '../labels/matchers.js';
import type { VigilConfig } from '../config/load.js';
import type { RunbookStep, RunbookTriggerConfig, SecretValue } from '../config/schema.js';
import { isTimeZone } from '../oncall/zoned-time.js';
import { whenProblem } from './params.js';
import { cronOf } from './triggers.js';

type Path = (string | number)[];
type Problem = { path: Path; message: string };

function triggerProblems(trigger: RunbookTriggerConfig, path: Path, problems: Problem[]): void {
  if (trigger.kind === 'alert') {
    try {
      parseMatchers(trigger.matchers);
    } catch (err) {
      problems.push({ path: [...path, 'matchers', (err as MatcherError).index ?? 0], message: (err as Error).message });
    }
  } else if (trigger.kind === 'cron') {
    if (!isTimeZone(trigger.time_zone)) {
      problems.push({ path: [...path, 'time_zone'], message: `unknown time zone "${trigger.time_zone}" (expected an IANA name such as Europe/Berlin)` });
      return;
    }
    try {
      cronOf(trigger.schedule, trigger.time_zone);
    } catch (err) {
      problems.push({ path: [...path, 'schedule'], message: `invalid cron schedule: ${(err as Error).message}` });
    }
  } else if (trigger.kind === 'all' || trigger.kind === 'any') {
    trigger.triggers.forEach((t, i) => triggerProblems(t, [...path, 'triggers', i], problems));
  }
}

function stepProblems(step: RunbookStep, path: Path, config: VigilConfig, checkSecret: (value: SecretValue | undefined, path: Path) => void, problems: Problem[]): void {
  const allowlist = config.automation.command_allowlist;
  const receivers = new Map(config.notifier.receivers.map((r) => [r.name, r.kind]));
  const program = (argv0: string, at: Path) => {
    if (argv0.includes('{{')) problems.push({ path: at, message: 'the program (argv[0]) cannot be templated' });
    else if (!allowlist.includes(argv0)) problems.push({ path: at, message: `"${argv0}" is not in automation.command_allowlist` });
  };
  if (step.when !== undefined) {
    const problem = whenProblem(step.when);
    if (problem) problems.push({ path: [...path, 'when'], message: problem });
  }
  const commandOrHttp = (s: { kind: 'command' | 'http'; argv?: string[]; env?: Record<string, SecretValue>; headers?: Record<string, SecretValue> }, at: Path) => {
    if (s.kind === 'command') program(s.argv?.[0] ?? '', [...at, 'argv', 0]);
    for (const [k, v] of Object.entries(s.env ?? {})) checkSecret(v, [...at, 'env', k]);
    for (const [k, v] of Object.entries(s.headers ?? {})) checkSecret(v, [...at, 'headers', k]);
  };
  switch (step.kind) {
    case 'command':
    case 'http':
      commandOrHttp(step, path);
      break;
    case 'systemd':
      if (!allowlist.includes(config.automation.systemctl)) problems.push({ path, message: `systemd steps run "${config.automation.systemctl}", which is not in automation.command_allowlist` });
      break;
    case 'scale':
      commandOrHttp(step.up, [...path, 'up']);
      commandOrHttp(step.down, [...path, 'down']);
      if (step.down_below > step.up_above) problems.push({ path: [...path, 'down_below'], message: 'must not be above up_above' });
      break;
    case 'notify':
      if (step.receiver !== undefined && !receivers.has(step.receiver)) problems.push({ path: [...path, 'receiver'], message: `no receiver named "${step.receiver}"` });
      break;
    case 'ticket':
      if (receivers.get(step.receiver) !== 'jira') problems.push({ path: [...path, 'receiver'], message: `"${step.receiver}" is not a jira receiver` });
      break;
    case 'kubernetes':
      if (step.operation === 'scale' && step.replicas === undefined) problems.push({ path: [...path, 'replicas'], message: 'required for operation scale' });
      break;
  }
}

/** Semantic checks of automation and runbooks that the schema cannot express. */
export function automationProblems(config: VigilConfig, checkSecret: (value: SecretValue | undefined, path: Path) => void): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  config.runbooks.forEach((runbook, i) => {
    const at: Path = ['runbooks', i];
    if (seen.has(runbook.name)) problems.push({ path: [...at, 'name'], message: `duplicate runbook name "${runbook.name}"` });
    seen.add(runbook.name);
    triggerProblems(runbook.trigger, [...at, 'trigger'], problems);
    runbook.steps.forEach((s, j) => stepProblems(s, [...at, 'steps', j], config, checkSecret, problems));
    runbook.rollback.forEach((s, j) => stepProblems(s, [...at, 'rollback', j], config, checkSecret, problems));
    const verify = runbook.verify;
    if (verify?.kind === 'prometheus') {
      if (!verify.query) problems.push({ path: [...at, 'verify', 'query'], message: 'required for kind prometheus' });
      if (!verify.url && !config.automation.prometheus_url) problems.push({ path: [...at, 'verify', 'url'], message: 'required when automation.prometheus_url is not set' });
    }
    if (verify?.kind === 'http' && !verify.url) problems.push({ path: [...at, 'verify', 'url'], message: 'required for kind http' });
    const approver = runbook.approval.receiver;
    if (approver !== undefined && !config.notifier.receivers.some((r) => r.name === approver)) problems.push({ path: [...at, 'approval', 'receiver'], message: `no receiver named "${approver}"` });
    const blast = runbook.blast_radius;
    if (blast && blast.max === undefined && blast.max_percent === undefined) problems.push({ path: [...at, 'blast_radius'], message: 'needs max, max_percent or both' });
  });
  return problems;
}
