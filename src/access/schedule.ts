/**
 * Named weekly schedules evaluated in the kiosk's IANA time zone: is a schedule open at an instant, and when does
 * it next open or close (for the scheduled-unlock hold). Window syntax and its decisions are in windows.ts.
 *
 * Daylight saving: a window is one continuous stretch of real time, from the first moment the local clock reads
 * its start to the last moment it reads its end, so it never has a hole. In a spring-forward gap a boundary takes
 * effect when the clocks jump past it: `02:30-04:00` on 2025-03-30 in Europe/Berlin opens at 03:00 CEST, and a
 * window wholly inside the gap (`02:00-02:45`) does not open that day. In a fall-back overlap a start takes its
 * first reading and an end its last: `02:30-04:00` on 2025-10-26 in Berlin is open from 02:30 CEST to 04:00 CET
 * without a break (a plain clock comparison would lock for 30 min when the clocks go back), `01:00-02:30` runs
 * to 02:30 CET, and an overnight `22:00-06:00` lasts 9 h that night and 7 h on the spring-forward night.
 * Holidays: a schedule may name holiday calendars; on a date in one of them the schedule is closed, or, when it
 * names a holiday schedule (`follow`), that schedule's windows for the weekday apply instead (its own holiday
 * rule is not consulted). A window's starting day decides: Friday 22:00-06:00 is closed whole when Friday is a
 * holiday, and runs on into a holiday Saturday. A calendar or holiday schedule that is missing (deleted, not yet
 * synced) fails secure: the schedule evaluates closed, with a `problem` saying why.
 */
import {
  addDays,
  type BoundaryResolver,
  boundaryResolver,
  DAY_MS,
  formatDate,
  type LocalDate,
  wallClock,
  weekdayOf,
} from './time-zone.ts';
import { type DayWindow, parseWeek, type WeeklyWindows } from './windows.ts';

/** Calendar name → its dates (`YYYY-MM-DD`). */
export type HolidayCalendars = ReadonlyMap<string, ReadonlySet<string>>;

/** A schedule as written (the stored record carries these fields and more). */
export interface ScheduleDefinition {
  name: string;
  windows: readonly string[];
  holidays?: { calendars: readonly string[]; follow?: string | undefined } | undefined;
}

export interface Schedule {
  name: string;
  week: WeeklyWindows;
  holidays: {
    calendars: readonly string[];
    /** The holiday schedule's windows; `week` null when that schedule is missing (closed on holidays). */
    follow: { name: string; week: WeeklyWindows | null } | null;
  } | null;
}

export interface ScheduleState {
  open: boolean;
  /** The window open now, as written (normalised), or null. */
  window: string | null;
  /** Set when the local date (or, past midnight, the window's starting date) is a holiday of this schedule. */
  holiday: { date: string; calendar: string; follow: string | null } | null;
  /** A missing calendar or holiday schedule: the schedule is evaluated closed (fail secure). */
  problem: string | null;
}

export interface Transition {
  /** Epoch ms of the change. */
  at: number;
  /** The state from `at` on. */
  open: boolean;
}

function build(def: ScheduleDefinition, week: WeeklyWindows, followWeek: WeeklyWindows | null): Schedule {
  const rule = def.holidays;
  return {
    name: def.name,
    week,
    holidays: rule
      ? { calendars: [...rule.calendars], follow: rule.follow ? { name: rule.follow, week: followWeek } : null }
      : null,
  };
}

/** Compiles one schedule; throws one line naming the bad window. `follow` is the holiday schedule's, if any. */
export function compileSchedule(def: ScheduleDefinition, follow?: ScheduleDefinition | null): Schedule {
  return build(def, parseWeek(def.windows), follow ? parseWeek(follow.windows) : null);
}

/**
 * Compiles a set of stored schedules, resolving holiday schedules by name. A schedule that does not compile is
 * left out (groups naming it then deny: `unknown-schedule`); one following a missing or broken holiday schedule is
 * closed on holidays. Both are described in `problems`.
 */
export function compileSchedules(defs: readonly ScheduleDefinition[]): {
  schedules: Map<string, Schedule>;
  problems: string[];
} {
  const weeks = new Map<string, WeeklyWindows>();
  const problems: string[] = [];
  for (const def of defs) {
    try {
      weeks.set(def.name, parseWeek(def.windows));
    } catch (err) {
      problems.push(`schedule "${def.name}": ${(err as Error).message}`);
    }
  }
  const schedules = new Map<string, Schedule>();
  for (const def of defs) {
    const week = weeks.get(def.name);
    if (!week) continue;
    const follow = def.holidays?.follow;
    const followWeek = follow ? (weeks.get(follow) ?? null) : null;
    if (follow && !followWeek) problems.push(`schedule "${def.name}": holiday schedule "${follow}" is unknown`);
    schedules.set(def.name, build(def, week, followWeek));
  }
  return { schedules, problems };
}

interface DayPlan {
  windows: readonly DayWindow[];
  holiday: ScheduleState['holiday'];
  problem: string | null;
}

/** The windows that start on a local date, after the holiday rule. */
function planFor(schedule: Schedule, date: LocalDate, holidays: HolidayCalendars): DayPlan {
  const weekday = weekdayOf(date);
  const rule = schedule.holidays;
  if (!rule) return { windows: schedule.week[weekday]!, holiday: null, problem: null };
  const dateText = formatDate(date);
  for (const calendar of rule.calendars) {
    const dates = holidays.get(calendar);
    if (!dates) return { windows: [], holiday: null, problem: `holiday calendar "${calendar}" is unknown` };
    if (!dates.has(dateText)) continue;
    const holiday = { date: dateText, calendar, follow: rule.follow?.name ?? null };
    if (!rule.follow) return { windows: [], holiday, problem: null };
    if (!rule.follow.week) {
      return { windows: [], holiday, problem: `holiday schedule "${rule.follow.name}" is unknown` };
    }
    return { windows: rule.follow.week[weekday]!, holiday, problem: null };
  }
  return { windows: schedule.week[weekday]!, holiday: null, problem: null };
}

interface Occurrence {
  from: number;
  to: number;
  window: string;
  holiday: ScheduleState['holiday'];
}

/** The real-time intervals of the windows that start on a local date (empty ones — wholly in a DST gap — dropped). */
function occurrences(plan: DayPlan, date: LocalDate, resolve: BoundaryResolver): Occurrence[] {
  const list: Occurrence[] = [];
  for (const w of plan.windows) {
    const from = resolve(date, w.start, 'first');
    const to = resolve(date, w.end, 'last');
    if (to > from) list.push({ from, to, window: w.text, holiday: plan.holiday });
  }
  return list;
}

/** Whether the schedule is open at `instant`, which window, and any holiday or problem behind the answer. */
export function explainAt(
  schedule: Schedule,
  instant: number,
  timeZone: string,
  holidays: HolidayCalendars,
): ScheduleState {
  const today = wallClock(instant, timeZone);
  const resolve = boundaryResolver(addDays(today, -1), addDays(today, 1), timeZone);
  let problem: string | null = null;
  let holiday: ScheduleState['holiday'] = null;
  // Yesterday's overnight windows reach into today; tomorrow's only where a fall-back repeats midnight.
  for (const offset of [-1, 0, 1]) {
    const date = addDays(today, offset);
    const plan = planFor(schedule, date, holidays);
    const hit = occurrences(plan, date, resolve).find((o) => o.from <= instant && instant < o.to);
    if (hit) return { open: true, window: hit.window, holiday: hit.holiday, problem: null };
    if (offset === 0) holiday = plan.holiday;
    if (offset <= 0) problem ??= plan.problem;
  }
  return { open: false, window: null, holiday, problem };
}

export function isOpenAt(schedule: Schedule, instant: number, timeZone: string, holidays: HolidayCalendars): boolean {
  return explainAt(schedule, instant, timeZone, holidays).open;
}

/** How far `nextTransition` looks ahead before answering null (a schedule that never changes). */
export const TRANSITION_HORIZON_MS = 366 * DAY_MS;
const SCAN_RANGE_MS = 7 * DAY_MS;

/** Every instant in (from, to] where an occurrence starts or ends: the only places the state can change. */
function candidates(schedule: Schedule, from: number, to: number, timeZone: string, holidays: HolidayCalendars) {
  const found = new Set<number>();
  // A day's margin each side covers occurrences that start before `from` and end inside the span.
  const last = formatDate(addDays(wallClock(to, timeZone), 1));
  for (let date = addDays(wallClock(from, timeZone), -1); formatDate(date) <= last; date = addDays(date, 1)) {
    const resolve = boundaryResolver(date, date, timeZone);
    for (const o of occurrences(planFor(schedule, date, holidays), date, resolve)) {
      for (const at of [o.from, o.to]) if (at > from && at <= to) found.add(at);
    }
  }
  return [...found].sort((a, b) => a - b);
}

/**
 * The next instant after `after` at which the schedule opens or closes, with the state from then on; null when it
 * does not change within TRANSITION_HORIZON_MS (always open, or always closed). Touching windows
 * (`08:00-12:00`, `12:00-18:00`) make no transition at 12:00.
 */
export function nextTransition(
  schedule: Schedule,
  after: number,
  timeZone: string,
  holidays: HolidayCalendars,
): Transition | null {
  const now = isOpenAt(schedule, after, timeZone, holidays);
  const horizon = after + TRANSITION_HORIZON_MS;
  for (let from = after; from < horizon; from += SCAN_RANGE_MS) {
    const to = Math.min(from + SCAN_RANGE_MS, horizon);
    for (const at of candidates(schedule, from, to, timeZone, holidays)) {
      if (isOpenAt(schedule, at, timeZone, holidays) !== now) return { at, open: !now };
    }
  }
  return null;
}
