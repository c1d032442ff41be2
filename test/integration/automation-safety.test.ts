import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killSwitchRecord } from '../../src/automation/safety.js';
import { automationHarness, FIXTURES, type AutomationHarness } from '../helpers/automation-harness.js';

const NODE = JSON.stringify(process.execPath);
const WRITE_ARGV = JSON.stringify(join(FIXTURES, 'write-argv.mjs'));
const MINUTE = 60_000;

/**
 * One runbook whose step runs write-argv.mjs: the file it writes (named after the alert's instance) is
 * the proof that the step ran, with which arguments and environment.
 */
function runbook(extra = '', options: { global?: string; step?: string } = {}) {
  return (dir: string) => `
automation:
  command_allowlist: [${NODE}]
${options.global ?? ''}
runbooks:
  - name: fix
    trigger: { kind: alert, matchers: ['alertname="Broken"'] }
    steps:
      - name: act
        kind: command
        argv: [${NODE}, ${WRITE_ARGV}, '${dir}/ran-{{ $labels.id }}', '{{ $labels.instance }}']
        env: { TARGET: '{{ $labels.instance }}', API_TOKEN: 's3cr3t-t0ken', EXIT_CODE: '{{ $labels.exit }}' }
${options.step ?? ''}
${extra}
`;
}

let h: AutomationHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ran = (instance: string) => existsSync(join(h!.dir, `ran-${instance}`));
const broken = (instance: string, extra: Record<string, string> = {}) => h!.firing({ alertname: 'Broken', instance, id: instance, ...extra });

describe('label values never reach a shell', () => {
  it('passes "; rm -rf /" as one literal argument and keeps secrets out of the audit', async () => {
    h = automationHarness(runbook());
    const evil = 'web-1; rm -rf / #$(touch pwned)';
    await broken(evil, { id: 'evil' });
    const run = await h.run();
    expect(run.state).toBe('succeeded');
    const recorded = JSON.parse(readFileSync(join(h.dir, 'ran-evil'), 'utf8'));
    expect(recorded.args).toEqual([evil]);
    expect(recorded.env).toEqual({ TARGET: evil, API_TOKEN: 's3cr3t-t0ken' });
    expect(existsSync(join(process.cwd(), 'pwned'))).toBe(false);
    const step = (await h.audit(run.id)).find((a) => a.kind === 'step')!;
    expect((step.action as { argv: string[] }).argv.at(-1)).toBe(evil);
    expect((step.action as { env: Record<string, string> }).env.API_TOKEN).toBe('***');
    // The program printed the token: the audit keeps the output with the secret masked.
    expect(step.stdout).toBe('token is ***\n');
    expect(JSON.stringify(await h.store.runbookAudit.find({}))).not.toContain('s3cr3t-t0ken');
  });

  it('refuses a program that is not in the allowlist when the config is loaded', () => {
    expect(() => automationHarness((dir) => runbook()(dir).replace(`command_allowlist: [${NODE}]`, 'command_allowlist: [/bin/true]'))).toThrow(
      /vigil\.yaml:\d+: runbooks\[0\]\.steps\[0\]\.argv\[0\]: ".*node" is not in automation\.command_allowlist/,
    );
  });
});

describe('dry-run', () => {
  it('per runbook: records exactly what would run and runs nothing', async () => {
    h = automationHarness(runbook('    dry_run: true'));
    await broken('web-1');
    const run = await h.run();
    expect(run).toMatchObject({ state: 'succeeded', dryRun: true });
    expect(ran('web-1')).toBe(false);
    const step = (await h.audit(run.id)).find((a) => a.kind === 'step')!;
    expect(step).toMatchObject({ dryRun: true, ok: true, action: { kind: 'command', argv: [process.execPath, join(FIXTURES, 'write-argv.mjs'), `${h.dir}/ran-web-1`, 'web-1'] } });
  });

  it('globally', async () => {
    h = automationHarness(runbook('', { global: '  dry_run: true' }));
    await broken('web-1');
    expect((await h.run()).dryRun).toBe(true);
    expect(ran('web-1')).toBe(false);
  });
});

describe('approval', () => {
  const withApproval = runbook('    approval: { severities: [critical], timeout: 10m }');

  it('waits for a responder, then acts', async () => {
    h = automationHarness(withApproval);
    await broken('web-1', { severity: 'critical' });
    const run = await h.run();
    expect(run.state).toBe('awaiting_approval');
    expect(ran('web-1')).toBe(false);
    await h.send('runbook.approve', { executionId: run.id, by: 'ann', comment: 'go' });
    expect(await h.run()).toMatchObject({ state: 'succeeded', approvedBy: 'ann' });
    expect(ran('web-1')).toBe(true);
    expect((await h.audit(run.id)).find((a) => a.to === 'approved')).toMatchObject({ by: 'ann', reason: 'go' });
    // The approval timer arriving later changes nothing.
    await h.advanceTo(h.clock.now() + 11 * MINUTE);
    expect((await h.run()).state).toBe('succeeded');
  });

  it('a denied run never acts', async () => {
    h = automationHarness(withApproval);
    await broken('web-1', { severity: 'critical' });
    const run = await h.run();
    await h.send('runbook.deny', { executionId: run.id, by: 'bob', comment: 'not now' });
    expect(await h.run()).toMatchObject({ state: 'denied', reason: 'not now' });
    await h.send('runbook.approve', { executionId: run.id, by: 'ann' });
    expect((await h.run()).state).toBe('denied');
    expect(ran('web-1')).toBe(false);
  });

  it('expires when nobody approves within the timeout, and raises a system event', async () => {
    h = automationHarness(withApproval);
    await broken('web-1', { severity: 'critical' });
    await h.advanceTo(h.clock.now() + 9 * MINUTE);
    expect((await h.run()).state).toBe('awaiting_approval');
    await h.advanceTo(h.clock.now() + 2 * MINUTE);
    const run = await h.run();
    expect(run.state).toBe('expired');
    await h.send('runbook.approve', { executionId: run.id, by: 'late' });
    expect((await h.run()).state).toBe('expired');
    expect(ran('web-1')).toBe(false);
    expect(h.systemEvents().map((e) => e.kind)).toEqual(['runbook.expired']);
  });

  it('tells the approval receiver how to approve or deny', async () => {
    h = automationHarness((dir) => `${runbook('    approval: { required: true, receiver: ops }')(dir)}\nnotifier: { receivers: [{ name: ops, kind: log }], default_receiver: ops }\n`);
    await broken('web-1');
    const run = await h.run();
    const asks = h.published.filter((p) => p.message.type === 'alert.notify').map((p) => p.message.payload as { receiver: string; alert: { annotations: Record<string, string> } });
    expect(asks).toHaveLength(1);
    expect(asks[0]?.receiver).toBe('ops');
    expect(asks[0]?.alert.annotations.summary).toContain(`vigil runs approve ${run.id} before 2026-11-23T10:15:00`);
  });

  it('a kill switch engaged while a run waits stops it before any step, with nothing to roll back', async () => {
    h = automationHarness(runbook(`    approval: { required: true }\n    rollback: [{ name: undo, kind: command, argv: [${NODE}, ${WRITE_ARGV}, '{{ $labels.dir }}/undone'] }]`));
    await h.firing({ alertname: 'Broken', instance: 'web-1', id: 'web-1', dir: h.dir });
    await h.store.runbookAudit.put(killSwitchRecord(true, 'ops', h.clock.now()));
    await h.send('runbook.approve', { executionId: (await h.run()).id, by: 'ann' });
    expect(await h.run()).toMatchObject({ state: 'failed', reason: 'the kill switch was engaged' });
    expect(ran('web-1')).toBe(false);
    expect(existsSync(join(h.dir, 'undone'))).toBe(false);
  });

  it('is not asked for severities that do not need it', async () => {
    h = automationHarness(withApproval);
    await broken('web-1', { severity: 'warning' });
    expect((await h.run()).state).toBe('succeeded');
  });
});

describe('limits', () => {
  it('rate limit per runbook blocks runs beyond the window count, and admits again after it', async () => {
    h = automationHarness(runbook('    rate_limit: { max: 2, per: 1h }'));
    for (const i of [1, 2, 3]) await broken(`web-${i}`);
    expect((await h.runs()).map((r) => r.state)).toEqual(['succeeded', 'succeeded', 'blocked']);
    expect((await h.runs())[2]?.reason).toMatch(/^rate_limit: 2 runs in the last 1h/);
    expect(ran('web-3')).toBe(false);
    await h.advanceTo(h.clock.now() + 61 * MINUTE);
    await broken('web-4');
    expect((await h.runs()).at(-1)?.state).toBe('succeeded');
  });

  it('rate limit per target', async () => {
    h = automationHarness(runbook('    target_rate_limit: { max: 1, per: 30m }'));
    await broken('web-1', { n: '1' });
    await broken('web-1', { n: '2' });
    await broken('web-2');
    expect((await h.runs()).map((r) => r.state)).toEqual(['succeeded', 'blocked', 'succeeded']);
  });

  it('concurrency per target: a second run waits out the first (here: the first awaits approval); a finished run no longer counts', async () => {
    h = automationHarness(runbook('    approval: { required: true }'));
    await broken('web-1', { n: '1' });
    await broken('web-1', { n: '2' });
    expect((await h.runs()).map((r) => [r.state, r.reason])).toEqual([
      ['awaiting_approval', undefined],
      ['blocked', 'target_concurrency: 1 runs in flight on web-1 (max 1)'],
    ]);
    await h.send('runbook.approve', { executionId: (await h.runs())[0]!.id, by: 'ann' });
    await broken('web-1', { n: '3', exit: '2' });
    await h.send('runbook.approve', { executionId: (await h.runs())[2]!.id, by: 'ann' });
    expect((await h.runs())[2]?.state).toBe('failed');
    await broken('web-1', { n: '4' });
    expect((await h.runs()).at(-1)?.state).toBe('awaiting_approval');
  });

  it('concurrent triggers for one target: admission is serialized, so only one gets in', async () => {
    h = automationHarness(runbook('    approval: { required: true }'));
    await Promise.all([broken('web-1', { n: '1' }), broken('web-1', { n: '2' }), broken('web-1', { n: '3' })]);
    expect((await h.runs()).map((r) => r.state).sort()).toEqual(['awaiting_approval', 'blocked', 'blocked']);
  });

  it('blast radius: at most 25% of a group of 8 at once', async () => {
    h = automationHarness(runbook("    approval: { required: true }\n    blast_radius: { group: '{{ $labels.job }}', size: 8, max_percent: 25 }"));
    for (const i of [1, 2, 3]) await broken(`web-${i}`, { job: 'web' });
    await broken('db-1', { job: 'db' });
    expect((await h.runs()).map((r) => r.state)).toEqual(['awaiting_approval', 'awaiting_approval', 'blocked', 'awaiting_approval']);
    expect((await h.runs())[2]?.reason).toBe('blast_radius: 2 of 8 targets of web in flight (max 2)');
    // One finishes: room for another.
    await h.send('runbook.approve', { executionId: (await h.runs())[0]!.id, by: 'ann' });
    await broken('web-4', { job: 'web' });
    expect((await h.runs()).at(-1)?.state).toBe('awaiting_approval');
  });

  it('circuit breaker opens after K failures in the window, raises a system event, closes after the cool-down', async () => {
    h = automationHarness(runbook('    circuit_breaker: { failures: 2, window: 1h, cool_down: 10m }'));
    await broken('web-1', { exit: '3' });
    await broken('web-2', { exit: '3' });
    await broken('web-3');
    expect((await h.runs()).map((r) => r.state)).toEqual(['failed', 'failed', 'blocked']);
    expect((await h.runs())[0]?.reason).toBe('step act: exited with 3');
    expect((await h.runs())[2]?.reason).toMatch(/^circuit_breaker: circuit open after 2 failures/);
    expect(h.systemEvents().map((e) => [e.kind, e.severity])).toEqual([
      ['runbook.failed', 'warning'],
      ['runbook.failed', 'warning'],
      ['runbook.circuit_open', 'critical'],
    ]);
    expect(ran('web-3')).toBe(false);
    await h.advanceTo(h.clock.now() + 11 * MINUTE);
    await broken('web-4');
    expect((await h.runs()).at(-1)?.state).toBe('succeeded');
    // Half-open: the failures still in the window make the next failure open it again.
    await broken('web-5', { exit: '3' });
    await broken('web-6');
    expect((await h.runs()).slice(-2).map((r) => r.state)).toEqual(['failed', 'blocked']);
    expect(h.systemEvents().filter((e) => e.kind === 'runbook.circuit_open')).toHaveLength(2);
  });

  it('the kill switch blocks every run, from config or toggled at run time', async () => {
    h = automationHarness(runbook());
    await h.store.runbookAudit.put(killSwitchRecord(true, 'ops', h.clock.now()));
    await broken('web-1');
    expect((await h.run())).toMatchObject({ state: 'blocked', reason: 'kill_switch: the kill switch is engaged (by ops)' });
    expect(ran('web-1')).toBe(false);
    h.clock.set(h.clock.now() + 1);
    await h.store.runbookAudit.put(killSwitchRecord(false, 'ops', h.clock.now()));
    await broken('web-2');
    expect((await h.runs()).at(-1)?.state).toBe('succeeded');
    h.setConfig(runbook('', { global: '  kill_switch: true' })(h.dir));
    await broken('web-3');
    expect((await h.runs()).at(-1)?.reason).toBe('kill_switch: the kill switch is engaged (by config)');
  });
});

describe('steps and conditions', () => {
  it('runs a step only when its condition holds; a failing step with continue_on_error lets previous.failed steps run', async () => {
    const steps = `      - { name: hot, kind: command, argv: [${NODE}, ${WRITE_ARGV}, '{{ $labels.dir }}/hot'], when: '{{ $value }} > 80' }
      - { name: failing, kind: command, argv: [${NODE}, ${WRITE_ARGV}, '{{ $labels.dir }}/x'], env: { EXIT_CODE: '1' }, continue_on_error: true }
      - { name: on-failure, kind: command, argv: [${NODE}, ${WRITE_ARGV}, '{{ $labels.dir }}/recovered'], when: previous.failed }`;
    h = automationHarness(runbook('', { step: steps }));
    await h.firing({ alertname: 'Broken', instance: 'web-1', dir: h.dir }, { value: 50 });
    const run = await h.run();
    expect(run.state).toBe('succeeded');
    const steps_ = (await h.audit(run.id)).filter((a) => a.kind === 'step');
    expect(steps_.map((s) => [s.name, s.skipped ?? s.ok])).toEqual([
      ['act', true],
      ['hot', true],
      ['failing', false],
      ['on-failure', true],
    ]);
    expect(existsSync(join(h.dir, 'hot'))).toBe(false);
    expect(existsSync(join(h.dir, 'recovered'))).toBe(true);
  });
});

describe('restart', () => {
  it('fails a run caught mid-step and rolls it back; a run awaiting approval keeps waiting', async () => {
    const rollback = `    rollback:\n      - { name: undo, kind: command, argv: [${NODE}, ${WRITE_ARGV}, '{{ $labels.dir }}/undone'] }\n    approval: { severities: [critical] }`;
    h = automationHarness(runbook(rollback));
    await h.firing({ alertname: 'Broken', instance: 'web-1', dir: h.dir, severity: 'critical' });
    await h.firing({ alertname: 'Broken', instance: 'web-2', dir: h.dir });
    // Simulate a crash during web-2's step: its stored run is left executing.
    const [waiting, done] = await h.runs();
    await h.store.runbookExecutions.put({ ...done!, state: 'executing', snapshot: { ...(done!.snapshot as object), value: 'executing', status: 'active' } });
    expect(existsSync(join(h.dir, 'undone'))).toBe(false);

    await h.restart().start?.();
    expect((await h.store.runbookExecutions.get(done!.id))).toMatchObject({ state: 'rolled_back', reason: 'interrupted while executing (Vigil restarted)' });
    expect(existsSync(join(h.dir, 'undone'))).toBe(true);
    expect((await h.store.runbookExecutions.get(waiting!.id))?.state).toBe('awaiting_approval');
    await h.send('runbook.approve', { executionId: waiting!.id, by: 'ann' });
    expect((await h.store.runbookExecutions.get(waiting!.id))?.state).toBe('succeeded');
  });

  it('checks a verifying run again after a restart, within its original deadline', async () => {
    let healthy = false;
    const server = createServer((_req, res) => void res.writeHead(healthy ? 200 : 503).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      h = automationHarness(runbook(`    verify: { kind: http, url: 'http://127.0.0.1:${port}/health', interval: 10s, timeout: 1m }`));
      await broken('web-1');
      const run = await h.run();
      expect(run.state).toBe('verifying');
      h.published.splice(0);
      healthy = true;
      await h.restart().start?.();
      await h.advanceTo(h.clock.now());
      expect((await h.run()).state).toBe('succeeded');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
