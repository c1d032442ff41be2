import { accessSync, constants } from 'node:fs';
import { extname, isAbsolute, resolve } from 'node:path';
import type { VigilConfig } from '../config/load.js';
import { SHEET_EXTENSIONS } from './import.js';
import { isTimeZone, parseCivilDate, parseTime } from './zoned-time.js';

type Problem = { path: (string | number)[]; message: string };

/**
 * Cross-references of on-call schedules and escalation policies that the schema cannot express:
 * users, schedules, receivers and time intervals named must exist, and import sheets must be readable.
 * The sheets' rows are checked when they are read (`vigil oncall import` shows them).
 */
export function checkOncall(config: VigilConfig): Problem[] {
  const problems: Problem[] = [];
  const { oncall, escalation_policies: policies, time_intervals: intervals, receivers } = config.notifier;
  const users = new Set(oncall.users.map((u) => u.name));
  const schedules = new Set(oncall.schedules.map((s) => s.name));
  const intervalNames = new Set(intervals.map((t) => t.name));
  const receiverNames = new Set(receivers.map((r) => r.name));
  const unknownUser = (name: string) => `unknown user "${name}" (not in notifier.oncall.users)`;

  const duplicates = (names: string[], path: (i: number) => (string | number)[], what: string) => {
    const seen = new Set<string>();
    names.forEach((name, i) => {
      if (seen.has(name)) problems.push({ path: path(i), message: `duplicate ${what} name "${name}"` });
      seen.add(name);
    });
  };
  duplicates(oncall.users.map((u) => u.name), (i) => ['notifier', 'oncall', 'users', i, 'name'], 'user');
  duplicates(oncall.schedules.map((s) => s.name), (i) => ['notifier', 'oncall', 'schedules', i, 'name'], 'schedule');
  duplicates(policies.map((p) => p.name), (i) => ['notifier', 'escalation_policies', i, 'name'], 'escalation policy');

  oncall.schedules.forEach((s, i) => {
    const at = (...rest: (string | number)[]) => ['notifier', 'oncall', 'schedules', i, ...rest];
    const zoneOk = isTimeZone(s.time_zone);
    if (!zoneOk) problems.push({ path: at('time_zone'), message: `unknown time zone "${s.time_zone}" (expected an IANA name such as Europe/Berlin)` });
    s.layers.forEach((l, j) => {
      if (!parseCivilDate(l.start)) problems.push({ path: at('layers', j, 'start'), message: `"${l.start}" is not a date (YYYY-MM-DD)` });
      l.users.forEach((u, k) => {
        if (!users.has(u)) problems.push({ path: at('layers', j, 'users', k), message: unknownUser(u) });
      });
      (l.restrict ?? []).forEach((name, k) => {
        if (!intervalNames.has(name)) problems.push({ path: at('layers', j, 'restrict', k), message: `no time interval named "${name}"` });
      });
    });
    s.overrides.forEach((o, j) => {
      if (!users.has(o.user)) problems.push({ path: at('overrides', j, 'user'), message: unknownUser(o.user) });
      if (!zoneOk) return;
      const start = parseTime(o.start, s.time_zone);
      const end = parseTime(o.end, s.time_zone);
      for (const [field, value, t] of [['start', o.start, start], ['end', o.end, end]] as const) {
        if (t === undefined) problems.push({ path: at('overrides', j, field), message: `"${value}" is not a time (ISO 8601 with an offset, or YYYY-MM-DD HH:MM)` });
      }
      if (start !== undefined && end !== undefined && end <= start) problems.push({ path: at('overrides', j, 'end'), message: 'must be after start' });
    });
    if (s.import !== undefined) {
      const file = isAbsolute(s.import) ? s.import : resolve(config.baseDir, s.import);
      if (!(SHEET_EXTENSIONS as readonly string[]).includes(extname(file).toLowerCase())) {
        problems.push({ path: at('import'), message: `${file}: unsupported file type (expected ${SHEET_EXTENSIONS.join(' or ')})` });
      } else {
        try {
          accessSync(file, constants.R_OK);
        } catch (err) {
          problems.push({ path: at('import'), message: `cannot read import file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
        }
      }
    }
  });

  policies.forEach((p, i) => {
    p.steps.forEach((step, j) => {
      step.targets.forEach((target, k) => {
        const path = ['notifier', 'escalation_policies', i, 'steps', j, 'targets', k];
        const m = /^(schedule|user|receiver):(.+)$/.exec(target.trim());
        const name = m?.[2]?.trim() ?? '';
        if (!m) problems.push({ path, message: `"${target}" is not a target (expected schedule:NAME, user:NAME or receiver:NAME)` });
        else if (m[1] === 'schedule' && !schedules.has(name)) problems.push({ path, message: `no schedule named "${name}"` });
        else if (m[1] === 'user' && !users.has(name)) problems.push({ path, message: unknownUser(name) });
        else if (m[1] === 'receiver' && !receiverNames.has(name)) problems.push({ path, message: `no receiver named "${name}"` });
      });
    });
  });

  return problems;
}
