/**
 * One line of the access log: what the door flow, alarms and admin commands append, and what `facegate log`
 * reads back. Privacy is in the type: there is no field for a face vector or an image, the entry schema is strict
 * (an unknown key such as `vector` is refused), and the badge field takes only a `MaskedBadge` (checked again at
 * run time, so a full number cast to one is refused too). Every string is bounded; hostile text (newlines, quotes,
 * control characters) is JSON-escaped on its one line.
 */
import { z } from 'zod';
import { MASKED_BADGE, type MaskedBadge } from '../util/badge-mask.ts';
import { FacegateError } from '../util/errors.ts';

export type AuditKind = 'access' | 'alarm' | 'admin';
export type AuditResult = 'granted' | 'denied' | 'raised' | 'ok' | 'failed';

/** What a caller appends. */
export interface AuditEntry {
  kind: AuditKind;
  /** access: the mode (`badge+face`); alarm: its kind (`door-forced-open`); admin: the action (`identity.delete`). */
  what: string;
  /** access: granted | denied; alarm: raised; admin: ok | failed. */
  result: AuditResult;
  /** Machine-readable reason (`match`, `outside-schedule`, `locked-out`, …). */
  reason?: string;
  kiosk?: string | null;
  /** The person concerned (the one at the door, or the identity an admin action changed). */
  identityId?: string | null;
  name?: string | null;
  badge?: MaskedBadge | null;
  /** admin: who did it (`cli`, `mqtt:<key id>`). */
  by?: string | null;
  /** Neutral text for humans; never a name (redaction on delete removes names from the fields above only). */
  detail?: string;
  /** Epoch ms; default: the log's clock. */
  time?: number;
}

/** What a reader gets: every field present, absent ones null or empty. */
export interface AuditRecord {
  /** Epoch ms. */
  t: number;
  kind: AuditKind;
  what: string;
  result: AuditResult;
  reason: string;
  kiosk: string | null;
  identityId: string | null;
  name: string | null;
  badge: string | null;
  by: string | null;
  detail: string;
  /** The person was deleted: their id, name and badge were removed from this record. */
  redacted: boolean;
}

const RESULTS_BY_KIND: Record<AuditKind, readonly AuditResult[]> = {
  access: ['granted', 'denied'],
  alarm: ['raised'],
  admin: ['ok', 'failed'],
};

/** A line is at most this long (the fields' bounds add up to under 2 KB); longer ones are garbage and skipped. */
export const MAX_LINE_BYTES = 4096;

const text = (max: number) => z.string().max(max);
const optional = (max: number) => text(max).nullable().optional();

const entrySchema = z
  .strictObject({
    kind: z.enum(['access', 'alarm', 'admin']),
    what: text(64).min(1),
    result: z.enum(['granted', 'denied', 'raised', 'ok', 'failed']),
    reason: text(64).optional(),
    kiosk: optional(64),
    identityId: optional(128),
    name: optional(200),
    badge: z.string().regex(MASKED_BADGE, 'a badge in the access log must be masked (maskBadge)').nullable().optional(),
    by: optional(128),
    detail: text(500).optional(),
    time: z.number().int().nonnegative().max(8.64e15).optional(),
  })
  .refine((e) => RESULTS_BY_KIND[e.kind].includes(e.result), {
    error: 'result does not fit kind (access: granted|denied, alarm: raised, admin: ok|failed)',
  });

/** The stored line's shape, checked on read (a hand-edited or damaged file is hostile too). */
const storedSchema = z.object({
  t: z.number().int().nonnegative(),
  kind: z.enum(['access', 'alarm', 'admin']),
  what: text(64),
  result: z.enum(['granted', 'denied', 'raised', 'ok', 'failed']),
  reason: text(64).default(''),
  kiosk: text(64).nullable().default(null),
  identityId: text(128).nullable().default(null),
  name: text(200).nullable().default(null),
  badge: z.string().regex(MASKED_BADGE).nullable().default(null),
  by: text(128).nullable().default(null),
  detail: text(500).default(''),
  redacted: z.literal(true).optional(),
});

/**
 * The JSON line for an entry (with its trailing newline), `t` first so readers find the time without parsing the
 * rest. Absent fields are left out. Throws one line naming the first bad field, before anything is written.
 */
export function recordLine(entry: AuditEntry, now: number): { t: number; line: string } {
  const checked = entrySchema.safeParse(entry);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new FacegateError(`access log entry refused: ${issue.path.join('.') || '(entry)'}: ${issue.message}`);
  }
  const { time, ...fields } = checked.data;
  const t = time ?? now;
  const record: Record<string, unknown> = { t };
  for (const [key, value] of Object.entries(fields)) {
    if (value !== null && value !== undefined && value !== '') record[key] = value;
  }
  return { t, line: `${JSON.stringify(record)}\n` };
}

/** Parses one stored line (without its newline); null when it is not a valid record. */
export function parseRecordLine(line: string): AuditRecord | null {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  const checked = storedSchema.safeParse(raw);
  if (!checked.success) return null;
  return { ...checked.data, redacted: checked.data.redacted === true };
}

/** The record's time, read from the line's start without parsing it (`{"t":1717480000000,…`); null if absent. */
export function lineTime(line: string): number | null {
  const m = /^\{"t":(\d{1,16})[,}]/.exec(line);
  return m ? Number(m[1]) : null;
}

/**
 * The same record with the person removed (id, name, badge) and `"redacted":true`, padded with spaces to the
 * original length in bytes so it can overwrite the line in place. Call it only for lines that contain the
 * identity's id: a damaged line (not JSON) is blanked whole, and null means the line is another identity's.
 */
export function redactedLine(line: string, identityId: string): string | null {
  const bytes = Buffer.byteLength(line);
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return ' '.repeat(bytes);
  }
  if (typeof raw !== 'object' || raw === null) return ' '.repeat(bytes);
  const { identityId: id, name: _name, badge: _badge, ...rest } = raw as Record<string, unknown>;
  if (id !== identityId) return null;
  const shorter = JSON.stringify({ ...rest, redacted: true });
  // `,"identityId":"x"` alone is longer than `,"redacted":true`, so the redacted line always fits; spaces are
  // one byte each and JSON whitespace.
  return shorter + ' '.repeat(bytes - Buffer.byteLength(shorter));
}
