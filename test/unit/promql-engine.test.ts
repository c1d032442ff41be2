import { describe, expect, it } from 'vitest';
import { Engine, expandAlertTemplate, parseExpr, PromQLEvalError, PromQLParseError, SeriesStorage, checkRuleText, AlertingRule, type Value } from '../../src/promql/index.js';
import { expandSeriesValues, parseSeriesLine } from '../../src/promql/unit-test.js';

const S = 1000;
const M = 60 * S;

/** Loads series in promtool's notation, one sample per `interval`. */
function load(interval: number, series: Record<string, string>): { storage: SeriesStorage; engine: Engine } {
  const storage = new SeriesStorage();
  for (const [desc, values] of Object.entries(series)) {
    const labels = parseSeriesLine(desc);
    expandSeriesValues(values).forEach((v, i) => {
      if (v === 'stale') storage.append(labels, { t: i * interval, v: NaN, stale: true });
      else if (v !== undefined) storage.append(labels, { t: i * interval, v });
    });
  }
  return { storage, engine: new Engine(storage) };
}

/** `{labels} value` lines, sorted, for compact assertions. */
function rows(v: Value): string[] {
  if (v.type === 'scalar') return [`scalar ${v.v}`];
  if (v.type !== 'vector') throw new Error(`unexpected ${v.type}`);
  return v.samples.map((s) => `${JSON.stringify(Object.fromEntries(Object.entries(s.labels).sort()))} ${s.v}`).sort();
}

describe('series notation', () => {
  it('expands a+bxn to n+1 values, axn to n+1 copies, _xn to n gaps, and keeps stale markers', () => {
    expect(expandSeriesValues('1+2x3')).toEqual([1, 3, 5, 7]);
    expect(expandSeriesValues('-2-1x3')).toEqual([-2, -3, -4, -5]);
    expect(expandSeriesValues('0x2 1x2')).toEqual([0, 0, 0, 1, 1, 1]);
    expect(expandSeriesValues('1 _x3 stale 4')).toEqual([1, undefined, undefined, undefined, 'stale', 4]);
    expect(() => expandSeriesValues('1 +')).toThrow(/bad series value/);
  });

  it('parses the metric and labels and rejects an unterminated selector', () => {
    expect(parseSeriesLine('up{job="a", instance="b:1"}')).toEqual({ __name__: 'up', job: 'a', instance: 'b:1' });
    expect(() => parseSeriesLine('up{job="a"')).toThrow(/unterminated/);
  });
});

describe('parser', () => {
  it('binds offset and subquery ranges to the operand on their left, as Prometheus does', () => {
    const e = parseExpr('a + b offset 5m');
    expect(e.kind === 'binary' && e.rhs.kind === 'vector' && e.rhs.offset).toBe(5 * M);
    // The Lezer grammar alone would read `(a + b)[5m:]`; Prometheus reads `a + (b[5m:])`, a type error.
    expect(() => parseExpr('count_over_time(a + b[5m:])')).toThrow(/binary expression must contain only scalar and instant vector types/);
    expect(parseExpr('count_over_time((a + b)[5m:])').kind).toBe('call');
  });

  it('binds unary minus looser than ^, also where the grammar folds the sign into a number', () => {
    const engine = new Engine(new SeriesStorage());
    expect(rows(engine.instantQuery('-1 ^ 2', 0))).toEqual(['scalar -1']);
    expect(rows(engine.instantQuery('2 * - 1 ^ 2', 0))).toEqual(['scalar -2']);
    expect(rows(engine.instantQuery('- - - 1', 0))).toEqual(['scalar -1']);
  });

  it('rejects what Prometheus 2.42 rejects', () => {
    expect(() => parseExpr('test +')).toThrow(PromQLParseError);
    expect(() => parseExpr('rate(x)')).toThrow(/expected type range vector in call to function "rate", got instant vector/);
    expect(() => parseExpr('1 > 2')).toThrow(/comparisons between scalars must use BOOL modifier/);
    expect(() => parseExpr('rate(x[5m]) offset 1m')).toThrow(/offset modifier must be preceded by/);
    expect(() => parseExpr('{job=~".*"}')).toThrow(/at least one non-empty matcher/);
    expect(() => parseExpr('sort_by_label(x, "a")')).toThrow(/unknown function/);
    expect(parseExpr('label_join(x, "d", ",", "a")').kind).toBe('call');
    expect(parseExpr('hour()').kind).toBe('call');
    expect(() => parseExpr('round(x, 1, 2)')).toThrow(/expected at most 2 argument\(s\) in call to "round", got 3/);
    expect(() => parseExpr('label_join(x, "d")')).toThrow(/expected at least 3 argument\(s\)/);
    // Prometheus 3 syntax the shared Lezer grammar knows.
    expect(() => parseExpr('a + fill(0) b')).toThrow(/not supported by Prometheus 2.42/);
    expect(() => parseExpr('sum by ("a") (x)')).toThrow(/not supported by Prometheus 2.42/);
  });
});

describe('rate, increase and delta extrapolation', () => {
  it('uses the closed window [t-range, t] and extrapolates to its edges', () => {
    const { engine } = load(M, { x: '0+10x10' });
    expect(rows(engine.instantQuery('rate(x[5m])', 10 * M))).toEqual([`{} ${50 / 300}`]);
    // Points 6m..10m, 30s short of each edge: extrapolated from 240s to 300s.
    expect(rows(engine.instantQuery('increase(x[5m])', 10 * M + 30 * S))).toEqual(['{} 50']);
    expect(rows(engine.instantQuery('delta(x[2m])', 10 * M))).toEqual(['{} 20']);
  });

  it('adds counter resets and does not extrapolate below zero', () => {
    const { engine } = load(M, { x: '5 10 2 6' });
    // 11 counted; the start is extrapolated only to where the counter would have been 0.
    expect(rows(engine.instantQuery('increase(x[5m])', 3 * M))).toEqual([`{} ${(11 * 210) / 180}`]);
    expect(rows(engine.instantQuery('irate(x[5m])', 3 * M))).toEqual([`{} ${4 / 60}`]);
    expect(rows(engine.instantQuery('resets(x[5m])', 3 * M))).toEqual(['{} 1']);
  });
});

describe('vector matching', () => {
  const { engine } = load(M, {
    'errors{job="api", code="500"}': '4',
    'errors{job="api", code="503"}': '6',
    'requests{job="api", team="core"}': '100',
    'requests{job="web", team="edge"}': '50',
  });

  it('group_left copies labels from the one side and keeps the many side', () => {
    expect(rows(engine.instantQuery('errors / on(job) group_left(team) requests', 0))).toEqual([
      '{"code":"500","job":"api","team":"core"} 0.04',
      '{"code":"503","job":"api","team":"core"} 0.06',
    ]);
  });

  it('fails a many-to-many match at evaluation', () => {
    expect(() => engine.instantQuery('requests + on(job) errors', 0)).toThrow(PromQLEvalError);
    expect(() => engine.instantQuery('requests + on(job) errors', 0)).toThrow(/many-to-many matching not allowed/);
  });

  it('set operators and bool comparisons', () => {
    expect(rows(engine.instantQuery('requests and on(job) errors', 0))).toEqual(['{"__name__":"requests","job":"api","team":"core"} 100']);
    expect(rows(engine.instantQuery('requests unless on(job) errors', 0))).toEqual(['{"__name__":"requests","job":"web","team":"edge"} 50']);
    expect(rows(engine.instantQuery('requests > bool 60', 0))).toEqual(['{"job":"api","team":"core"} 1', '{"job":"web","team":"edge"} 0']);
    expect(rows(engine.instantQuery('sum by (job) (errors) or on(job) requests', 0))).toEqual(['{"__name__":"requests","job":"web","team":"edge"} 50', '{"job":"api"} 10']);
  });
});

describe('aggregations and functions', () => {
  it('histogram_quantile interpolates inside the bucket and caps at the highest finite bound', () => {
    const { engine } = load(M, { 'h_bucket{le="0.1"}': '10', 'h_bucket{le="0.5"}': '20', 'h_bucket{le="1"}': '30', 'h_bucket{le="+Inf"}': '40' });
    expect(rows(engine.instantQuery('histogram_quantile(0.3, h_bucket)', 0))).toEqual([`{} ${0.1 + 0.4 * 0.2}`]);
    expect(rows(engine.instantQuery('histogram_quantile(0.5, h_bucket)', 0))).toEqual(['{} 0.5']);
    expect(rows(engine.instantQuery('histogram_quantile(0.9, h_bucket)', 0))).toEqual(['{} 1']);
  });

  it('topk, quantile, count_values, label_replace and absent', () => {
    const { engine } = load(M, { 'x{i="a"}': '1', 'x{i="b"}': '3', 'x{i="c"}': '3' });
    expect(rows(engine.instantQuery('topk(1, x{i!="c"})', 0))).toEqual(['{"__name__":"x","i":"b"} 3']);
    const withNaN = load(M, { 'y{i="a"}': '1', 'y{i="b"}': 'NaN', 'y{i="c"}': '2' }).engine;
    expect(rows(withNaN.instantQuery('bottomk(2, y)', 0))).toEqual(['{"__name__":"y","i":"a"} 1', '{"__name__":"y","i":"c"} 2']);
    expect(rows(withNaN.instantQuery('topk(2, y)', 0))).toEqual(['{"__name__":"y","i":"a"} 1', '{"__name__":"y","i":"c"} 2']);
    expect(rows(engine.instantQuery('quantile(0.5, x)', 0))).toEqual(['{} 3']);
    expect(rows(engine.instantQuery('count_values("v", x)', 0))).toEqual(['{"v":"1"} 1', '{"v":"3"} 2']);
    expect(rows(engine.instantQuery('label_replace(x{i="a"}, "j", "pre-$1", "i", "(.*)")', 0))).toEqual(['{"__name__":"x","i":"a","j":"pre-a"} 1']);
    expect(rows(engine.instantQuery('absent(nope{job="x", i=~"y"})', 0))).toEqual(['{"job":"x"} 1']);
    expect(rows(engine.instantQuery('absent(x)', 0))).toEqual([]);
    // RE2's inline flags and named groups.
    expect(rows(engine.instantQuery('x{i=~"(?i)A"}', 0))).toEqual(['{"__name__":"x","i":"a"} 1']);
    expect(rows(engine.instantQuery('label_replace(x{i="b"}, "j", "$name", "i", "(?P<name>.)")', 0))).toEqual(['{"__name__":"x","i":"b","j":"b"} 3']);
  });
});

describe('time: offset, @, subqueries, staleness, lookback', () => {
  const { engine } = load(M, { x: '0+1x10', s: '1 stale', gap: '7 _ _ _ _ _ _' });

  it('offset and @ move the evaluation time of a selector', () => {
    expect(rows(engine.instantQuery('x offset 5m', 10 * M))).toEqual(['{"__name__":"x"} 5']);
    expect(rows(engine.instantQuery('x @ 120', 10 * M))).toEqual(['{"__name__":"x"} 2']);
    expect(rows(engine.instantQuery('x offset -2m', 5 * M))).toEqual(['{"__name__":"x"} 7']);
  });

  it('a subquery evaluates at step-aligned times inside its closed window', () => {
    expect(rows(engine.instantQuery('count_over_time(x[5m:1m])', 10 * M))).toEqual(['{} 6']);
    expect(rows(engine.instantQuery('max_over_time((x * 2)[5m:2m])', 9 * M))).toEqual(['{} 16']);
  });

  it('a stale marker ends a series at once; otherwise the last sample is seen for 5m', () => {
    expect(rows(engine.instantQuery('s', 59 * S))).toEqual(['{"__name__":"s"} 1']);
    expect(rows(engine.instantQuery('s', M))).toEqual([]);
    expect(rows(engine.instantQuery('timestamp(gap)', 5 * M))).toEqual(['{} 0']);
    expect(rows(engine.instantQuery('timestamp(gap)', 5 * M + S))).toEqual([]);
  });
});

describe('alerting rules', () => {
  it('go pending, fire after `for`, and resolve when the expression stops returning', () => {
    const { groups, errors } = checkRuleText('inline.yml', `groups:
- name: g
  rules:
  - alert: High
    expr: x > 0
    for: 2m
    labels: { severity: page }
    annotations: { summary: "{{ $labels.job }} at {{ $value | humanize }}" }
`);
    expect(errors).toEqual([]);
    const { engine } = load(M, { 'x{job="api"}': '1500 1500 1500 0' });
    const rule = new AlertingRule(groups[0]!.rules[0]!);
    const states = [0, 1, 2, 3].map((i) => {
      rule.eval(engine, i * M);
      return rule.activeAlerts().map((a) => a.state).join() || 'none';
    });
    expect(states).toEqual(['pending', 'pending', 'firing', 'none']);
    rule.eval(engine, 2 * M);
    expect(rule.activeAlerts()[0]).toMatchObject({ labels: { alertname: 'High', job: 'api', severity: 'page' }, annotations: { summary: 'api at 1.5k' } });
  });

  it('keep_firing_for holds a firing alert after the expression stops returning it', () => {
    const { groups } = checkRuleText('inline.yml', 'groups:\n- name: g\n  rules:\n  - alert: Blip\n    expr: x > 0\n    keep_firing_for: 2m\n');
    const { engine } = load(M, { x: '1 0 0 0' });
    const rule = new AlertingRule(groups[0]!.rules[0]!);
    const states = [0, 1, 2, 3].map((i) => {
      rule.eval(engine, i * M);
      return rule.activeAlerts().map((a) => a.state).join() || 'none';
    });
    expect(states).toEqual(['firing', 'firing', 'firing', 'none']);
  });
});

describe('templates', () => {
  const data = { Labels: { job: 'api', instance: 'a:1' }, ExternalLabels: {}, ExternalURL: '', Value: 1234567 };
  it.each([
    ['{{ $value | humanize }}', '1.235M'],
    ['{{ 0.1234 | humanizePercentage }}', '12.34%'],
    ['{{ 3725 | humanizeDuration }}', '1h 2m 5s'],
    ['{{ printf "%.2f" $value }}', '1234567.00'],
    ['{{ $value }}', '1.234567e+06'],
    ['{{ $labels }}', 'map[instance:a:1 job:api]'],
    ['{{ with $labels.job -}} job={{ . }} {{- end }}', 'job=api'],
    ['{{ if eq $labels.job "web" }}web{{ else if eq $labels.job "api" }}api{{ else }}other{{ end }}', 'api'],
    ['{{ $labels.missing }}', ''],
    ['{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}', 'instance=a:1;job=api;'],
    ['{{ range $labels }}[{{ . }}]{{ else }}none{{ end }}', '[a:1][api]'],
    ['{{ nosuchfunc $value }}', '<error expanding template: template: t:1: function "nosuchfunc" not defined>'],
  ])('%s → %s', (text, expected) => {
    expect(expandAlertTemplate('t', text, data)).toBe(expected);
  });
});

describe('more functions', () => {
  const { engine } = load(M, { 'disk{dev="a"}': '100 90 80 70 60', 'flap': '1 0 1 1 0', 'epoch': '1700000000' });

  it('deriv and predict_linear fit a line through the window', () => {
    expect(rows(engine.instantQuery('deriv(disk[5m])', 4 * M))).toEqual([`{"dev":"a"} ${-10 / 60}`]);
    // 60 now, falling 10 a minute: empty in 6 minutes.
    expect(rows(engine.instantQuery('predict_linear(disk[5m], 360)', 4 * M))).toEqual(['{"dev":"a"} 0']);
  });

  it('changes, absent_over_time, label_join, clamp, round, scalar, vector, time and date functions', () => {
    expect(rows(engine.instantQuery('changes(flap[5m])', 4 * M))).toEqual(['{} 3']);
    expect(rows(engine.instantQuery('absent_over_time(nothing{job="j"}[5m])', 4 * M))).toEqual(['{"job":"j"} 1']);
    expect(rows(engine.instantQuery('absent_over_time(flap[5m])', 4 * M))).toEqual([]);
    expect(rows(engine.instantQuery('label_join(disk, "id", "-", "dev", "dev")', 0))).toEqual(['{"__name__":"disk","dev":"a","id":"a-a"} 100']);
    expect(rows(engine.instantQuery('clamp(disk, 0, 50)', 0))).toEqual(['{"dev":"a"} 50']);
    expect(rows(engine.instantQuery('round(disk / 3, 0.5)', 0))).toEqual(['{"dev":"a"} 33.5']);
    expect(rows(engine.instantQuery('scalar(disk) + time()', 60 * S))).toEqual(['scalar 150']);
    expect(rows(engine.instantQuery('vector(1) * on() group_left flap', 0))).toEqual(['{} 1']);
    // 1700000000 is Tuesday 2023-11-14 22:13:20 UTC.
    expect(rows(engine.instantQuery('day_of_week(epoch) * 100 + hour(epoch)', 0))).toEqual(['{} 222']);
    expect(rows(engine.instantQuery('days_in_month(vector(1700000000))', 0))).toEqual(['{} 30']);
  });

  it('functions that drop the metric name must not collide', () => {
    const { engine: e } = load(M, { 'a{x="1"}': '1', 'b{x="1"}': '2' });
    expect(() => e.instantQuery('rate({x="1"}[5m]) or abs({x="1"})', 0)).toThrow(/same labelset/);
  });
});

describe('rule files', () => {
  const errorsOf = (yaml: string): string[] => checkRuleText('r.yml', yaml).errors.map((e) => e.message);

  it('names file, line, group and rule in each problem', () => {
    expect(errorsOf('groups:\n- name: g\n  rules:\n  - record: x:y\n    expr: up\n    annotations: {a: b}\n')).toEqual([
      `r.yml:4: group "g", rule 1, "x:y": invalid field 'annotations' in recording rule`,
    ]);
    expect(errorsOf('groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum(up\n')[0]).toMatch(/^r\.yml:5: group "g", rule 1, "A": could not parse expression: /);
    expect(errorsOf('groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations: {s: "{{ $labels.x "}\n')[0]).toMatch(/annotation "s": template: __alert_A:1: /);
    expect(errorsOf('groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    severity: page\n')[0]).toMatch(/field severity not found/);
    expect(errorsOf('groups:\n- name: g\n  rules: []\n- name: g\n  rules: []\n')[0]).toMatch(/groupname: "g" is repeated in the same file/);
    expect(errorsOf('groups:\n- name: g\n  rules:\n  - record: "bad name"\n    expr: up\n')[0]).toMatch(/invalid recording rule name: bad name/);
  });

  it('keeps scalars as written, as Go decodes them into strings', () => {
    const { groups } = checkRuleText('r.yml', 'groups:\n- name: g\n  interval: 30s\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 5m\n    keep_firing_for: 1m\n    labels: {version: 1.0}\n');
    expect(groups[0]).toMatchObject({ name: 'g', interval: 30 * S, rules: [{ kind: 'alert', name: 'A', for: 5 * M, keepFiringFor: M, labels: { version: '1.0' } }] });
  });
});
