/**
 * The access-rule records, validated in full: the stored shapes (src/store/access-records.ts) plus what only the
 * rules engine can check — every window parses and none overlap, holiday dates are real dates, a schedule does not
 * follow itself. A bad record is refused with one line naming the bad part and nothing is stored.
 */
import { z } from 'zod';
import {
  type AccessRules,
  accessGroupRecordSchema,
  type HolidayCalendarRecord,
  holidayCalendarRecordShape,
  MAX_HOLIDAY_DATES,
  ruleTombstoneSchema,
  scheduleRecordShape,
} from '../store/access-records.ts';
import type { HolidayCalendars } from './schedule.ts';
import { parseDate } from './time-zone.ts';
import { parseWeek } from './windows.ts';

export {
  type AccessGroupRecord,
  type AccessRules,
  accessGroupRecordSchema,
  type HolidayCalendarRecord,
  identityGroupsSchema,
  MAX_GROUPS_PER_IDENTITY,
  MAX_HOLIDAY_DATES,
  RULE_NAME,
  type RuleTombstone,
  ruleNameSchema,
  ruleTombstoneSchema,
  type ScheduleRecord,
} from '../store/access-records.ts';

export const holidayDateSchema = z.string().refine((text) => parseDate(text) !== null, {
  error: (issue) => `bad date ${JSON.stringify(issue.input)} (YYYY-MM-DD)`,
});

export const scheduleRecordSchema = scheduleRecordShape.superRefine((record, ctx) => {
  try {
    parseWeek(record.windows);
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: ['windows'], message: (err as Error).message });
  }
  if (record.holidays?.follow === record.name) {
    ctx.addIssue({ code: 'custom', path: ['holidays', 'follow'], message: 'a schedule cannot follow itself' });
  }
});

export const holidayCalendarRecordSchema = holidayCalendarRecordShape.extend({
  dates: z.array(holidayDateSchema).max(MAX_HOLIDAY_DATES),
});

/** The database section for access rules. */
export const accessRulesSchema = z.object({
  schedules: z.array(scheduleRecordSchema).default([]),
  holidayCalendars: z.array(holidayCalendarRecordSchema).default([]),
  groups: z.array(accessGroupRecordSchema).default([]),
  tombstones: z.array(ruleTombstoneSchema).default([]),
});

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
