import { describe, expect, it } from 'vitest';
import { IngestError, parseJsonSamples, parsePrometheusText, type RejectReason } from '../../src/ingest/index.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { recordRejections } from '../../src/ingest/index.js';

const now = Date.UTC(2026, 10, 23, 10, 0, 0);
const opts = { now };

describe('JSON push bodies', () => {
  it('reads an object with samples, a bare array, ISO and epoch timestamps, and defaults the time to now', () => {
    const body = {
      samples: [
        { name: 'cpu_usage', labels: { host: 'a' }, value: 0.5, timestamp: now - 1000 },
        { name: 'cpu_usage', labels: { host: 'b' }, value: '2.5e1', timestamp: '2026-11-23T09:00:00Z' },
        { name: 'up', value: 1 },
      ],
    };
    const { samples, rejected } = parseJsonSamples(JSON.stringify(body), opts);
    expect(rejected).toEqual([]);
    expect(samples).toEqual([
      { series: 'cpu_usage{host="a"}', name: 'cpu_usage', labels: { host: 'a' }, t: now - 1000, v: 0.5 },
      { series: 'cpu_usage{host="b"}', name: 'cpu_usage', labels: { host: 'b' }, t: Date.UTC(2026, 10, 23, 9), v: 25 },
      { series: 'up', name: 'up', labels: {}, t: now, v: 1 },
    ]);
    expect(parseJsonSamples([{ name: 'up', value: 0 }], opts).samples).toHaveLength(1);
    expect(parseJsonSamples(Buffer.from('[{"name":"up","value":0}]'), opts).samples).toHaveLength(1);
  });

  it.each<[string, unknown, RejectReason]>([
    ['metric name', { name: 'cpu-usage', value: 1 }, 'invalid_metric_name'],
    ['missing name', { value: 1 }, 'invalid_metric_name'],
    ['label name', { name: 'm', labels: { '1host': 'a' }, value: 1 }, 'invalid_label_name'],
    ['reserved label name', { name: 'm', labels: { __name__: 'x' }, value: 1 }, 'invalid_label_name'],
    ['label value type', { name: 'm', labels: { host: 3 }, value: 1 }, 'invalid_label_value'],
    ['labels not an object', { name: 'm', labels: ['a'], value: 1 }, 'malformed'],
    ['item not an object', 42, 'malformed'],
    ['non-numeric value', { name: 'm', value: 'abc' }, 'invalid_value'],
    ['missing value', { name: 'm' }, 'invalid_value'],
    ['boolean value', { name: 'm', value: true }, 'invalid_value'],
    ['NaN', { name: 'm', value: 'NaN' }, 'non_finite'],
    ['+Inf', { name: 'm', value: '+Inf' }, 'non_finite'],
    ['-Inf', { name: 'm', value: '-Inf' }, 'non_finite'],
    ['unparsable time', { name: 'm', value: 1, timestamp: 'yesterday' }, 'invalid_timestamp'],
    ['time as a loose date string', { name: 'm', value: 1, timestamp: '2026' }, 'invalid_timestamp'],
    ['time more than 1h ahead', { name: 'm', value: 1, timestamp: now + 3_600_001 }, 'timestamp_in_future'],
    ['time in seconds', { name: 'm', value: 1, timestamp: 1_700_000_000 }, 'timestamp_too_old'],
    ['too many labels', { name: 'm', labels: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`l${i}`, 'x'])), value: 1 }, 'too_large'],
    ['huge label value', { name: 'm', labels: { a: 'x'.repeat(5000) }, value: 1 }, 'too_large'],
  ])('rejects a sample with a bad %s', (_, item, reason) => {
    const { samples, rejected } = parseJsonSamples({ samples: [{ name: 'ok', value: 1 }, item] }, opts);
    expect(samples).toHaveLength(1);
    expect(rejected).toEqual([{ item: 1, reason, detail: expect.any(String) }]);
  });

  it('accepts a time up to 1h ahead (clock skew)', () => {
    expect(parseJsonSamples([{ name: 'm', value: 1, timestamp: now + 3_599_000 }], opts).rejected).toEqual([]);
  });

  it.each([
    ['broken JSON', '{"samples": [', /json body malformed: Unexpected end of JSON input/],
    ['wrong top level', '{"data": []}', /expected an array of samples/],
    ['a scalar', '42', /expected an array of samples/],
  ])('throws IngestError for %s', (_, body, message) => {
    expect(() => parseJsonSamples(body, opts)).toThrow(IngestError);
    expect(() => parseJsonSamples(body, opts)).toThrow(message);
  });

  it('quotes the text around a JSON syntax error', () => {
    const err = catchError(() => parseJsonSamples('[\n{"name": "a", "value": 1},\n{"name": }\n]', opts));
    expect(err).toMatchObject({ code: 'malformed', format: 'json', message: expect.stringContaining('{"name": }') });
  });

  it('refuses oversized bodies and too many samples', () => {
    expect(catchError(() => parseJsonSamples('[' + ' '.repeat(200) + ']', { now, limits: { maxBodyBytes: 100 } }))).toMatchObject({ code: 'too_large' });
    const many = Array.from({ length: 11 }, () => ({ name: 'm', value: 1 }));
    expect(catchError(() => parseJsonSamples(many, { now, limits: { maxSamples: 10 } }))).toMatchObject({ code: 'too_large', message: expect.stringMatching(/11 samples, at most 10/) });
  });
});

describe('Prometheus text bodies', () => {
  const exposition = [
    '# HELP http_requests_total The total number of HTTP requests.',
    '# TYPE http_requests_total counter',
    'http_requests_total{method="post",code="200"} 1027 1795000000000',
    'http_requests_total{method="post",code="400"}    3 1795000000000',
    '',
    '# Escaping in label values:',
    'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
    'metric_without_timestamp_and_labels 12.47',
    '# A histogram, which has a pretty complex representation in the text format:',
    '# TYPE http_request_duration_seconds histogram',
    'http_request_duration_seconds_bucket{le="0.05"} 24054',
    'http_request_duration_seconds_bucket{le="+Inf"} 144320',
    'http_request_duration_seconds_sum 53423',
    'http_request_duration_seconds_count 144320',
    '# TYPE rpc_duration_seconds summary',
    'rpc_duration_seconds{quantile="0.5",} 4773',
    'rpc_duration_seconds_count\t2693',
    '  spaced { a = "1" , b="2" }  7  ',
    'windows_line_ending 1\r',
  ].join('\n');

  it('reads the format reference example, escapes, histograms and summaries as plain series', () => {
    const { samples, rejected } = parsePrometheusText(exposition, opts);
    expect(rejected).toEqual([]);
    const byId = Object.fromEntries(samples.map((s) => [s.series, s]));
    expect(byId['http_requests_total{code="200",method="post"}']).toMatchObject({ t: 1795000000000, v: 1027 });
    expect(byId['http_requests_total{code="400",method="post"}']?.v).toBe(3);
    const dos = samples.find((s) => s.name === 'msdos_file_access_time_seconds');
    expect(dos?.labels).toEqual({ path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' });
    expect(dos).toMatchObject({ v: 1.458255915e9, t: now });
    expect(byId['http_request_duration_seconds_bucket{le="+Inf"}']?.v).toBe(144320);
    expect(byId['http_request_duration_seconds_sum']?.v).toBe(53423);
    expect(byId['rpc_duration_seconds{quantile="0.5"}']?.v).toBe(4773);
    expect(byId['rpc_duration_seconds_count']?.v).toBe(2693);
    expect(byId['spaced{a="1",b="2"}']?.v).toBe(7);
    expect(byId['windows_line_ending']?.v).toBe(1);
    expect(samples).toHaveLength(12);
  });

  it.each<[string, RejectReason]>([
    ['cpu-usage 1', 'invalid_metric_name'],
    ['{a="1"} 1', 'invalid_metric_name'],
    ['m{1a="x"} 1', 'invalid_label_name'],
    ['m{__meta="x"} 1', 'invalid_label_name'],
    ['m abc', 'invalid_value'],
    ['m 0x1F', 'invalid_value'],
    ['m NaN', 'non_finite'],
    ['m +Inf', 'non_finite'],
    ['m -Inf', 'non_finite'],
    ['m 1 12.5', 'invalid_timestamp'],
    ['m 1 soon', 'invalid_timestamp'],
    [`m 1 ${now + 7_200_000}`, 'timestamp_in_future'],
    ['m 1 1700000000', 'timestamp_too_old'],
    ['m', 'malformed'],
    ['m{a="1"}', 'malformed'],
    ['m{a="1} 1', 'malformed'],
    ['m{a=1} 1', 'malformed'],
    ['m{a="1" b="2"} 1', 'malformed'],
    ['m{a="\\t"} 1', 'malformed'],
    ['m{a="1",a="2"} 1', 'malformed'],
    ['m 1 1795000000000 extra', 'malformed'],
    ['# TYPE m gauges', 'malformed'],
    ['# HELP', 'malformed'],
    ['# TYPE bad-name gauge', 'invalid_metric_name'],
    [`m{a="${'x'.repeat(3000)}"} 1`, 'too_large'],
  ])('rejects %j', (line, reason) => {
    const { samples, rejected } = parsePrometheusText(`ok 1\n${line}\nok2 2\n`, opts);
    expect(samples.map((s) => s.name)).toEqual(['ok', 'ok2']);
    expect(rejected).toEqual([{ item: 2, reason, detail: expect.any(String) }]);
  });

  it('says where a syntax error is', () => {
    const { rejected } = parsePrometheusText('ok 1\nm{a="1" b="2"} 1', opts);
    expect(rejected[0]?.detail).toBe('expected "," or "}" at column 9');
  });

  it('keeps free-form comments and blank lines out of the way', () => {
    expect(parsePrometheusText('# just a note\n\n   \n# HELP m Some help\nm 1\n', opts)).toEqual({
      samples: [{ series: 'm', name: 'm', labels: {}, t: now, v: 1 }],
      rejected: [],
    });
  });

  it.each([
    ['HTML', '<html>\n<body>Bad gateway</body>\n</html>', /line 1/],
    ['JSON', '{"samples": []}', /line 1/],
  ])('throws IngestError when no line is readable (%s)', (_, body, where) => {
    const err = catchError(() => parsePrometheusText(body, opts));
    expect(err).toBeInstanceOf(IngestError);
    expect(err).toMatchObject({ code: 'malformed', format: 'prometheus', line: 1, message: expect.stringMatching(where) });
  });

  it('returns nothing for an empty body', () => {
    expect(parsePrometheusText('', opts)).toEqual({ samples: [], rejected: [] });
  });

  it('refuses oversized bodies and too many samples', () => {
    expect(catchError(() => parsePrometheusText('m 1\n'.repeat(100), { now, limits: { maxBodyBytes: 50 } }))).toMatchObject({ code: 'too_large' });
    expect(catchError(() => parsePrometheusText('m 1\n'.repeat(11), { now, limits: { maxSamples: 10 } }))).toMatchObject({ code: 'too_large', line: 11 });
  });
});

describe('rejection metrics', () => {
  it('counts rejections by source and reason', async () => {
    const metrics = createMetrics();
    const { rejected } = parsePrometheusText('m NaN\nm +Inf\nm abc\n', opts);
    recordRejections(metrics, 'push', rejected);
    const values = (await metrics.samplesRejected.get()).values;
    expect(values).toEqual(expect.arrayContaining([
      expect.objectContaining({ labels: { source: 'push', reason: 'non_finite' }, value: 2 }),
      expect.objectContaining({ labels: { source: 'push', reason: 'invalid_value' }, value: 1 }),
    ]));
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}
