import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { startMetricsTarget } from '../helpers/metrics-target.js';
import { startPrometheus, waitFor, type ManagedServer } from '../helpers/servers.js';
import { alertWorld } from '../unit/alert-world.js';

const RULES = `
groups:
  - name: queues
    rules:
      - record: queue:depth:sum
        expr: sum(vigil_test_depth)
      - alert: QueueTooDeep
        expr: vigil_test_depth > 10
        labels:
          severity: "{{ if gt $value 100.0 }}critical{{ else }}warning{{ end }}"
        annotations:
          summary: "queue {{ $labels.queue }} holds {{ $value | humanize }} jobs"
`;

let target: Awaited<ReturnType<typeof startMetricsTarget>>;
let prometheus: ManagedServer;
let dir: string;

async function prometheusSees(value: number): Promise<void> {
  await waitFor(`Prometheus to scrape ${value}`, async () => {
    const res = await fetch(`${prometheus.url}/api/v1/query?query=vigil_test_depth`);
    const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
    return body.data.result[0]?.value[1] === String(value) ? true : undefined;
  }, 30_000, 200);
}

beforeAll(async () => {
  target = await startMetricsTarget({ vigil_test_depth: 12 });
  prometheus = await startPrometheus([target.address], '1s');
  dir = mkdtempSync(join(tmpdir(), 'vigil-prom-rules-'));
  writeFileSync(join(dir, 'queues.rules.yml'), RULES);
  await prometheusSees(12);
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await target?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Prometheus rule files evaluated through the Prometheus HTTP API', () => {
  it('fires and resolves an alert of a rule file, with templated labels and annotations', async () => {
    const w = alertWorld(`
alerting:
  evaluation_interval: 1s
  rule_files: ["${dir}/*.rules.yml"]
  prometheus: { url: "${prometheus.url}" }
`);
    try {
      w.clock.t = Date.now();
      await w.boot();
      await waitFor('the firing', async () => {
        await w.advanceTo(Date.now());
        return w.notifies().length > 0 ? true : undefined;
      }, 20_000, 200);
      expect(w.notifies().map((n) => n.payload.alert)).toEqual([
        expect.objectContaining({
          status: 'firing',
          labels: { alertname: 'QueueTooDeep', severity: 'warning', job: 'test', instance: target.address },
          annotations: { summary: 'queue  holds 12 jobs' },
          value: 12,
        }),
      ]);
      target.set('vigil_test_depth', 3);
      await prometheusSees(3);
      // Ticks due before now ask Prometheus about their own (past) time: keep ticking until one sees 3.
      await waitFor('the resolution', async () => {
        await w.advanceTo(Date.now());
        return w.notifies().length > 1 ? true : undefined;
      }, 20_000, 200);
      expect(w.notifies().map((n) => [n.payload.alert.status, n.payload.alert.annotations.summary])).toEqual([
        ['firing', 'queue  holds 12 jobs'],
        ['resolved', 'queue  holds 12 jobs'],
      ]);
    } finally {
      await w.store.close();
    }
  });

  it('rejects a config whose rule files are broken or have no Prometheus to ask, naming the file', () => {
    writeFileSync(join(dir, 'broken.yml'), 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n');
    expect(() => parseConfig(`alerting: { rule_files: ["${dir}/broken.yml"], prometheus: { url: "http://127.0.0.1:1" } }`, '/etc/vigil/vigil.yaml', {})).toThrow(ConfigError);
    expect(() => parseConfig(`alerting: { rule_files: ["${dir}/broken.yml"], prometheus: { url: "http://127.0.0.1:1" } }`, '/etc/vigil/vigil.yaml', {})).toThrow(/broken\.yml:5: group "g", rule 1, "A": could not parse expression/);
    expect(() => parseConfig(`alerting: { rule_files: ["${dir}/queues.rules.yml"] }`, '/etc/vigil/vigil.yaml', {})).toThrow(/alerting\.prometheus: required when alerting\.rule_files is set/);
  });
});
