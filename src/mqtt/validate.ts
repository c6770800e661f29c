/**
 * Every subscribed payload passes through here before anything acts on it: size, JSON, nesting depth, then a
 * zod schema per verb. Each failure is one line for the error result; nothing here throws.
 */
import { z } from 'zod';

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Deepest array/object nesting, scanning the text (strings skipped) so a hostile `[[[[...` is refused before
 * JSON.parse builds it.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth -= 1;
  }
  return max;
}

export interface PayloadLimits {
  maxBytes: number;
  maxDepth: number;
}

/** Bytes → a JSON object (not array or scalar), within the limits. */
export function parseJsonObject(payload: Uint8Array, limits: PayloadLimits): Checked<Record<string, unknown>> {
  if (payload.length === 0) return { ok: false, error: 'empty payload' };
  if (payload.length > limits.maxBytes) {
    return { ok: false, error: `payload is ${payload.length} bytes, over the ${limits.maxBytes} byte limit` };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return { ok: false, error: 'payload is not UTF-8 text' };
  }
  const depth = jsonDepth(text);
  if (depth > limits.maxDepth)
    return { ok: false, error: `JSON nested ${depth} deep, over the limit of ${limits.maxDepth}` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'payload is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, error: 'payload must be a JSON object' };
  return { ok: true, value: value as Record<string, unknown> };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 (standard alphabet, optional `data:...;base64,` prefix): Buffer.from alone accepts garbage. */
export function decodeBase64(text: string, label: string): Checked<Uint8Array> {
  const body = text.startsWith('data:') ? text.slice(text.indexOf(',') + 1) : text;
  const compact = body.replace(/\s+/g, '');
  if (compact.length === 0) return { ok: false, error: `${label}: empty` };
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) return { ok: false, error: `${label}: invalid base64` };
  return { ok: true, value: new Uint8Array(Buffer.from(compact, 'base64')) };
}

const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a date (ISO 8601 expected)');
const identityId = z.string().min(1).max(128);
const badges = z.array(z.string().trim().min(1).max(64)).max(16);

/** Fields every signed command carries; checked by the verifier, listed so `.strict()` schemas accept them. */
const envelope = {
  cmd: z.string(),
  ts: z.number(),
  nonce: z.string(),
  sig: z.string(),
  kiosk: z.string().optional(),
  /** Echoed in the result so a client can match it when MQTT 5 correlation data is not available. */
  requestId: z.string().max(128).optional(),
};

export const enrollSchema = z
  .object({
    ...envelope,
    id: identityId,
    name: z.string().max(200).optional(),
    badges: badges.default([]),
    enabled: z.boolean().default(true),
    validFrom: isoDate.optional(),
    validUntil: isoDate.optional(),
    portraitConsent: z.boolean().optional(),
    images: z.array(z.string()).min(1).optional(),
    capture: z
      .object({ samples: z.number().int().positive(), timeoutMs: z.number().int().positive() })
      .strict()
      .optional(),
    /** Add samples to an existing identity instead of refusing. */
    append: z.boolean().default(false),
  })
  .strict()
  .refine((v) => (v.images ? 1 : 0) + (v.capture ? 1 : 0) === 1, 'give exactly one of "images" or "capture"');

export const updateSchema = z
  .object({
    ...envelope,
    id: identityId,
    name: z.string().max(200).optional(),
    badges: badges.optional(),
    enabled: z.boolean().optional(),
    validFrom: isoDate.nullable().optional(),
    validUntil: isoDate.nullable().optional(),
    portraitConsent: z.boolean().optional(),
  })
  .strict();

export const deleteSchema = z.object({ ...envelope, id: identityId }).strict();
export const listSchema = z.object({ ...envelope }).strict();
export const unlockSchema = z.object({ ...envelope, reason: z.string().max(200).optional() }).strict();
export const reloadSchema = z.object({ ...envelope }).strict();
export const statsSchema = z.object({ ...envelope }).strict();

export const badgeSchema = z
  .object({
    badge: z.string().trim().min(1).max(64),
    ts: z.number().optional(),
    nonce: z.string().optional(),
    sig: z.string().optional(),
    cmd: z.string().optional(),
    kiosk: z.string().optional(),
  })
  .strict();

/** zod error → one line naming the fields. */
export function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 4)
    .map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`)
    .join('; ');
}

export function checkSchema<T>(schema: z.ZodType<T>, value: unknown): Checked<T> {
  const parsed = schema.safeParse(value);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: describeIssues(parsed.error) };
}
