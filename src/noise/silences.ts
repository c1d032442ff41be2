import { randomUUID } from 'node:crypto';
import type { StaticSilenceConfig } from '../config/schema.js';
import { formatMatcher, matchesAll, parseMatchers, type Matcher } from '../labels/matchers.js';
import type { SilenceMatcher, SilenceRecord } from '../store/store.js';

/** pending: not started yet; active: muting now; expired: over (kept for the record). */
export type SilenceState = 'pending' | 'active' | 'expired';

export function silenceState(s: Pick<SilenceRecord, 'startsAt' | 'endsAt'>, at: number): SilenceState {
  if (at < s.startsAt) return 'pending';
  return at < s.endsAt ? 'active' : 'expired';
}

/** Stored form (Alertmanager's API shape) of a parsed matcher, and back. */
export const toStored = (m: Matcher): SilenceMatcher => ({ name: m.name, value: m.value, isRegex: m.op === '=~' || m.op === '!~', isEqual: m.op === '=' || m.op === '=~' });
const opOf = (m: SilenceMatcher) => (m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=');
export const storedMatcherText = (m: SilenceMatcher) => formatMatcher({ name: m.name, op: opOf(m), value: m.value });
export const fromStored = (matchers: readonly SilenceMatcher[]): Matcher[] => parseMatchers(matchers.map(storedMatcherText));

export interface NewSilence {
  matchers: readonly string[];
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
}

/** A silence from a request or the config; throws an Error saying what is wrong. */
export function makeSilence(input: NewSilence, now: number, id: string = randomUUID()): SilenceRecord {
  if (input.matchers.length === 0) throw new Error('a silence needs at least one matcher');
  const matchers = parseMatchers(input.matchers);
  // A silence that matches every alert (e.g. only `x=~".*"`) would mute everything by accident.
  if (matchers.every((m) => matchesAll([m], {}))) throw new Error('the matchers would also match alerts without any labels: add one that needs a label value');
  if (!Number.isFinite(input.startsAt) || !Number.isFinite(input.endsAt)) throw new Error('start and end must be times');
  if (input.endsAt <= input.startsAt) throw new Error('the end must be after the start');
  if (!input.comment.trim()) throw new Error('a silence needs a comment saying why');
  return { id, matchers: matchers.map(toStored), startsAt: input.startsAt, endsAt: input.endsAt, createdBy: input.createdBy, comment: input.comment, updatedAt: now };
}

/** Config silences get ids from their position, so a reload keeps them stable. */
export function configSilences(configs: readonly StaticSilenceConfig[]): SilenceRecord[] {
  return configs.map((s, i) =>
    makeSilence({ matchers: s.matchers, startsAt: Date.parse(s.starts_at), endsAt: Date.parse(s.ends_at), createdBy: s.created_by, comment: s.comment }, 0, `config-${i}`),
  );
}

export interface CompiledSilence {
  readonly record: SilenceRecord;
  readonly matchers: readonly Matcher[];
}

export const compileSilence = (record: SilenceRecord): CompiledSilence => ({ record, matchers: fromStored(record.matchers) });

/** The first silence active at `at` whose matchers all match. */
export function activeSilence(silences: readonly CompiledSilence[], labels: Readonly<Record<string, string>>, at: number): CompiledSilence | undefined {
  return silences.find((s) => silenceState(s.record, at) === 'active' && matchesAll(s.matchers, labels));
}
