/**
 * Wall-clock arithmetic in an IANA time zone with nothing but Intl (Node's full ICU carries the tz database):
 * the local date and time of an instant, the instants a local time maps to (none in a spring-forward gap, two in a
 * fall-back overlap), and the UTC-offset changes in a span. Node 20 has no Temporal; Intl was enough for this.
 * One cached formatter per zone; one `formatToParts` call costs ~8 µs on the shared dev box.
 */
import { FacegateError } from '../util/errors.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
export const DAY_MS = 24 * HOUR;

/** A local calendar date, compared and stored as `YYYY-MM-DD`. */
export interface LocalDate {
  year: number;
  month: number;
  day: number;
}

export interface WallClock extends LocalDate {
  /** 0 = Monday … 6 = Sunday. */
  weekday: number;
  /** Minutes since local midnight, 0..1439 (seconds dropped: every schedule boundary is a whole minute). */
  minute: number;
  /** The local time as if it were UTC, in epoch ms (whole seconds): `instant + offset`. */
  wallMs: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f) return f;
  const bad = () =>
    new FacegateError(
      `unknown time zone ${JSON.stringify(String(timeZone).slice(0, 64))} (expected an IANA name like Europe/Berlin or UTC)`,
    );
  if (typeof timeZone !== 'string' || timeZone.length === 0 || timeZone.length > 64) throw bad();
  // Newer ICU (Node 24) also accepts UTC offsets ("+01:00"), older (Node 20) refuses them: IANA names only, so a
  // schedule means the same on every runtime (an offset has no daylight saving: "UTC" or "Etc/GMT-1" say so).
  if (/^[+-]/.test(timeZone)) throw bad();
  try {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw bad();
  }
  // Only valid names are cached; case variants (`EUROPE/berlin`) are valid too, so the cache is capped.
  if (formatters.size >= 1000) formatters.clear();
  formatters.set(timeZone, f);
  return f;
}

/**
 * The canonical IANA name (`us/eastern` → `America/New_York`), or one clear error naming the bad zone (every
 * function here throws that same error for a bad zone). Offsets like `+01:00` are refused by Node 20's Intl.
 */
export function checkTimeZone(timeZone: string): string {
  return formatter(timeZone).resolvedOptions().timeZone;
}

/** The wall clock of an instant in `timeZone` (which must be valid: see `checkTimeZone`). */
export function wallClock(instant: number, timeZone: string): WallClock {
  const fields: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = fields;
  const wallMs = Date.UTC(year, month - 1, day, hour, minute, second);
  return { year, month, day, weekday: weekdayOf({ year, month, day }), minute: hour * 60 + minute, wallMs };
}

/** UTC offset in ms at an instant (positive east of Greenwich). */
export function offsetAt(instant: number, timeZone: string): number {
  return wallClock(instant, timeZone).wallMs - Math.floor(instant / 1000) * 1000;
}

/**
 * Every instant whose local time in `timeZone` is `date` + `minute`: none when that time falls in a spring-forward
 * gap, two (earlier first) when it repeats after a fall-back. `minute` may exceed 1440 (a time on a later date).
 */
export function instantsAt(date: LocalDate, minute: number, timeZone: string): number[] {
  const wall = Date.UTC(date.year, date.month - 1, date.day) + minute * MINUTE;
  const before = offsetAt(wall - DAY_MS, timeZone);
  const after = offsetAt(wall + DAY_MS, timeZone);
  // Fast path: the same offset a day either side means no change near this time (the tz database has no two
  // changes within two days), so the local time exists exactly once. Two format calls instead of five.
  if (before === after) return [wall - before];
  const found = new Set<number>();
  for (const offset of [before, offsetAt(wall, timeZone), after]) {
    const instant = wall - offset;
    if (wallClock(instant, timeZone).wallMs === wall) found.add(instant);
  }
  return [...found].sort((a, b) => a - b);
}

/**
 * The instant a local time takes effect as a boundary: its first (`'first'`) or last (`'last'`) occurrence when
 * the hour repeats, and the moment the clocks jump past it when it falls in a spring-forward gap.
 */
export function boundaryInstant(date: LocalDate, minute: number, timeZone: string, pick: 'first' | 'last'): number {
  const found = instantsAt(date, minute, timeZone);
  if (found.length > 0) return pick === 'first' ? found[0]! : found[found.length - 1]!;
  const wall = Date.UTC(date.year, date.month - 1, date.day) + minute * MINUTE;
  const a = wall - offsetAt(wall - DAY_MS, timeZone);
  const b = wall - offsetAt(wall + DAY_MS, timeZone);
  // The jump lies between the two readings of this wall time under the old and the new offset.
  return offsetChanges(Math.min(a, b), Math.max(a, b), timeZone)[0] ?? Math.min(a, b);
}

export type BoundaryResolver = (date: LocalDate, minute: number, pick: 'first' | 'last') => number;

/**
 * `boundaryInstant` for times on the dates `first`..`last` (minutes up to 2880, into the day after `last`). When the
 * offset is the same a day before and after that span — no change inside it, as the tz database never has two
 * within a few days — it is plain arithmetic, two format calls for the whole span instead of two or more per
 * boundary (`isOpenAt` went from 13 format calls to 3 for a one-window day).
 */
export function boundaryResolver(first: LocalDate, last: LocalDate, timeZone: string): BoundaryResolver {
  const before = offsetAt(Date.UTC(first.year, first.month - 1, first.day) - DAY_MS, timeZone);
  const after = offsetAt(Date.UTC(last.year, last.month - 1, last.day) + 3 * DAY_MS, timeZone);
  if (before !== after) return (date, minute, pick) => boundaryInstant(date, minute, timeZone, pick);
  return (date, minute) => Date.UTC(date.year, date.month - 1, date.day) + minute * MINUTE - before;
}

/**
 * The instants in (from, to] where the UTC offset changes (DST starts/ends, zone rule changes), found by sampling
 * every 6 h and bisecting to the second. Assumes no two changes within 6 h, true of every zone in the tz database
 * since 1970.
 */
export function offsetChanges(from: number, to: number, timeZone: string): number[] {
  const step = 6 * HOUR;
  const changes: number[] = [];
  let prevAt = from;
  let prevOffset = offsetAt(from, timeZone);
  while (prevAt < to) {
    const at = Math.min(prevAt + step, to);
    const offset = offsetAt(at, timeZone);
    if (offset !== prevOffset) {
      // Bisect in whole seconds: the change is the first second whose offset is the new one.
      let lo = Math.floor(prevAt / 1000);
      let hi = Math.floor(at / 1000);
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (offsetAt(mid * 1000, timeZone) === prevOffset) lo = mid;
        else hi = mid;
      }
      changes.push(hi * 1000);
    }
    prevAt = at;
    prevOffset = offset;
  }
  return changes;
}

/** 0 = Monday … 6 = Sunday. */
export function weekdayOf(date: LocalDate): number {
  return (new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay() + 6) % 7;
}

export function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

export function formatDate(date: LocalDate): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.year, 4)}-${pad(date.month)}-${pad(date.day)}`;
}

/** Parses `YYYY-MM-DD`, refusing dates that do not exist (2025-02-29, 2025-13-01); null when bad. */
export function parseDate(text: string): LocalDate | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return null;
  const date = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  return formatDate(addDays(date, 0)) === text ? date : null;
}
