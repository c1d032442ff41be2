import { resolve } from 'node:path';
import { Command } from 'commander';
import { configPath, loadConfig, type VigilConfig } from '../config/load.js';
import { describeShift, readShiftSheet } from '../oncall/import.js';
import { loadSchedules, oncallUserNames } from '../oncall/oncall.js';
import { onDuty, type OncallSchedule } from '../oncall/schedule.js';
import { formatWallTime, parseTime } from '../oncall/zoned-time.js';

/** What `vigil oncall who` prints: one line per schedule. `at` is read in each schedule's zone unless it has an offset. */
export function describeWhoIsOnCall(schedules: readonly OncallSchedule[], at: string | undefined, now: number): { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  for (const schedule of schedules) {
    const when = at === undefined ? now : parseTime(at, schedule.timeZone);
    if (when === undefined) {
      errors.push(`--at "${at}" is not a time (ISO 8601 with an offset, or YYYY-MM-DD HH:MM in the schedule's zone)`);
      break;
    }
    const duty = onDuty(schedule, when);
    const until = duty?.until === undefined ? 'beyond the next 90 days' : `until ${formatWallTime(duty.until, schedule.timeZone)}`;
    lines.push(duty ? `${schedule.name}: ${duty.user} ${until}` : `${schedule.name}: nobody on call at ${formatWallTime(when, schedule.timeZone)}`);
  }
  return { lines, errors };
}

function load(file: string): VigilConfig | undefined {
  try {
    return loadConfig(file);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 1;
    return undefined;
  }
}

function scheduleConfig(config: VigilConfig, name: string) {
  const schedule = config.notifier.oncall.schedules.find((s) => s.name === name);
  if (!schedule) {
    const known = config.notifier.oncall.schedules.map((s) => s.name);
    process.stderr.write(`no schedule named "${name}" (schedules: ${known.length ? known.join(', ') : 'none'})\n`);
    process.exitCode = 1;
  }
  return schedule;
}

function whoCommand(): Command {
  return new Command('who')
    .description("Print who is on call in each schedule (or one) now or at a given time, and until when.")
    .requiredOption('-c, --config <file>', 'configuration file (YAML)')
    .option('-s, --schedule <name>', 'only this schedule')
    .option('--at <time>', "ISO 8601 time, or YYYY-MM-DD HH:MM in each schedule's zone (default: now)")
    .action(async (options: { config: string; schedule?: string; at?: string }) => {
      const config = load(options.config);
      if (!config) return;
      if (options.schedule && !scheduleConfig(config, options.schedule)) return;
      const schedules = await loadSchedules(config, (name, err) => {
        process.stderr.write(`warning: schedule "${name}": import ignored:\n${err.message}\n`);
      });
      const chosen = [...schedules.values()].filter((s) => !options.schedule || s.name === options.schedule);
      if (!chosen.length) process.stdout.write('no on-call schedules configured\n');
      const { lines, errors } = describeWhoIsOnCall(chosen, options.at, Date.now());
      for (const line of lines) process.stdout.write(`${line}\n`);
      for (const error of errors) process.stderr.write(`${error}\n`);
      if (errors.length) process.exitCode = 1;
    });
}

function importCommand(): Command {
  return new Command('import')
    .description('Validate a CSV or XLSX shift sheet (columns user,start,end) for a schedule: prints the accepted shifts, or every bad row with its number (exit 1).')
    .requiredOption('-c, --config <file>', 'configuration file (YAML)')
    .requiredOption('-s, --schedule <name>', 'schedule the shifts belong to (its time zone reads times without an offset)')
    .argument('<file>', 'the sheet (.csv or .xlsx)')
    .action(async (file: string, options: { config: string; schedule: string }) => {
      const config = load(options.config);
      if (!config) return;
      const schedule = scheduleConfig(config, options.schedule);
      if (!schedule) return;
      const result = await readShiftSheet(file, { timeZone: schedule.time_zone, users: oncallUserNames(config), scheduleName: schedule.name });
      if (!result.ok) {
        process.stderr.write(`${file}: rejected, nothing imported (${result.problems.length} bad ${result.problems.length === 1 ? 'row' : 'rows'}):\n`);
        for (const p of result.problems) process.stderr.write(p.row ? `  row ${p.row}: ${p.message}\n` : `  ${p.message}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${file}: ${result.shifts.length} shifts accepted for schedule "${schedule.name}"\n`);
      for (const shift of result.shifts) process.stdout.write(`  ${describeShift(shift, schedule.time_zone)}\n`);
      const imported = schedule.import ? configPath(config, schedule.import) : undefined;
      if (imported !== resolve(file)) {
        process.stdout.write(`To use it, set notifier.oncall.schedules[name=${schedule.name}].import to this file and reload.\n`);
      }
    });
}

export function oncallCommand(): Command {
  return new Command('oncall').description('On-call schedules: who is on duty, and shift sheet imports.').addCommand(whoCommand()).addCommand(importCommand());
}
