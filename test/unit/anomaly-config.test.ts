import { describe, expect, it } from 'vitest';
import { compileSelection } from '../../src/actors/anomaly-detector/select.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';

const FILE = 'config/test.yaml';

function problems(text: string): string {
  try {
    parseConfig(text, FILE, {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('config was accepted');
}

describe('anomaly config', () => {
  it('has working defaults', () => {
    const { anomaly } = parseConfig('', FILE, {});
    expect(anomaly).toMatchObject({ enabled: true, detector: 'ensemble', severity: { warning: 0.7, critical: 0.9 }, watch: [], max_series: 1000, persist_interval: '5m' });
    expect(anomaly.threshold).toBeUndefined(); // the detector's DEFAULT_THRESHOLD applies
  });

  it.each([
    ['an unknown detector', 'anomaly: { detector: lstm }\n', 'config/test.yaml:1: anomaly.detector: unknown detector "lstm" (known: ensemble, robust, iforest, neural)'],
    ['bands out of order', 'anomaly:\n  severity: { warning: 0.95, critical: 0.9 }\n', 'config/test.yaml:2: anomaly.severity.warning: warning (0.95) must not be above critical (0.9)'],
    ['a threshold above 1', 'anomaly: { threshold: 2 }\n', 'config/test.yaml:1: anomaly.threshold: must be <= 1'],
    ['duplicate groups', 'anomaly:\n  multivariate:\n    - { name: h, by: instance, metrics: [a, b] }\n    - { name: h, by: instance, metrics: [c, d] }\n', 'config/test.yaml:4: anomaly.multivariate[1].name: duplicate group name "h"'],
    ['a group with one metric', 'anomaly:\n  multivariate: [{ name: h, by: instance, metrics: [a] }]\n', 'anomaly.multivariate[0].metrics: must NOT have fewer than 2 items'],
    [
      'groups over several partitions',
      'transport: { partitions: { anomaly-detector: 4 } }\nanomaly:\n  multivariate: [{ name: h, by: instance, metrics: [a, b] }]\n',
      'anomaly.multivariate: multivariate groups need transport.partitions.anomaly-detector to be 1',
    ],
  ])('refuses %s, naming file, line and path', (_name, text, message) => {
    expect(problems(text)).toContain(message);
  });

  it('selects series by metric glob and labels, ignore winning; hints first match; severity by band', () => {
    const { anomaly } = parseConfig('anomaly:\n  watch: [{ metric: "node_*" }, { metric: latency, match: { job: api } }]\n  ignore: [{ metric: "node_scrape_*" }]\n', FILE, {});
    const s = compileSelection(anomaly);
    expect(s.watched('node_cpu', {})).toBe(true);
    expect(s.watched('node_scrape_duration', {})).toBe(false);
    expect(s.watched('latency', { job: 'api' })).toBe(true);
    expect(s.watched('latency', { job: 'web' })).toBe(false);
    expect(s.watched('mem', {})).toBe(false);
    expect(s.recommendation('node_cpu_seconds')).toBe('check CPU-heavy processes');
    expect(s.recommendation('queue_depth')).toBeUndefined();
    expect([0.5, 0.7, 0.95].map((x) => s.severity(x))).toEqual(['info', 'warning', 'critical']);
  });
});
