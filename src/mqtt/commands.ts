/**
 * The admin verbs, run only after the payload passed the verifier. Each returns a result body; none throws for
 * bad input (the module still wraps them, so a bug becomes an error result rather than a dead daemon).
 * Images and captured frames live only in this call's locals: they are gone once encoded.
 */
import type { z } from 'zod';
import { maskBadge } from '../bus/event-bus.ts';
import type { DaemonContext } from '../bus/module.ts';
import type { EnrollSampleResult } from '../recognition/enrollment.ts';
import { decodeImage } from '../runtime/image.ts';
import type { IdentityFields } from '../store/face-db.ts';
import type { Identity } from '../store/schema.ts';
import { errorMessage } from '../util/errors.ts';
import { runRuleCommand } from './rule-commands.ts';
import { type CommandVerb, isRuleVerb, RULE_VERBS } from './topics.ts';
import {
  type Checked,
  checkSchema,
  decodeBase64,
  deleteSchema,
  enrollSchema,
  listSchema,
  reloadSchema,
  statsSchema,
  unlockSchema,
  updateSchema,
} from './validate.ts';

export type CommandResult =
  | ({ ok: true } & Record<string, unknown>)
  | ({ ok: false; error: string } & Record<string, unknown>);

export interface CommandLimits {
  imagesPerEnroll: number;
  imageMaxPixels: number;
  captureSamplesMax: number;
  captureTimeoutMsMax: number;
}

export interface CommandEnv {
  ctx: DaemonContext;
  limits: CommandLimits;
  /** Who signed (for the unlock audit trail). */
  signer: string;
  stats: () => Record<string, unknown>;
}

function fail(error: string, extra: Record<string, unknown> = {}): CommandResult {
  return { ok: false, error, ...extra };
}

function parsed<T>(schema: z.ZodType<T>, payload: unknown): Checked<T> {
  return checkSchema(schema, payload);
}

interface SampleReport {
  index: number;
  accepted: boolean;
  reason: string | null;
}

async function enroll(env: CommandEnv, payload: unknown): Promise<CommandResult> {
  const checked = parsed(enrollSchema, payload);
  if (!checked.ok) return fail(checked.error);
  const req = checked.value;
  const { ctx, limits } = env;
  const existing = ctx.db.get(req.id);
  if (existing && !req.append)
    return fail(`identity "${req.id}" exists: use "update", or "append": true to add samples`);
  for (const badge of req.badges ?? []) {
    const holder = ctx.db.findByBadge(badge);
    if (holder && holder.id !== req.id)
      return fail(`badge ${maskBadge(badge)} already belongs to identity "${holder.id}"`);
  }

  let results: EnrollSampleResult[];
  const reports: SampleReport[] = [];
  if (req.images) {
    if (req.images.length > limits.imagesPerEnroll) return fail(`at most ${limits.imagesPerEnroll} images per enroll`);
    const usable: Uint8Array[] = [];
    const usableIndex: number[] = [];
    for (const [index, text] of req.images.entries()) {
      const bytes = decodeBase64(text, `images[${index}]`);
      if (!bytes.ok) {
        reports.push({ index, accepted: false, reason: `not-an-image: invalid base64` });
        continue;
      }
      try {
        // Refuses image bombs and corrupt files here, before the worker spends time on them.
        await decodeImage(bytes.value, `images[${index}]`, { maxPixels: limits.imageMaxPixels });
      } catch (err) {
        reports.push({
          index,
          accepted: false,
          reason: `not-an-image: ${errorMessage(err).replace(/^images\[\d+\]: /, '')}`,
        });
        continue;
      }
      usable.push(bytes.value);
      usableIndex.push(index);
    }
    results = usable.length > 0 ? await ctx.analyser.enrollImages(usable, 'mqtt:image') : [];
    for (const [i, r] of results.entries())
      reports.push({ index: usableIndex[i] ?? i, accepted: r.accepted, reason: r.reason });
    reports.sort((a, b) => a.index - b.index);
  } else {
    const capture = req.capture ?? { samples: 5, timeoutMs: 15_000 };
    const samples = Math.min(capture.samples, limits.captureSamplesMax);
    const timeoutMs = Math.min(capture.timeoutMs, limits.captureTimeoutMsMax);
    let frames: Awaited<ReturnType<DaemonContext['captureFrames']>>;
    try {
      frames = await ctx.captureFrames(samples, timeoutMs);
    } catch (err) {
      return fail(`capture failed: ${errorMessage(err)}`);
    }
    results = frames.length > 0 ? await ctx.analyser.enrollFrames(frames, 'capture') : [];
    for (const [index, r] of results.entries()) reports.push({ index, accepted: r.accepted, reason: r.reason });
    if (frames.length < samples)
      reports.push({
        index: frames.length,
        accepted: false,
        reason: `timeout: ${frames.length} of ${samples} samples captured`,
      });
  }

  const encodings = results.filter((r) => r.accepted && r.encoding).map((r) => r.encoding!);
  const accepted = encodings.length;
  if (accepted === 0)
    return fail('no sample passed the quality gate; nothing stored', { id: req.id, samples: reports });
  const fields: IdentityFields = existing
    ? // Appending samples changes only what the command names: a disabled identity stays disabled.
      changedFields(existing, {
        ...req,
        badges: req.badges ? [...new Set([...existing.badges, ...req.badges])] : undefined,
      })
    : {
        id: req.id,
        name: req.name ?? req.id,
        badges: req.badges ?? [],
        enabled: req.enabled ?? true,
        ...(req.validFrom ? { validFrom: req.validFrom } : {}),
        ...(req.validUntil ? { validUntil: req.validUntil } : {}),
        ...(req.portraitConsent !== undefined ? { portraitConsent: req.portraitConsent } : {}),
      };
  try {
    await ctx.db.upsert(fields);
    const identity = await ctx.db.addEncodings(req.id, encodings);
    return {
      ok: true,
      id: req.id,
      accepted,
      rejected: reports.length - accepted,
      samples: reports,
      version: identity.version,
    };
  } catch (err) {
    return fail(errorMessage(err), { id: req.id, samples: reports });
  }
}

interface FieldChanges {
  name?: string;
  badges?: string[];
  enabled?: boolean;
  portraitConsent?: boolean;
  /** null clears. */
  validFrom?: string | null;
  validUntil?: string | null;
}

/** The identity's fields with only the given changes applied (update, and enroll with `append`). */
function changedFields(existing: Identity, req: FieldChanges): IdentityFields {
  const { encodings: _e, version: _v, updatedAt: _u, ...current } = existing;
  const fields: IdentityFields = { ...current };
  if (req.name !== undefined) fields.name = req.name;
  if (req.badges !== undefined) fields.badges = req.badges;
  if (req.enabled !== undefined) fields.enabled = req.enabled;
  if (req.portraitConsent !== undefined) fields.portraitConsent = req.portraitConsent;
  if (req.validFrom !== undefined) fields.validFrom = req.validFrom ?? undefined;
  if (req.validUntil !== undefined) fields.validUntil = req.validUntil ?? undefined;
  return fields;
}

async function update(env: CommandEnv, payload: unknown): Promise<CommandResult> {
  const checked = parsed(updateSchema, payload);
  if (!checked.ok) return fail(checked.error);
  const req = checked.value;
  const existing = env.ctx.db.get(req.id);
  if (!existing) return fail(`no identity "${req.id}"`);
  const fields = changedFields(existing, req);
  try {
    const identity = await env.ctx.db.upsert(fields);
    return { ok: true, id: req.id, version: identity.version };
  } catch (err) {
    return fail(errorMessage(err), { id: req.id });
  }
}

async function remove(env: CommandEnv, payload: unknown): Promise<CommandResult> {
  const checked = parsed(deleteSchema, payload);
  if (!checked.ok) return fail(checked.error);
  const { id } = checked.value;
  const existed = await env.ctx.db.remove(id);
  if (!existed) return fail(`no identity "${id}"`, { id });
  // The daemon bridges the database's change to `identitiesChanged`; portrait caches listen for it and purge.
  return {
    ok: true,
    id,
    erased: ['identity', 'badges', 'encodings', 'derived artefacts (identitiesChanged: deleted)'],
  };
}

function list(env: CommandEnv, payload: unknown): CommandResult {
  const checked = parsed(listSchema, payload);
  if (!checked.ok) return fail(checked.error);
  // Badges masked: results travel on topics more people can read than the admin who asked.
  const identities = env.ctx.db.list().map((i) => ({
    id: i.id,
    name: i.name,
    badges: i.badges.map((b) => maskBadge(b)),
    enabled: i.enabled,
    validFrom: i.validFrom ?? null,
    validUntil: i.validUntil ?? null,
    encodings: i.encodings.length,
    version: i.version,
    updatedAt: i.updatedAt,
  }));
  return { ok: true, count: identities.length, identities };
}

function unlock(env: CommandEnv, payload: unknown): CommandResult {
  const checked = parsed(unlockSchema, payload);
  if (!checked.ok) return fail(checked.error);
  env.ctx.bus.emit('unlockRequest', { by: `mqtt:${env.signer}`, reason: checked.value.reason ?? 'remote-unlock' });
  return { ok: true, requested: true };
}

async function reload(env: CommandEnv, payload: unknown): Promise<CommandResult> {
  const checked = parsed(reloadSchema, payload);
  if (!checked.ok) return fail(checked.error);
  try {
    await env.ctx.db.reload();
  } catch (err) {
    return fail(errorMessage(err));
  }
  return { ok: true, identities: env.ctx.db.list().length };
}

function stats(env: CommandEnv, payload: unknown): CommandResult {
  const checked = parsed(statsSchema, payload);
  if (!checked.ok) return fail(checked.error);
  return { ok: true, ...env.stats() };
}

/** Verbs that change the identity set run one at a time; the rest answer at once. */
export const MUTATING_VERBS: ReadonlySet<CommandVerb> = new Set([
  'enroll',
  'update',
  'delete',
  'reload',
  ...RULE_VERBS,
]);

export async function runCommand(verb: CommandVerb, env: CommandEnv, payload: unknown): Promise<CommandResult> {
  if (isRuleVerb(verb)) return runRuleCommand(verb, env.ctx.db, payload);
  switch (verb) {
    case 'enroll':
      return enroll(env, payload);
    case 'update':
      return update(env, payload);
    case 'delete':
      return remove(env, payload);
    case 'list':
      return list(env, payload);
    case 'unlock':
      return unlock(env, payload);
    case 'reload':
      return reload(env, payload);
    case 'stats':
      return stats(env, payload);
  }
}
