/**
 * Changes to the stored access rules, shared by the CLI and the signed MQTT commands: add or replace a schedule,
 * holiday dates, a group, group membership, and removals (as tombstones, so fleet sync carries them). Each change
 * runs under the database's writer lock (FaceDb.editAccess) on a fresh copy of the file, is validated in full by
 * src/access/records.ts, and must not leave a dangling reference (a group naming a missing schedule, a schedule a
 * missing calendar): a bad change is one FacegateError line and nothing is stored.
 */
import type { z } from 'zod';
import type { AccessStep, FaceDb } from '../store/face-db.ts';
import { type AccessRules, type DbFile, describeZodError, type Identity } from '../store/schema.ts';
import { FacegateError } from '../util/errors.ts';
import {
  type AccessGroupRecord,
  accessGroupRecordSchema,
  danglingReferences,
  type HolidayCalendarRecord,
  holidayCalendarRecordSchema,
  MAX_GROUPS_PER_IDENTITY,
  MAX_HOLIDAY_DATES,
  type RuleTombstone,
  ruleNameSchema,
  type ScheduleRecord,
  scheduleRecordSchema,
} from './records.ts';

export type RuleKind = RuleTombstone['kind'];
type RuleRecord = ScheduleRecord | HolidayCalendarRecord | AccessGroupRecord;
const LIST: Record<RuleKind, 'schedules' | 'holidayCalendars' | 'groups'> = {
  schedule: 'schedules',
  'holiday-calendar': 'holidayCalendars',
  group: 'groups',
};
const LABEL: Record<RuleKind, string> = {
  schedule: 'schedule',
  'holiday-calendar': 'holiday calendar',
  group: 'group',
};

export interface ScheduleInput {
  name: string;
  windows: string[];
  holidays?: { calendars: string[]; follow?: string | undefined } | undefined;
}
export interface GroupInput {
  name: string;
  schedules: string[];
  kiosks?: string[] | undefined;
}

function validated<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new FacegateError(`${what}: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

export function checkRuleName(name: string, what: string): string {
  return validated(ruleNameSchema, name, what);
}

/** The record named `name` of a kind, or undefined. */
export function findRule(rules: Readonly<AccessRules>, kind: RuleKind, name: string): RuleRecord | undefined {
  return (rules[LIST[kind]] as readonly RuleRecord[]).find((r) => r.name === name);
}

/** The next version for a name: above both a live record and a tombstone of it. */
function nextVersion(rules: AccessRules, kind: RuleKind, name: string): number {
  const live = findRule(rules, kind, name)?.version ?? 0;
  const dead = rules.tombstones.find((t) => t.kind === kind && t.name === name)?.version ?? 0;
  return Math.max(live, dead) + 1;
}

/** `rules` with `name`'s record of `kind` replaced by `record` (null: a tombstone instead). */
function withRule(rules: AccessRules, kind: RuleKind, name: string, record: RuleRecord | RuleTombstone): AccessRules {
  const list = (rules[LIST[kind]] as RuleRecord[]).filter((r) => r.name !== name);
  const tombstones = rules.tombstones.filter((t) => !(t.kind === kind && t.name === name));
  if ('deletedAt' in record) tombstones.push(record);
  else list.push(record);
  list.sort((a, b) => a.name.localeCompare(b.name));
  return { ...rules, [LIST[kind]]: list, tombstones };
}

/** Refuses a rule set that has a dangling reference the current one did not have. */
function checkReferences(before: AccessRules, after: AccessRules): void {
  const known = new Set(danglingReferences(before));
  const added = danglingReferences(after).filter((p) => !known.has(p));
  if (added.length > 0) throw new FacegateError(`${added[0]}; nothing stored`);
}

function ruleStep<T>(data: DbFile, rules: AccessRules, result: T): AccessStep<T> {
  checkReferences(data.rules, rules);
  return { next: { ...data, rules }, result };
}

const stamp = () => new Date().toISOString();

export function putSchedule(db: FaceDb, input: ScheduleInput): Promise<ScheduleRecord> {
  return db.editAccess((data) => {
    const record = validated(
      scheduleRecordSchema,
      { ...input, version: nextVersion(data.rules, 'schedule', input.name), updatedAt: stamp() },
      `schedule "${String(input.name).slice(0, 64)}"`,
    );
    return ruleStep(data, withRule(data.rules, 'schedule', record.name, record), record);
  });
}

/** Adds dates to a holiday calendar, creating it when new. */
export function addHolidays(db: FaceDb, calendar: string, dates: string[]): Promise<HolidayCalendarRecord> {
  return db.editAccess((data) => {
    const name = checkRuleName(calendar, 'holiday calendar');
    const current = findRule(data.rules, 'holiday-calendar', name) as HolidayCalendarRecord | undefined;
    const merged = [...new Set([...(current?.dates ?? []), ...dates])].sort();
    if (merged.length > MAX_HOLIDAY_DATES)
      throw new FacegateError(`holiday calendar "${name}": more than ${MAX_HOLIDAY_DATES} dates`);
    const record = validated(
      holidayCalendarRecordSchema,
      { name, dates: merged, version: nextVersion(data.rules, 'holiday-calendar', name), updatedAt: stamp() },
      `holiday calendar "${name}"`,
    );
    return ruleStep(data, withRule(data.rules, 'holiday-calendar', name, record), record);
  });
}

export function putGroup(db: FaceDb, input: GroupInput): Promise<AccessGroupRecord> {
  return db.editAccess((data) => {
    const record = validated(
      accessGroupRecordSchema,
      { ...input, version: nextVersion(data.rules, 'group', input.name), updatedAt: stamp() },
      `group "${String(input.name).slice(0, 64)}"`,
    );
    return ruleStep(data, withRule(data.rules, 'group', record.name, record), record);
  });
}

/**
 * Removes a rule record, leaving a tombstone. Refused while another rule names it. A removed group stays named by
 * its members (they are then denied `unknown-group`, never turned into "no group" people who may enter any time).
 */
export function removeRule(db: FaceDb, kind: RuleKind, name: string): Promise<boolean> {
  return db.editAccess((data) => {
    const current = findRule(data.rules, kind, checkRuleName(name, LABEL[kind]));
    if (!current) throw new FacegateError(`no ${LABEL[kind]} "${name}"`);
    const tombstone: RuleTombstone = { kind, name, version: current.version + 1, deletedAt: stamp() };
    return ruleStep(data, withRule(data.rules, kind, name, tombstone), true);
  });
}

/** Adds and removes identities of a group; every id must exist, and the group too (when adding). */
export function setMembers(db: FaceDb, group: string, add: string[], remove: string[]): Promise<string[]> {
  return db.editAccess((data) => {
    const name = checkRuleName(group, 'group');
    if (add.length > 0 && !findRule(data.rules, 'group', name)) throw new FacegateError(`unknown group "${name}"`);
    const changed = new Map<string, Identity>();
    const now = stamp();
    for (const [ids, adding] of [
      [add, true],
      [remove, false],
    ] as const) {
      for (const id of ids) {
        const identity = changed.get(id) ?? data.identities.find((i) => i.id === id);
        if (!identity) throw new FacegateError(`no identity "${id}"; nothing stored`);
        const groups = new Set(identity.groups ?? []);
        if (adding) groups.add(name);
        else groups.delete(name);
        if (groups.size > MAX_GROUPS_PER_IDENTITY)
          throw new FacegateError(`identity "${id}": more than ${MAX_GROUPS_PER_IDENTITY} groups`);
        changed.set(id, { ...identity, groups: [...groups].sort(), version: identity.version + 1, updatedAt: now });
      }
    }
    const identities = data.identities.map((i) => changed.get(i.id) ?? i);
    return { next: { ...data, identities }, result: membersOf(identities, name), changedIds: [...changed.keys()] };
  });
}

export function membersOf(identities: readonly Identity[], group: string): string[] {
  return identities.filter((i) => i.groups?.includes(group)).map((i) => i.id);
}

/** Checks group names an identity is given at enrollment: each must exist. */
export function checkGroupsExist(rules: Readonly<AccessRules>, groups: readonly string[]): void {
  for (const g of groups) {
    checkRuleName(g, 'group');
    if (!findRule(rules, 'group', g)) throw new FacegateError(`unknown group "${g}"`);
  }
}

/** A schedule, calendar or group record, or a tombstone of one, as fleet sync carries it. */
export type RuleEntry = { kind: RuleKind; name: string; record: RuleRecord | null; tombstone: RuleTombstone | null };

/** What the database holds for a rule name: its record, its tombstone, or neither. */
export function ruleEntryIn(rules: Readonly<AccessRules>, kind: RuleKind, name: string): RuleEntry | null {
  const record = findRule(rules, kind, name) ?? null;
  const tombstone = rules.tombstones.find((t) => t.kind === kind && t.name === name) ?? null;
  return record || tombstone ? { kind, name, record, tombstone } : null;
}

/**
 * Stores a rule entry received from another kiosk if `accept` says it beats what is held (decided on the fresh file,
 * under the lock). It is validated in full, but a dangling reference is allowed: records of one change may arrive
 * in any order, and at the door a missing schedule or calendar fails secure.
 */
export function applyRuleEntry(
  db: FaceDb,
  entry: RuleEntry,
  accept: (current: RuleEntry | null) => boolean,
): Promise<boolean> {
  const schemaOf = {
    schedule: scheduleRecordSchema,
    'holiday-calendar': holidayCalendarRecordSchema,
    group: accessGroupRecordSchema,
  };
  const value: RuleRecord | RuleTombstone | null = entry.record
    ? validated(schemaOf[entry.kind] as z.ZodType<RuleRecord>, entry.record, `${LABEL[entry.kind]} "${entry.name}"`)
    : entry.tombstone;
  if (!value || value.name !== entry.name || ('kind' in value && value.kind !== entry.kind))
    return Promise.reject(new FacegateError('rule entry does not match its name or kind'));
  return db.editAccess((data) => {
    if (!accept(ruleEntryIn(data.rules, entry.kind, entry.name))) return { next: null, result: false };
    return { next: { ...data, rules: withRule(data.rules, entry.kind, entry.name, value) }, result: true };
  });
}
