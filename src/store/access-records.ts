/**
 * The access-rule records as the database stores them beside identities (and fleet sync carries them): schedules,
 * holiday calendars and access groups, each versioned like an identity (`version` incremented on every change,
 * `updatedAt`), deletions kept as tombstones. These are the stored shapes — names, sizes, counts — so the store can
 * read and write them without the rules engine; src/access/records.ts adds what only the engine can check (window
 * syntax and overlaps, calendar dates) and is what every writer validates with.
 */
import { z } from 'zod';

/** Names of schedules, calendars and groups: safe in CLI arguments, MQTT topics and file names. */
export const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** The same as the config's `kioskId`. */
const KIOSK_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_HOLIDAY_DATES = 1000;
export const MAX_GROUPS_PER_IDENTITY = 32;
/** Windows per schedule, and the length of one window's text (`"mon-fri 07:00-19:00"`). */
export const MAX_WINDOWS = 64;
export const MAX_WINDOW_TEXT = 64;

export const ruleNameSchema = z
  .string()
  .regex(RULE_NAME, 'a name is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

const versioned = {
  /** Incremented on every change; fleet sync applies only newer versions. */
  version: z.number().int().nonnegative(),
  updatedAt: z.string().max(64),
};

export const scheduleRecordShape = z.object({
  name: ruleNameSchema,
  /** As written: `"mon-fri 07:00-19:00"` (src/access/windows.ts has the syntax). */
  windows: z.array(z.string().max(MAX_WINDOW_TEXT)).min(1).max(MAX_WINDOWS),
  /** Holiday calendars, and the schedule to follow on their dates (absent: closed on holidays). */
  holidays: z
    .object({ calendars: z.array(ruleNameSchema).min(1).max(8), follow: ruleNameSchema.optional() })
    .optional(),
  ...versioned,
});

export const holidayCalendarRecordShape = z.object({
  name: ruleNameSchema,
  /** `YYYY-MM-DD` each (src/access/records.ts checks the dates). */
  dates: z.array(z.string()).max(MAX_HOLIDAY_DATES),
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

export type ScheduleRecord = z.infer<typeof scheduleRecordShape>;
export type HolidayCalendarRecord = z.infer<typeof holidayCalendarRecordShape>;
export type AccessGroupRecord = z.infer<typeof accessGroupRecordSchema>;
export type RuleTombstone = z.infer<typeof ruleTombstoneSchema>;

/** The database section for access rules. */
export interface AccessRules {
  schedules: ScheduleRecord[];
  holidayCalendars: HolidayCalendarRecord[];
  groups: AccessGroupRecord[];
  tombstones: RuleTombstone[];
}
