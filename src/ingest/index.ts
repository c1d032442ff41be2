/** Push ingest for `POST /api/v1/samples`: parse a body into checked samples, count what was refused. */
export { parseJsonSamples, sampleFromJson } from './json.js';
export { parsePrometheusText } from './prometheus-text.js';
export { createSampleGuard, type SampleGuard } from './sample-guard.js';
export {
  checkSample, DEFAULT_LIMITS, IngestError, parseFloatToken, recordRejections,
  type IngestLimits, type IngestResult, type ParseOptions, type RejectReason, type Rejection,
} from './sample-check.js';
