/**
 * Face database files of earlier schema versions, and how each becomes the current one. Opening never writes: the
 * migrated form is saved by the next change, so a read-only command leaves an old file as it was.
 * Version 1 had no deletion epoch: every identity and tombstone in it belongs to epoch 0 (the id's first life).
 * Version 2 had no access rules: it becomes version 3 with an empty rule set and identities without groups (no
 * group keeps the old behaviour: not limited by schedule).
 */
import { z } from 'zod';
import {
  DB_SCHEMA_VERSION,
  type DbFile,
  dbFileSchema,
  describeZodError,
  emptyRules,
  identitySchema,
  tombstoneSchema,
} from './schema.ts';

const v1Schema = z.object({
  schemaVersion: z.literal(1),
  identities: z.array(identitySchema.omit({ epoch: true, groups: true })),
  tombstones: z.array(tombstoneSchema.omit({ epoch: true })).default([]),
});

const v2Schema = z.object({
  schemaVersion: z.literal(2),
  identities: z.array(identitySchema.omit({ groups: true })),
  tombstones: z.array(tombstoneSchema).default([]),
});

export type ParsedDbFile = { ok: true; data: DbFile; migratedFrom: number | null } | { ok: false; error: string };

/** Validates a parsed file of any known version and returns it in the current form. */
export function parseDbFile(raw: unknown): ParsedDbFile {
  const version = typeof raw === 'object' && raw !== null ? (raw as { schemaVersion?: unknown }).schemaVersion : null;
  if (typeof version === 'number' && version > DB_SCHEMA_VERSION)
    return {
      ok: false,
      error: `schema version ${version} is newer than this facegate (${DB_SCHEMA_VERSION}): upgrade`,
    };
  if (version === 1) {
    const old = v1Schema.safeParse(raw);
    if (!old.success) return { ok: false, error: describeZodError(old.error) };
    return {
      ok: true,
      migratedFrom: 1,
      data: {
        schemaVersion: DB_SCHEMA_VERSION,
        identities: old.data.identities.map((i) => ({ ...i, epoch: 0 })),
        tombstones: old.data.tombstones.map((t) => ({ ...t, epoch: 0 })),
        rules: emptyRules(),
      },
    };
  }
  if (version === 2) {
    const old = v2Schema.safeParse(raw);
    if (!old.success) return { ok: false, error: describeZodError(old.error) };
    return { ok: true, migratedFrom: 2, data: { ...old.data, schemaVersion: DB_SCHEMA_VERSION, rules: emptyRules() } };
  }
  const parsed = dbFileSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, error: describeZodError(parsed.error) };
  return { ok: true, data: parsed.data, migratedFrom: null };
}
