/**
 * The access-rule records as the database stores them beside identities (and fleet sync carries them): schedules,
 * holiday calendars and access groups, each versioned like an identity (`version` incremented on every change,
 * `updatedAt`), deletions kept as tombstones. Every record is validated in full here, so a bad one is refused
 * with one line naming the bad part and nothing is stored.
 */
import { z } from 'zod';
import type { HolidayCalendars } from './schedule.ts';
import { parseDate } from './time-zone.ts';
import { MAX_WINDOW_TEXT, MAX_WINDOWS, parseWeek } from './windows.ts';

/** Names of schedules, calendars and groups: safe in CLI arguments, MQTT topics and file names. */
export const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** The same as the config's `kioskId`. */
const KIOSK_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_HOLIDAY_DATES = 1000;
export const MAX_GROUPS_PER_IDENTITY = 32;

export const ruleNameSchema = z
  .string()
  .regex(RULE_NAME, 'a name is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

const versioned = {
  /** Incremented on every change; fleet sync applies only newer versions. */
  version: z.number().int().nonnegative(),
  updatedAt: z.string().max(64),
};

export const holidayDateSchema = z.string().refine((text) => parseDate(text) !== null, {
  error: (issue) => `bad date ${JSON.stringify(issue.input)} (YYYY-MM-DD)`,
});

export const scheduleRecordSchema = z
  .object({
    name: ruleNameSchema,
    /** As written: `"mon-fri 07:00-19:00"` (windows.ts has the syntax). */
    windows: z.array(z.string().max(MAX_WINDOW_TEXT)).min(1).max(MAX_WINDOWS),
    /** Holiday calendars, and the schedule to follow on their dates (absent: closed on holidays). */
    holidays: z
      .object({ calendars: z.array(ruleNameSchema).min(1).max(8), follow: ruleNameSchema.optional() })
      .optional(),
    ...versioned,
  })
  .superRefine((record, ctx) => {
    try {
      parseWeek(record.windows);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['windows'], message: (err as Error).message });
    }
    if (record.holidays?.follow === record.name) {
      ctx.addIssue({ code: 'custom', path: ['holidays', 'follow'], message: 'a schedule cannot follow itself' });
    }
  });

export const holidayCalendarRecordSchema = z.object({
  name: ruleNameSchema,
  dates: z.array(holidayDateSchema).max(MAX_HOLIDAY_DATES),
  ...versioned,
});

export const accessGroupRecordSchema = z.object({
  name: ruleNameSchema,
  /** Open when any of these schedules is. */
  schedules: z.array(ruleNameSchema).min(1).max(16),
  /** Kiosks where the group may enter; absent or empty: every kiosk. */
  kiosks: z.array(z.string().regex(KIOSK_ID, 'a kiosk id is 1-64 letters, digits, "-" or "_"')).max(64).optional(),
  ...versioned,
});

export const ruleTombstoneSchema = z.object({
  kind: z.enum(['schedule', 'holiday-calendar', 'group']),
  name: ruleNameSchema,
  version: z.number().int().nonnegative(),
  deletedAt: z.string().max(64),
});

/** The identity's new field (optional: an identity with no groups keeps today's behaviour). */
export const identityGroupsSchema = z.array(ruleNameSchema).max(MAX_GROUPS_PER_IDENTITY);

/** The database section for access rules. */
export const accessRulesSchema = z.object({
  schedules: z.array(scheduleRecordSchema).default([]),
  holidayCalendars: z.array(holidayCalendarRecordSchema).default([]),
  groups: z.array(accessGroupRecordSchema).default([]),
  tombstones: z.array(ruleTombstoneSchema).default([]),
});

export type ScheduleRecord = z.infer<typeof scheduleRecordSchema>;
export type HolidayCalendarRecord = z.infer<typeof holidayCalendarRecordSchema>;
export type AccessGroupRecord = z.infer<typeof accessGroupRecordSchema>;
export type RuleTombstone = z.infer<typeof ruleTombstoneSchema>;
export type AccessRules = z.infer<typeof accessRulesSchema>;

export function holidayCalendarsFrom(records: readonly HolidayCalendarRecord[]): HolidayCalendars {
  return new Map(records.map((r) => [r.name, new Set(r.dates)]));
}

/**
 * Dangling references in a rule set (a group naming a missing schedule, a schedule naming a missing calendar or
 * holiday schedule), one line each. The CLI and MQTT refuse a change or a removal that would add one; at the door
 * a dangling reference fails secure (denied).
 */
export function danglingReferences(rules: Pick<AccessRules, 'schedules' | 'holidayCalendars' | 'groups'>): string[] {
  const schedules = new Set(rules.schedules.map((s) => s.name));
  const calendars = new Set(rules.holidayCalendars.map((c) => c.name));
  const problems: string[] = [];
  for (const s of rules.schedules) {
    for (const c of s.holidays?.calendars ?? []) {
      if (!calendars.has(c)) problems.push(`schedule "${s.name}" names unknown holiday calendar "${c}"`);
    }
    const follow = s.holidays?.follow;
    if (follow && !schedules.has(follow)) {
      problems.push(`schedule "${s.name}" follows unknown schedule "${follow}" on holidays`);
    }
  }
  for (const g of rules.groups) {
    for (const s of g.schedules)
      if (!schedules.has(s)) problems.push(`group "${g.name}" names unknown schedule "${s}"`);
  }
  return problems;
}
