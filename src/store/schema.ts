/** The face database's file format, validated on every read so a bad file is refused, never overwritten. */
import { z } from 'zod';
import {
  type AccessRules,
  accessGroupRecordSchema,
  holidayCalendarRecordShape,
  identityGroupsSchema,
  ruleTombstoneSchema,
  scheduleRecordShape,
} from './access-records.ts';

/**
 * 2 added the deletion epoch to identities and tombstones; 3 the access rules (schedules, holiday calendars,
 * groups) beside the identities and each identity's `groups` (src/store/migrations.ts reads versions 1 and 2).
 */
export const DB_SCHEMA_VERSION = 3;

export const encodingSchema = z.object({
  vector: z.array(z.number().finite()).min(1),
  encoder: z.string().min(1),
  createdAt: z.string(),
  /** Detector score and face size at enrollment, to judge and prune weak samples later. */
  quality: z.object({ score: z.number(), faceSize: z.number() }).nullable(),
  /** Where the sample came from: `cli:<file name>`, `mqtt:image`, `capture`, `import`. Never the image itself. */
  source: z.string(),
});

export const identitySchema = z.object({
  id: z.string().min(1).max(128),
  name: z.string(),
  badges: z.array(z.string().min(1)),
  enabled: z.boolean(),
  validFrom: z.string().optional(),
  validUntil: z.string().optional(),
  /** The person agreed to have a stylized welcome portrait made from their face crop. */
  portraitConsent: z.boolean().optional(),
  /** Access groups (src/access/rules.ts); absent or empty: no group, not limited by schedule. */
  groups: identityGroupsSchema.optional(),
  /**
   * Deletion epoch: the id's lives so far. A tombstone of epoch e beats every identity of epoch <= e whatever its
   * version (an edit made elsewhere during a partition never revives a deleted person); enrolling a deleted id again
   * starts epoch e + 1, a new identity.
   */
  epoch: z.number().int().nonnegative(),
  /** Incremented on every change; fleet sync applies only newer versions within an epoch. */
  version: z.number().int().nonnegative(),
  updatedAt: z.string(),
  encodings: z.array(encodingSchema),
});

/** A deleted identity, without any face data: id, the epoch it ended, version and time. */
export const tombstoneSchema = z.object({
  id: z.string().min(1).max(128),
  epoch: z.number().int().nonnegative(),
  version: z.number().int(),
  deletedAt: z.string(),
});

/**
 * The stored shapes of the access rules. Window syntax and dates are checked by every writer (src/access/records.ts);
 * a stored schedule that does not compile anyway (hand-edited file) fails secure at the door.
 */
export const rulesSectionSchema = z.object({
  schedules: z.array(scheduleRecordShape).default([]),
  holidayCalendars: z.array(holidayCalendarRecordShape).default([]),
  groups: z.array(accessGroupRecordSchema).default([]),
  tombstones: z.array(ruleTombstoneSchema).default([]),
});

export const dbFileSchema = z.object({
  schemaVersion: z.literal(DB_SCHEMA_VERSION),
  identities: z.array(identitySchema),
  /** Deleted identities, kept (without any face data) so fleet sync can propagate the deletion. */
  tombstones: z.array(tombstoneSchema).default([]),
  rules: rulesSectionSchema.prefault({}),
});

export type StoredEncoding = z.infer<typeof encodingSchema>;
export type Identity = z.infer<typeof identitySchema>;
export type Tombstone = z.infer<typeof tombstoneSchema>;
export type DbFile = z.infer<typeof dbFileSchema>;
export type { AccessRules } from './access-records.ts';
/** What the database holds for one id: the identity, or the tombstone of its deletion. */
export type DbRecord = { kind: 'identity'; identity: Identity } | { kind: 'tombstone'; tombstone: Tombstone };

export function emptyDb(): DbFile {
  return { schemaVersion: DB_SCHEMA_VERSION, identities: [], tombstones: [], rules: emptyRules() };
}

export function emptyRules(): AccessRules {
  return { schedules: [], holidayCalendars: [], groups: [], tombstones: [] };
}

/** One line naming the first few problems, e.g. `identities.0.badges: expected array`. */
export function describeZodError(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
