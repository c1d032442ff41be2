import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { ConfigSchema, type RawConfig, type RunbookConfig, type SecretValue } from './schema.js';
import { anomalyProblems } from '../actors/anomaly-detector/check.js';
import { ruleProblems } from '../actors/alert-manager/rules/check.js';
import { ruleFileProblems } from '../actors/alert-manager/rules/prometheus.js';
import { routingProblems } from '../actors/notifier/routing/check.js';
import { checkOncall } from '../oncall/check.js';
import { automationProblems } from '../automation/check.js';
import { unattendedProblems } from '../oncall/unattended.js';
import { noiseProblems } from '../noise/check.js';

/** A configuration error: names the file, the path inside it and what is wrong. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: { path: string; line?: number; message: string }[],
  ) {
    super(problems.map((p) => `${file}${p.line ? `:${p.line}` : ''}: ${p.path || '(root)'}: ${p.message}`).join('\n'));
  }
}

type Section<K extends keyof RawConfig> = NonNullable<RawConfig[K]>;

/** The validated configuration, every section present with defaults applied. */
export interface VigilConfig {
  file: string;
  baseDir: string;
  server: Section<'server'>;
  auth: Section<'auth'>;
  transport: Section<'transport'>;
  store: Section<'store'>;
  log: Section<'log'>;
  collector: Section<'collector'>;
  rules: Section<'rules'>;
  notifier: Section<'notifier'>;
  automation: Section<'automation'>;
  runbooks: RunbookConfig[];
  anomaly: Section<'anomaly'>;
  forecast: Section<'forecast'>;
  alerting: Section<'alerting'>;
  silences: Section<'silences'>;
  maintenance_windows: Section<'maintenance_windows'>;
  monitoring_windows: Section<'monitoring_windows'>;
  topology: Section<'topology'>;
  inhibit_rules: Section<'inhibit_rules'>;
  incidents: Section<'incidents'>;
}

const SECTIONS = ['server', 'auth', 'transport', 'store', 'log', 'collector', 'notifier', 'automation', 'anomaly', 'forecast', 'alerting'] as const;

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ allErrors: true, useDefaults: true, discriminator: true, verbose: true, strict: false }));
const validate = ajv.compile<RawConfig>(ConfigSchema);

const ENV_REF = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

function jsonPointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

function displayPath(path: readonly (string | number)[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function lineOf(doc: Document, counter: LineCounter, path: readonly (string | number)[]): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Replaces `${VAR}` and `${VAR:-default}` in every string value; `$$` is a literal `$`. */
function interpolate(value: unknown, path: (string | number)[], env: NodeJS.ProcessEnv, problems: { path: (string | number)[]; message: string }[]): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (whole, name: string | undefined, fallback: string | undefined) => {
      if (whole === '$$') return '$';
      const v = env[name as string];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      problems.push({ path, message: `environment variable ${name} is not set` });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, [...path, i], env, problems));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, [...path, k], env, problems)]));
  }
  return value;
}

function ajvMessage(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return `unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  if (e.keyword === 'required') return `missing required field "${(e.params as { missingProperty: string }).missingProperty}"`;
  if (e.keyword === 'pattern' && String(e.params && (e.params as { pattern: string }).pattern).includes('ms|s|m|h')) return 'must be a duration such as 30s, 5m or 1h';
  if (e.keyword === 'discriminator') {
    const { tag, tagValue } = e.params as { tag: string; tagValue: unknown };
    const kinds = ((e.parentSchema as { oneOf?: { properties?: Record<string, { const?: string }> }[] }).oneOf ?? []).map((m) => m.properties?.[tag]?.const);
    return tagValue === undefined ? `missing required field "${tag}"` : `unknown ${tag} ${JSON.stringify(tagValue)} (expected one of ${kinds.join(', ')})`;
  }
  if (e.keyword === 'enum') return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'const') return `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
  return e.message ?? 'is invalid';
}

/**
 * Ajv reports a failed union (a secret is a string or `{file}`) at the union and at every enclosing
 * level; the deepest paths say what is actually wrong, so only they are shown.
 */
function relevantErrors(errors: ErrorObject[]): ErrorObject[] {
  const kept = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf');
  const paths = new Set(kept.map((e) => e.instancePath));
  return kept.filter((e) => ![...paths].some((q) => q !== e.instancePath && q.startsWith(`${e.instancePath}/`)));
}

function checkSemantics(config: VigilConfig): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const seen = new Set<string>();
  config.rules.forEach((rule, i) => {
    if (seen.has(rule.name)) problems.push({ path: ['rules', i, 'name'], message: `duplicate rule name "${rule.name}"` });
    seen.add(rule.name);
  });
  problems.push(...ruleProblems(config.rules, config.notifier.time_intervals, config.forecast.risks), ...ruleFileProblems(config));
  const receivers = new Set(config.notifier.receivers.map((r) => r.name));
  // A root route that names its receivers never falls back to default_receiver.
  const rootNamesReceivers = Boolean(config.notifier.route?.receiver ?? config.notifier.route?.receivers?.length);
  if (!receivers.has(config.notifier.default_receiver) && !rootNamesReceivers) {
    problems.push({ path: ['notifier', 'default_receiver'], message: `no receiver named "${config.notifier.default_receiver}"` });
  }
  if (config.transport.kind === 'bullmq' && !config.transport.redis_url) {
    problems.push({ path: ['transport', 'redis_url'], message: 'required when transport.kind is bullmq' });
  }
  if (config.store.kind === 'mongodb' && !config.store.mongodb_url) {
    problems.push({ path: ['store', 'mongodb_url'], message: 'required when store.kind is mongodb' });
  }
  config.collector.sources.forEach((s, i) => {
    if (s.kind === 'sql' && !s.query && !s.listen) problems.push({ path: ['collector', 'sources', i], message: 'a sql source needs a query, a listen channel, or both' });
  });
  // Secrets given as files must be readable now, so a bad path fails validation rather than the first page.
  const checkSecret = (value: SecretValue | undefined, path: (string | number)[]) => {
    if (value && typeof value === 'object') {
      try {
        readSecret(value, config.baseDir);
      } catch (err) {
        problems.push({ path, message: (err as Error).message });
      }
    }
  };
  config.auth.tokens.forEach((t, i) => checkSecret(t.token, ['auth', 'tokens', i, 'token']));
  checkSecret(config.store.mongodb_url, ['store', 'mongodb_url']);
  config.collector.sources.forEach((s, i) => {
    if (s.kind === 'prometheus') checkSecret(s.bearer_token, ['collector', 'sources', i, 'bearer_token']);
    if (s.kind === 'sql') checkSecret(s.url, ['collector', 'sources', i, 'url']);
  });
  config.notifier.receivers.forEach((r, i) => {
    if (r.kind === 'webhook') checkSecret(r.hmac_secret, ['notifier', 'receivers', i, 'hmac_secret']);
    if (r.kind === 'slack') checkSecret(r.url, ['notifier', 'receivers', i, 'url']);
    if (r.kind === 'email') checkSecret(r.smtp.password, ['notifier', 'receivers', i, 'smtp', 'password']);
    if (r.kind === 'pagerduty') checkSecret(r.routing_key, ['notifier', 'receivers', i, 'routing_key']);
    if (r.kind === 'jira') checkSecret(r.api_token, ['notifier', 'receivers', i, 'api_token']);
  });
  problems.push(...routingProblems(config.notifier));
  problems.push(...checkOncall(config));
  problems.push(...automationProblems(config, checkSecret));
  problems.push(...anomalyProblems(config));
  problems.push(...unattendedProblems(config.forecast.unattended));
  problems.push(...noiseProblems(config));
  return problems;
}

/** Parses, interpolates and validates a config text. `file` is used for messages and relative paths. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): VigilConfig {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(file, doc.errors.map((e) => ({ path: '', line: counter.linePos(e.pos[0]).line, message: e.message.split('\n')[0] ?? e.message })));
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(file, [{ path: '', line: 1, message: 'the top level must be a mapping' }]);

  const envProblems: { path: (string | number)[]; message: string }[] = [];
  const data = interpolate(raw, [], env, envProblems) as Record<string, unknown>;
  const toProblem = (p: { path: (string | number)[]; message: string }) => ({ path: displayPath(p.path), line: lineOf(doc, counter, p.path), message: p.message });
  if (envProblems.length) throw new ConfigError(file, envProblems.map(toProblem));

  for (const s of SECTIONS) if (data[s] === undefined) data[s] = {};
  if (data.rules === undefined) data.rules = [];
  if (data.runbooks === undefined) data.runbooks = [];
  if (!validate(data)) {
    const pathOf = (e: ErrorObject) => [...jsonPointerToPath(e.instancePath), ...(e.keyword === 'discriminator' ? [(e.params as { tag: string }).tag] : [])];
    throw new ConfigError(file, relevantErrors(validate.errors ?? []).map((e) => toProblem({ path: pathOf(e), message: ajvMessage(e) })));
  }
  const config = { ...(data as unknown as Omit<VigilConfig, 'file' | 'baseDir'>), file, baseDir: dirname(resolve(file)) } as VigilConfig;
  const semantic = checkSemantics(config);
  if (semantic.length) throw new ConfigError(file, semantic.map(toProblem));
  return config;
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): VigilConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return parseConfig(text, file, env);
}

/** Resolves a secret: the interpolated string itself, or the trimmed content of the named file. */
export function readSecret(value: SecretValue, baseDir: string): string {
  if (typeof value === 'string') return value;
  const path = isAbsolute(value.file) ? value.file : resolve(baseDir, value.file);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new Error(`cannot read secret file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/** A path from the config, relative to the config file's folder. */
export function configPath(config: VigilConfig, path: string): string {
  return isAbsolute(path) ? path : resolve(config.baseDir, path);
}
