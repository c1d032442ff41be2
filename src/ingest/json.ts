import { checkSample, DEFAULT_LIMITS, IngestError, parseFloatToken, type Checked, type IngestLimits, type IngestResult, type ParseOptions, type Rejection } from './sample-check.js';

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readTimestamp(raw: unknown, now: number): number | string {
  if (raw === undefined || raw === null) return now;
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string' && ISO_TIME.test(raw)) {
    const t = Date.parse(raw);
    if (!Number.isNaN(t)) return t;
  }
  return `timestamp ${JSON.stringify(raw)} is neither epoch milliseconds nor an ISO-8601 time`;
}

/**
 * One JSON sample object (`{name, labels?, value, timestamp?}`) to a checked sample. Also used for
 * payloads that arrive by other roads (PostgreSQL NOTIFY), where `defaultName` fills a missing name.
 */
export function sampleFromJson(item: unknown, now: number, limits: IngestLimits = DEFAULT_LIMITS, defaultName?: string): Checked {
  if (!isRecord(item)) return { reason: 'malformed', detail: 'a sample must be an object' };
  const name = item.name ?? defaultName;
  if (typeof name !== 'string') return { reason: 'invalid_metric_name', detail: 'name is missing or not a string' };
  const labels = item.labels ?? {};
  if (!isRecord(labels)) return { reason: 'malformed', detail: 'labels must be an object of strings' };
  let value: number | undefined;
  if (typeof item.value === 'number') value = item.value;
  // JSON has no NaN or Inf, so clients send them (and sometimes plain numbers) as strings.
  else if (typeof item.value === 'string') value = parseFloatToken(item.value.trim());
  if (value === undefined) return { reason: 'invalid_value', detail: `value ${JSON.stringify(item.value) ?? 'undefined'} is not a number` };
  const t = readTimestamp(item.timestamp, now);
  if (typeof t === 'string') return { reason: 'invalid_timestamp', detail: t };
  return checkSample(name, labels as Record<string, string>, t, value, now, limits);
}

/**
 * Parses a push body: `{"samples": [...]}` or a bare array of `{name, labels?, value, timestamp?}`.
 * `timestamp` is epoch ms or an ISO-8601 string; without one the sample is taken at `now`.
 * Accepts the raw body (string or bytes) or a body the HTTP framework already parsed.
 * Bad samples are returned in `rejected` (item = array index); an unreadable body throws IngestError.
 */
export function parseJsonSamples(body: string | Uint8Array | object, options: ParseOptions): IngestResult {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  let doc: unknown = body;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    if (bytes > limits.maxBodyBytes) throw new IngestError('too_large', 'json', `${bytes} bytes, at most ${limits.maxBodyBytes} allowed`);
    const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    try {
      doc = JSON.parse(text);
    } catch (err) {
      // V8's message quotes the text around the error, which is what tells the sender where it is.
      throw new IngestError('malformed', 'json', (err as Error).message);
    }
  }
  const items = Array.isArray(doc) ? doc : isRecord(doc) && Array.isArray(doc.samples) ? doc.samples : undefined;
  if (!items) throw new IngestError('malformed', 'json', 'expected an array of samples or an object with a "samples" array');
  if (items.length > limits.maxSamples) throw new IngestError('too_large', 'json', `${items.length} samples, at most ${limits.maxSamples} allowed`);

  const result: IngestResult = { samples: [], rejected: [] };
  items.forEach((item: unknown, index) => {
    const checked = sampleFromJson(item, options.now, limits);
    if ('sample' in checked) result.samples.push(checked.sample);
    else result.rejected.push({ item: index, reason: checked.reason, detail: checked.detail } satisfies Rejection);
  });
  return result;
}
