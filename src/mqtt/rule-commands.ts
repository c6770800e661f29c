/**
 * The signed access-rule verbs (issue 14): `schedule/add|remove`, `holiday/add|remove`, `group/add|remove|members`.
 * Run only after the verifier passed the payload (signature, verb, kiosk, time, nonce); each payload is a strict
 * schema of bounded fields, then the change goes through src/access/rule-edits.ts like the CLI's (full validation,
 * no dangling reference, the database's writer lock). Bad input is an error result, nothing stored, never a throw.
 */
import { z } from 'zod';
import { addHolidays, putGroup, putSchedule, removeRule, setMembers } from '../access/rule-edits.ts';
import type { FaceDb } from '../store/face-db.ts';
import { errorMessage } from '../util/errors.ts';
import type { RuleVerb } from './topics.ts';
import { checkSchema, envelope } from './validate.ts';

/** The same shape as commands.ts's CommandResult (not imported: commands.ts imports this file). */
type CommandResult =
  | ({ ok: true } & Record<string, unknown>)
  | ({ ok: false; error: string } & Record<string, unknown>);

const name = z.string().min(1).max(64);
const ids = z.array(z.string().min(1).max(128)).max(1000);

const schemas = {
  'schedule/add': z
    .object({
      ...envelope,
      name,
      windows: z.array(z.string().max(64)).min(1).max(64),
      holidays: z
        .object({ calendars: z.array(name).min(1).max(8), follow: name.optional() })
        .strict()
        .optional(),
    })
    .strict(),
  'schedule/remove': z.object({ ...envelope, name }).strict(),
  'holiday/add': z.object({ ...envelope, name, dates: z.array(z.string().max(10)).min(1).max(1000) }).strict(),
  'holiday/remove': z.object({ ...envelope, name }).strict(),
  'group/add': z
    .object({
      ...envelope,
      name,
      schedules: z.array(name).min(1).max(16),
      kiosks: z.array(z.string().min(1).max(64)).max(64).optional(),
    })
    .strict(),
  'group/remove': z.object({ ...envelope, name }).strict(),
  'group/members': z.object({ ...envelope, name, add: ids.optional(), remove: ids.optional() }).strict(),
} as const;

async function run(verb: RuleVerb, db: FaceDb, payload: unknown): Promise<CommandResult> {
  switch (verb) {
    case 'schedule/add': {
      const p = checkSchema(schemas[verb], payload);
      if (!p.ok) return { ok: false, error: p.error };
      const r = await putSchedule(db, { name: p.value.name, windows: p.value.windows, holidays: p.value.holidays });
      return { ok: true, name: r.name, version: r.version };
    }
    case 'holiday/add': {
      const p = checkSchema(schemas[verb], payload);
      if (!p.ok) return { ok: false, error: p.error };
      const r = await addHolidays(db, p.value.name, p.value.dates);
      return { ok: true, name: r.name, version: r.version, dates: r.dates.length };
    }
    case 'group/add': {
      const p = checkSchema(schemas[verb], payload);
      if (!p.ok) return { ok: false, error: p.error };
      const r = await putGroup(db, { name: p.value.name, schedules: p.value.schedules, kiosks: p.value.kiosks });
      return { ok: true, name: r.name, version: r.version };
    }
    case 'group/members': {
      const p = checkSchema(schemas[verb], payload);
      if (!p.ok) return { ok: false, error: p.error };
      const add = p.value.add ?? [];
      const remove = p.value.remove ?? [];
      if (add.length + remove.length === 0) return { ok: false, error: 'give add or remove (identity ids)' };
      return { ok: true, name: p.value.name, members: (await setMembers(db, p.value.name, add, remove)).length };
    }
    case 'schedule/remove':
    case 'holiday/remove':
    case 'group/remove': {
      const p = checkSchema(schemas[verb], payload);
      if (!p.ok) return { ok: false, error: p.error };
      const kind = verb === 'schedule/remove' ? 'schedule' : verb === 'group/remove' ? 'group' : 'holiday-calendar';
      await removeRule(db, kind, p.value.name);
      return { ok: true, removed: p.value.name };
    }
  }
}

export async function runRuleCommand(verb: RuleVerb, db: FaceDb, payload: unknown): Promise<CommandResult> {
  try {
    return await run(verb, db, payload);
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  }
}
