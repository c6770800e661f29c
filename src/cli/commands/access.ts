/**
 * Access rules from the command line (issue 14), stored in the face database beside the identities:
 *   facegate schedule add <name> --window "<days> <HH:MM>-<HH:MM>" [--window ...] [--holidays <calendar>]
 *   facegate schedule list | remove <name>
 *   facegate holiday add <calendar> <YYYY-MM-DD>... | list | remove <calendar>
 *   facegate group add <name> --schedule <name> [--schedule ...] [--kiosk <id> ...]
 *   facegate group members <name> --add <id>... | --remove <id>...
 *   facegate group list | remove <name>
 * Each takes --db, --data-dir and --json. Bad input (overlapping or empty windows, 25:00, an unknown calendar,
 * schedule or group) is one line, exit 2, and nothing is stored. Every change is an admin record in the access log.
 */
import type { Command } from 'commander';
import type { AccessGroupRecord, HolidayCalendarRecord, ScheduleRecord } from '../../access/records.ts';
import type { RuleKind } from '../../access/rule-edits.ts';
import { FacegateError } from '../../util/errors.ts';
import { auditAdmin } from '../cli-audit.ts';
import { globalFlags, output } from '../context.ts';
import { cliConfig, openDb as openDatabase } from '../recognition-setup.ts';

/**
 * The database, after the config loaded: a bad config (an unknown door.timeZone) refuses every rules command. Edits
 * may create the database (rules can come before the first person); listings never create anything.
 */
async function openDb(cmd: Command, create = true) {
  await cliConfig(cmd);
  return openDatabase(cmd, { create });
}

const repeat = (v: string, acc: string[]) => [...acc, v];
const edits = () => import('../../access/rule-edits.ts');
const withDataDir = (cmd: Command) =>
  cmd.option('--data-dir <dir>', 'data directory (the access log is in <dir>/audit)');

/** Runs a change, then records it (ok or failed, with the one-line reason) in the access log. */
async function adminChange<T>(cmd: Command, what: string, detail: string, change: () => Promise<T>): Promise<T> {
  try {
    const result = await change();
    await auditAdmin(cmd, { what, result: 'ok', detail });
    return result;
  } catch (err) {
    if (err instanceof FacegateError)
      await auditAdmin(cmd, { what, result: 'failed', detail: `${detail}: ${err.message}`.slice(0, 400) });
    throw err;
  }
}

const scheduleLine = (s: ScheduleRecord) =>
  `${s.name.padEnd(16)} ${s.windows.join(', ')}${s.holidays ? `  holidays: ${s.holidays.calendars.join(', ')}${s.holidays.follow ? ` (follow ${s.holidays.follow})` : ' (closed)'}` : ''}`;

function registerRemove(parent: Command, kind: RuleKind, label: string): void {
  withDataDir(
    parent.command('remove <name>').description(`remove a ${label} (kept as a tombstone for fleet sync)`),
  ).action(async (name: string, _opts, cmd: Command) => {
    const db = await openDb(cmd);
    const { removeRule } = await edits();
    await adminChange(cmd, `${kind}.remove`, `${label} ${name}`, () => removeRule(db, kind, name));
    output(globalFlags(cmd), { removed: name, kind }, `removed ${label} ${name}`);
  });
}

function registerSchedule(program: Command): void {
  const schedule = program.command('schedule').description('named weekly schedules of time windows (door.timeZone)');
  withDataDir(
    schedule
      .command('add <name>')
      .description('add or replace a schedule')
      .requiredOption('--window <window>', 'e.g. "mon-fri 07:00-19:00", "sat,sun 10:00-14:00" (repeatable)', repeat, [])
      .option('--holidays <calendar>', 'closed on the dates of this holiday calendar (repeatable)', repeat, [])
      .option('--holiday-schedule <name>', 'on holidays follow this schedule instead of closing'),
  ).action(
    async (name: string, opts: { window: string[]; holidays: string[]; holidaySchedule?: string }, cmd: Command) => {
      if (opts.holidaySchedule && opts.holidays.length === 0)
        throw new FacegateError('--holiday-schedule needs --holidays <calendar>');
      const db = await openDb(cmd);
      const { putSchedule } = await edits();
      const holidays =
        opts.holidays.length > 0 ? { calendars: opts.holidays, follow: opts.holidaySchedule } : undefined;
      const record = await adminChange(cmd, 'schedule.add', `schedule ${name}`, () =>
        putSchedule(db, { name, windows: opts.window, holidays }),
      );
      output(globalFlags(cmd), record, `schedule ${scheduleLine(record)}`);
    },
  );
  withDataDir(schedule.command('list').description('every schedule')).action(async (_opts, cmd: Command) => {
    const schedules = (await openDb(cmd, false)).rules().schedules;
    output(globalFlags(cmd), { schedules }, schedules.map(scheduleLine).join('\n') || 'no schedules');
  });
  registerRemove(schedule, 'schedule', 'schedule');
}

function registerHoliday(program: Command): void {
  const holiday = program.command('holiday').description('named holiday calendars (dates a schedule closes)');
  withDataDir(
    holiday.command('add <calendar> <dates...>').description('add dates (YYYY-MM-DD) to a calendar, creating it'),
  ).action(async (calendar: string, dates: string[], _opts, cmd: Command) => {
    const db = await openDb(cmd);
    const { addHolidays } = await edits();
    const record = await adminChange(cmd, 'holiday-calendar.add', `holiday calendar ${calendar}`, () =>
      addHolidays(db, calendar, dates),
    );
    output(globalFlags(cmd), record, `holiday calendar ${record.name}: ${record.dates.length} date(s)`);
  });
  withDataDir(holiday.command('list').description('every holiday calendar')).action(async (_opts, cmd: Command) => {
    const calendars = (await openDb(cmd, false)).rules().holidayCalendars;
    const line = (c: HolidayCalendarRecord) => `${c.name.padEnd(16)} ${c.dates.join(' ')}`;
    output(globalFlags(cmd), { holidayCalendars: calendars }, calendars.map(line).join('\n') || 'no holiday calendars');
  });
  registerRemove(holiday, 'holiday-calendar', 'holiday calendar');
}

function registerGroup(program: Command): void {
  const group = program.command('group').description('access groups: who may enter when (and where)');
  withDataDir(
    group
      .command('add <name>')
      .description('add or replace a group')
      .requiredOption('--schedule <name>', 'open when this schedule is (repeatable)', repeat, [])
      .option('--kiosk <id>', 'only at this kiosk (repeatable; default every kiosk)', repeat, []),
  ).action(async (name: string, opts: { schedule: string[]; kiosk: string[] }, cmd: Command) => {
    const db = await openDb(cmd);
    const { putGroup } = await edits();
    const kiosks = opts.kiosk.length > 0 ? opts.kiosk : undefined;
    const record = await adminChange(cmd, 'group.add', `group ${name}`, () =>
      putGroup(db, { name, schedules: opts.schedule, kiosks }),
    );
    output(globalFlags(cmd), record, `group ${record.name}: ${record.schedules.join(', ')}`);
  });
  withDataDir(
    group
      .command('members <name>')
      .description('add or remove identities of a group')
      .option('--add <ids...>', 'identities to add')
      .option('--remove <ids...>', 'identities to remove'),
  ).action(async (name: string, opts: { add?: string[]; remove?: string[] }, cmd: Command) => {
    const add = opts.add ?? [];
    const remove = opts.remove ?? [];
    if (add.length + remove.length === 0) throw new FacegateError('give --add <id>... or --remove <id>...');
    const db = await openDb(cmd);
    const { setMembers } = await edits();
    const members = await adminChange(cmd, 'group.members', `group ${name}: +${add.length} -${remove.length}`, () =>
      setMembers(db, name, add, remove),
    );
    output(globalFlags(cmd), { group: name, members }, `group ${name}: ${members.join(', ') || '(no members)'}`);
  });
  withDataDir(group.command('list').description('every group with its members')).action(async (_opts, cmd: Command) => {
    const db = await openDb(cmd, false);
    const { membersOf } = await edits();
    const groups = db.rules().groups.map((g: AccessGroupRecord) => ({ ...g, members: membersOf(db.list(), g.name) }));
    const human = groups
      .map(
        (g) =>
          `${g.name.padEnd(16)} schedules: ${g.schedules.join(', ')}${g.kiosks?.length ? `  kiosks: ${g.kiosks.join(', ')}` : ''}  members: ${g.members.join(', ') || '-'}`,
      )
      .join('\n');
    output(globalFlags(cmd), { groups }, human || 'no groups');
  });
  registerRemove(group, 'group', 'group');
}

export function registerAccessCommands(program: Command): void {
  registerSchedule(program);
  registerHoliday(program);
  registerGroup(program);
}
