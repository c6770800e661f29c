/**
 * The weekly time windows of a schedule, written `"<days> <HH:MM>-<HH:MM>"` (e.g. `mon-fri 07:00-19:00`,
 * `sat,sun 09:00-13:00`, `fri 22:00-06:00`), parsed into per-weekday minute ranges and checked as a whole.
 *
 * Decisions (README "Access rules" documents them for installers):
 * - `<days>`: `mon`..`sun`, a range `mon-fri`, a list `sat,sun`, or a list of days and ranges (`mon-wed,fri`).
 *   A range may wrap over the week end: `fri-mon` is fri, sat, sun, mon. `mon-mon` is refused (write `mon`), and
 *   a day named twice is refused. Case does not matter.
 * - Across midnight: an end at or before the start (`22:00-06:00`) runs into the next day, and the part after
 *   midnight belongs to the day it started on (the door-controller convention): `fri 22:00-06:00` opens Friday
 *   night until Saturday 06:00, and Friday's holiday status decides the whole window.
 * - `24:00` is allowed as an end only (`18:00-24:00`, whole day `00:00-24:00`); `22:00-00:00` means the same as
 *   `22:00-24:00`. A start equal to the end is an empty window and refused.
 * - Windows that overlap anywhere in the week (also through midnight or the week end) are refused; windows that
 *   only touch (`08:00-12:00` and `12:00-18:00`) are fine.
 */
import { MAX_WINDOW_TEXT, MAX_WINDOWS } from '../store/access-records.ts';
import { FacegateError } from '../util/errors.ts';

export const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const MINUTES_PER_DAY = 1440;
const MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY;

/** One window on one weekday: minutes since local midnight, `start` < `end` ≤ `start` + 1440. */
export interface DayWindow {
  start: number;
  /** > 1440 when the window runs past midnight into the next day. */
  end: number;
  /** The window as written (normalised), for messages and `detail`. */
  text: string;
}

/** Index 0 = Monday … 6 = Sunday; each day's windows sorted by start. */
export type WeeklyWindows = readonly (readonly DayWindow[])[];

export interface ParsedWindow {
  days: number[];
  start: number;
  end: number;
  /** Normalised text: lower case, single space, zero-padded times (`mon-fri 07:00-19:00`). */
  text: string;
}

function fail(text: string, problem: string): never {
  throw new FacegateError(`window ${JSON.stringify(text)}: ${problem}`);
}

function parseDay(name: string, text: string): number {
  const index = (DAY_NAMES as readonly string[]).indexOf(name);
  if (index < 0) fail(text, `unknown day ${JSON.stringify(name)} (use mon, tue, wed, thu, fri, sat, sun)`);
  return index;
}

function parseDays(spec: string, text: string): number[] {
  const days: number[] = [];
  for (const item of spec.split(',')) {
    if (item === '') fail(text, `empty day in ${JSON.stringify(spec)}`);
    const range = item.split('-');
    if (range.length > 2) fail(text, `bad day range ${JSON.stringify(item)} (like mon-fri)`);
    const from = parseDay(range[0]!, text);
    const to = range.length === 2 ? parseDay(range[1]!, text) : from;
    if (range.length === 2 && from === to) fail(text, `range ${JSON.stringify(item)} names one day; write ${range[0]}`);
    // A range wraps over the week end: fri-mon = fri, sat, sun, mon.
    for (let d = from; ; d = (d + 1) % 7) {
      if (days.includes(d)) fail(text, `day ${DAY_NAMES[d]} named twice`);
      days.push(d);
      if (d === to) break;
    }
  }
  return days.sort((a, b) => a - b);
}

function parseTime(value: string, text: string, role: 'start' | 'end'): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(value);
  if (!m) fail(text, `bad ${role} time ${JSON.stringify(value)} (HH:MM)`);
  const hours = Number(m[1]);
  const minutes = Number(m[2]);
  if (hours === 24 && minutes === 0) {
    if (role === 'start') fail(text, 'a window cannot start at 24:00 (use 00:00)');
    return MINUTES_PER_DAY;
  }
  if (hours > 23) fail(text, `bad ${role} time ${JSON.stringify(value)} (hours 00-23, or 24:00 as an end)`);
  if (minutes > 59) fail(text, `bad ${role} time ${JSON.stringify(value)} (minutes 00-59)`);
  return hours * 60 + minutes;
}

const pad = (n: number) => String(n).padStart(2, '0');
const clock = (minute: number) => `${pad(Math.floor(minute / 60))}:${pad(minute % 60)}`;

/** Parses one window, or throws one line naming the bad part. */
export function parseWindow(raw: string): ParsedWindow {
  if (typeof raw !== 'string') throw new FacegateError('a window must be a string like "mon-fri 07:00-19:00"');
  const shown = raw.length > MAX_WINDOW_TEXT ? `${raw.slice(0, MAX_WINDOW_TEXT)}…` : raw;
  if (raw.length > MAX_WINDOW_TEXT) fail(shown, `longer than ${MAX_WINDOW_TEXT} characters`);
  const text = raw.trim().toLowerCase();
  const parts = text.split(/\s+/);
  if (parts.length !== 2 || parts[0] === '') fail(raw, 'expected "<days> <HH:MM>-<HH:MM>", e.g. "mon-fri 07:00-19:00"');
  const [daySpec, timeSpec] = parts as [string, string];
  const days = parseDays(daySpec, raw);
  const times = timeSpec.split('-');
  if (times.length !== 2) fail(raw, `bad time range ${JSON.stringify(timeSpec)} (HH:MM-HH:MM)`);
  const start = parseTime(times[0]!, raw, 'start');
  let end = parseTime(times[1]!, raw, 'end');
  if (end === start) fail(raw, 'empty window (start equals end; a whole day is 00:00-24:00)');
  if (end < start) end += MINUTES_PER_DAY; // across midnight: the rest belongs to the starting day
  const endText = end === MINUTES_PER_DAY ? '24:00' : clock(end % MINUTES_PER_DAY);
  return { days, start, end, text: `${daySpec} ${clock(start)}-${endText}` };
}

interface Span {
  from: number;
  to: number;
  text: string;
}

function describeWeekMinute(minute: number): string {
  const m = minute % MINUTES_PER_WEEK;
  return `${DAY_NAMES[Math.floor(m / MINUTES_PER_DAY)]} ${clock(m % MINUTES_PER_DAY)}`;
}

/**
 * Parses a schedule's windows into per-weekday lists, refusing an empty list, more than MAX_WINDOWS and any overlap
 * (naming both windows and where they meet).
 */
export function parseWeek(texts: readonly string[]): WeeklyWindows {
  if (!Array.isArray(texts) || texts.length === 0) throw new FacegateError('a schedule needs at least one window');
  if (texts.length > MAX_WINDOWS) throw new FacegateError(`a schedule has at most ${MAX_WINDOWS} windows`);
  const week: DayWindow[][] = DAY_NAMES.map(() => []);
  const spans: Span[] = [];
  for (const raw of texts) {
    const w = parseWindow(raw);
    for (const day of w.days) {
      week[day]!.push({ start: w.start, end: w.end, text: w.text });
      const from = day * MINUTES_PER_DAY + w.start;
      const to = day * MINUTES_PER_DAY + w.end;
      // Sunday night past midnight wraps to Monday morning of the (same, repeating) week.
      if (to > MINUTES_PER_WEEK) {
        spans.push({ from, to: MINUTES_PER_WEEK, text: w.text }, { from: 0, to: to - MINUTES_PER_WEEK, text: w.text });
      } else spans.push({ from, to, text: w.text });
    }
  }
  spans.sort((a, b) => a.from - b.from || a.to - b.to);
  for (let i = 1; i < spans.length; i++) {
    const a = spans[i - 1]!;
    const b = spans[i]!;
    if (b.from < a.to) {
      const where = `${describeWeekMinute(b.from)}-${clock(Math.min(a.to, b.to) % MINUTES_PER_DAY)}`;
      // Windows are shorter than a day, so one window cannot meet itself: the same text means it is listed twice.
      const which =
        a.text === b.text
          ? `window ${JSON.stringify(a.text)} is listed twice`
          : `windows ${JSON.stringify(a.text)} and ${JSON.stringify(b.text)} overlap`;
      throw new FacegateError(`${which} (${where})`);
    }
  }
  for (const day of week) day.sort((a, b) => a.start - b.start);
  return week;
}
