import { isValidMetricName } from '../series/series.js';
import { checkSample, DEFAULT_LIMITS, IngestError, parseFloatToken, type IngestResult, type ParseOptions, type RejectReason } from './sample-check.js';

/**
 * Prometheus text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
 * Written here rather than taken from npm: the one maintained-looking package (parse-prometheus-text-format)
 * is unmaintained since 2019, regroups histograms into nested objects, drops line numbers and fails a
 * whole body on one bad line, while push ingest needs per-line rejections.
 * Histograms and summaries need no special handling: their `_bucket`, `_sum`, `_count` and quantile
 * lines are ordinary series.
 */

const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const BLANK = /[ \t]/;
const INTEGER = /^-?\d+$/;

interface MetricLine {
  name: string;
  labels: Record<string, string>;
  value: string;
  timestamp?: string;
}

type LineProblem = { reason: RejectReason; detail: string };

const syntax = (detail: string): LineProblem => ({ reason: 'malformed', detail });

/** Splits one sample line into its parts; every syntax error says what was expected and at which column. */
function splitMetricLine(line: string): MetricLine | LineProblem {
  let pos = 0;
  const skipBlanks = () => {
    while (pos < line.length && BLANK.test(line[pos] as string)) pos++;
  };
  skipBlanks();
  const nameStart = pos;
  while (pos < line.length && !BLANK.test(line[pos] as string) && line[pos] !== '{') pos++;
  const name = line.slice(nameStart, pos);
  // Checked first: a line whose first word is no metric name is not exposition text at all (HTML, JSON).
  if (!isValidMetricName(name)) return { reason: 'invalid_metric_name', detail: `invalid metric name ${JSON.stringify(name)}` };
  skipBlanks();
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos++;
    for (;;) {
      skipBlanks();
      if (line[pos] === '}') break;
      const labelStart = pos;
      while (pos < line.length && !BLANK.test(line[pos] as string) && !'=,}"'.includes(line[pos] as string)) pos++;
      const label = line.slice(labelStart, pos);
      if (!label) return syntax(`expected a label name at column ${pos + 1}`);
      skipBlanks();
      if (line[pos] !== '=') return syntax(`expected "=" after label ${label} at column ${pos + 1}`);
      pos++;
      skipBlanks();
      if (line[pos] !== '"') return syntax(`expected a quoted value for label ${label} at column ${pos + 1}`);
      pos++;
      let value = '';
      for (;;) {
        const ch = line[pos];
        if (ch === undefined) return syntax(`unterminated value of label ${label}`);
        pos++;
        if (ch === '"') break;
        if (ch !== '\\') {
          value += ch;
          continue;
        }
        const escaped = line[pos++];
        if (escaped === '\\' || escaped === '"') value += escaped;
        else if (escaped === 'n') value += '\n';
        else return syntax(`invalid escape "\\${escaped ?? ''}" in label ${label} at column ${pos}`);
      }
      if (label in labels) return syntax(`label ${label} appears twice`);
      labels[label] = value;
      skipBlanks();
      if (line[pos] === ',') {
        pos++;
        continue;
      }
      if (line[pos] !== '}') return syntax(`expected "," or "}" at column ${pos + 1}`);
      break;
    }
    pos++;
  }
  const rest = line.slice(pos).trim().split(/[ \t]+/).filter(Boolean);
  if (rest.length === 0) return syntax('missing value');
  if (rest.length > 2) return syntax(`unexpected ${JSON.stringify(rest[2])} after the timestamp`);
  const [value, timestamp] = rest as [string, string | undefined];
  return timestamp === undefined ? { name, labels, value } : { name, labels, value, timestamp };
}

/** Checks `# HELP` and `# TYPE` lines; other comments are free text. */
function checkComment(line: string): LineProblem | undefined {
  const m = /^#[ \t]+(HELP|TYPE)(?:[ \t]+(\S+))?(?:[ \t]+(.*))?$/.exec(line);
  if (!m) return undefined;
  const [, keyword, name, rest] = m;
  if (!name) return syntax(`${keyword} without a metric name`);
  if (!isValidMetricName(name)) return { reason: 'invalid_metric_name', detail: `invalid metric name ${JSON.stringify(name)} in ${keyword}` };
  if (keyword === 'TYPE' && !TYPES.has((rest ?? '').trim())) return syntax(`unknown metric type ${JSON.stringify((rest ?? '').trim())}`);
  return undefined;
}

/**
 * Parses a body in the Prometheus text format. Sample timestamps are epoch ms; samples without one
 * are taken at `now`. Bad lines are returned in `rejected` (item = 1-based line number); a body in
 * which no line is readable (HTML, JSON, binary) throws IngestError.
 */
export function parsePrometheusText(body: string | Uint8Array, options: ParseOptions): IngestResult {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  if (bytes > limits.maxBodyBytes) throw new IngestError('too_large', 'prometheus', `${bytes} bytes, at most ${limits.maxBodyBytes} allowed`);
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');

  const result: IngestResult = { samples: [], rejected: [] };
  let readableLines = 0;
  let firstSyntaxError: { line: number; detail: string } | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = (lines[i] as string).replace(/\r$/, '');
    const trimmed = line.trim();
    if (!trimmed) continue;
    let problem: LineProblem | undefined;
    if (trimmed.startsWith('#')) {
      problem = checkComment(trimmed);
    } else {
      const parts = splitMetricLine(line);
      if ('reason' in parts) problem = parts;
      else {
        if (result.samples.length + result.rejected.length >= limits.maxSamples) {
          throw new IngestError('too_large', 'prometheus', `more than ${limits.maxSamples} samples (line ${lineNo})`, lineNo);
        }
        const value = parseFloatToken(parts.value);
        if (value === undefined) problem = { reason: 'invalid_value', detail: `value ${JSON.stringify(parts.value)} is not a number` };
        else if (parts.timestamp !== undefined && !INTEGER.test(parts.timestamp)) {
          problem = { reason: 'invalid_timestamp', detail: `timestamp ${JSON.stringify(parts.timestamp)} is not integer milliseconds` };
        } else {
          const t = parts.timestamp === undefined ? options.now : Number(parts.timestamp);
          const checked = checkSample(parts.name, parts.labels, t, value, options.now, limits);
          if ('sample' in checked) result.samples.push(checked.sample);
          else problem = checked;
        }
      }
    }
    // A line with a valid metric name is exposition text even if its value is bad; HTML or JSON has none.
    if (problem?.reason === 'malformed' || problem?.reason === 'invalid_metric_name') firstSyntaxError ??= { line: lineNo, detail: problem.detail };
    else readableLines++;
    if (problem) result.rejected.push({ item: lineNo, reason: problem.reason, detail: problem.detail });
  }
  if (firstSyntaxError && readableLines === 0) {
    throw new IngestError('malformed', 'prometheus', `no readable line; line ${firstSyntaxError.line}: ${firstSyntaxError.detail}`, firstSyntaxError.line);
  }
  return result;
}
