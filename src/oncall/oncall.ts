import type { Recipient } from '../actors/notifier/notify.js';
import { configPath, type VigilConfig } from '../config/load.js';
import { readShiftSheet, ShiftImportError, type ImportedShift } from './import.js';
import { buildSchedule, type OncallSchedule, type ScheduleConfig } from './schedule.js';

/** The names of everyone who may be on call. */
export function oncallUserNames(config: VigilConfig): Set<string> {
  return new Set(config.notifier.oncall.users.map((u) => u.name));
}

/** A person's contacts as a notification recipient; a name alone when they are not in oncall.users. */
export function recipientFor(config: VigilConfig, name: string): Recipient {
  const user = config.notifier.oncall.users.find((u) => u.name === name);
  if (!user) return { name };
  const recipient: Recipient = { name };
  if (user.email) recipient.email = user.email;
  if (user.slack) recipient.slack = user.slack;
  if (user.jira_account) recipient.jira_account = user.jira_account;
  return recipient;
}

/** The shifts of a schedule's import sheet; none when it has no `import`. Throws ShiftImportError when unusable. */
export async function importedShifts(config: VigilConfig, schedule: ScheduleConfig): Promise<ImportedShift[]> {
  if (!schedule.import) return [];
  const file = configPath(config, schedule.import);
  const result = await readShiftSheet(file, { timeZone: schedule.time_zone, users: oncallUserNames(config), scheduleName: schedule.name });
  if (!result.ok) throw new ShiftImportError(file, result.problems);
  return result.shifts;
}

/**
 * Every schedule of the config, import sheets read. A sheet that cannot be used is reported to
 * `onImportError` and its schedule keeps its layers and overrides: paging the rotation beats paging nobody.
 */
export async function loadSchedules(config: VigilConfig, onImportError: (schedule: string, err: ShiftImportError) => void = () => {}): Promise<Map<string, OncallSchedule>> {
  const schedules = new Map<string, OncallSchedule>();
  for (const s of config.notifier.oncall.schedules) {
    let imported: ImportedShift[] = [];
    try {
      imported = await importedShifts(config, s);
    } catch (err) {
      if (!(err instanceof ShiftImportError)) throw err;
      onImportError(s.name, err);
    }
    schedules.set(s.name, buildSchedule(s, config.notifier.time_intervals, imported));
  }
  return schedules;
}

const loaded = new WeakMap<VigilConfig, Promise<Map<string, OncallSchedule>>>();

/** loadSchedules once per configuration object: sheets are read again when the config is reloaded. */
export function schedulesOf(config: VigilConfig, onImportError?: (schedule: string, err: ShiftImportError) => void): Promise<Map<string, OncallSchedule>> {
  let schedules = loaded.get(config);
  if (!schedules) {
    schedules = loadSchedules(config, onImportError);
    loaded.set(config, schedules);
    // A failure (bad layer) is not cached, so the next call tries again.
    schedules.catch(() => loaded.delete(config));
  }
  return schedules;
}
