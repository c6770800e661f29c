/**
 * Every subscribed payload passes through here before anything acts on it: size, a linear scan (depth, item count,
 * duplicate keys), UTF-8, JSON, then a zod schema per verb. Each failure is one line for the error result; nothing
 * here throws.
 */
import { z } from 'zod';

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

export interface PayloadLimits {
  maxBytes: number;
  maxDepth: number;
  /** Object members plus array elements over the whole payload (commas and opening brackets, counted). */
  maxItems: number;
}

export type Scanned = { ok: true } | { ok: false; error: string };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * One linear pass over the raw bytes before anything is decoded or parsed, with no recursion (a stack of the open
 * containers): nesting depth, the number of items, and duplicate object keys. Items are what makes JSON.parse
 * expensive — 12 MB of `"k1":1,"k2":1,...` held the main thread 2.4 s, 12 MB of `[[[[...` on the fleet topic
 * 8.2 s, while 12 MB inside one string parses in milliseconds. Duplicate keys matter because JSON.parse keeps the
 * last one silently, so a signed payload could be read two ways. Strings are skipped with Buffer.indexOf (memchr).
 * JSON syntax itself is left to JSON.parse; this only refuses what would make it costly or ambiguous.
 */
export function scanJson(payload: Uint8Array, limits: Omit<PayloadLimits, 'maxBytes'>): Scanned {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  /** One entry per open container: the keys seen so far for an object, null for an array. */
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  let items = 0;
  for (let i = 0; i < bytes.length; i += 1) {
    const c = bytes[i];
    if (c === QUOTE) {
      let end = bytes.indexOf(QUOTE, i + 1);
      for (;;) {
        if (end < 0) return { ok: false, error: 'payload is not JSON (unterminated string)' };
        let backslashes = 0;
        while (bytes[end - 1 - backslashes] === BACKSLASH) backslashes += 1;
        if (backslashes % 2 === 0) break;
        end = bytes.indexOf(QUOTE, end + 1);
      }
      const keys = expectKey ? stack[stack.length - 1] : null;
      if (keys) {
        const key = decodeKey(bytes, i, end);
        if (key === null) return { ok: false, error: 'payload is not JSON (bad object key)' };
        if (keys.has(key)) return { ok: false, error: `duplicate key "${key.slice(0, 40)}"` };
        keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (stack.length >= limits.maxDepth)
        return { ok: false, error: `JSON nested deeper than the limit of ${limits.maxDepth}` };
      const keys = c === OPEN_OBJECT ? new Set<string>() : null;
      stack.push(keys);
      expectKey = keys !== null;
      items += 1;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop();
      expectKey = false;
    } else if (c === COMMA) {
      items += 1;
      expectKey = stack.length > 0 && stack[stack.length - 1] !== null;
    } else continue;
    if (items > limits.maxItems) return { ok: false, error: `JSON has more than ${limits.maxItems} items` };
  }
  return { ok: true };
}

/** The key between the quotes at `start` and `end`, with escapes resolved (`"\u0061"` and `"a"` are one key). */
function decodeKey(bytes: Buffer, start: number, end: number): string | null {
  // A view, so the search stops at the key's end instead of running on through the payload.
  if (bytes.subarray(start + 1, end).indexOf(BACKSLASH) < 0) return bytes.toString('utf8', start + 1, end);
  try {
    const key: unknown = JSON.parse(bytes.toString('utf8', start, end + 1));
    return typeof key === 'string' ? key : null;
  } catch {
    return null;
  }
}

/** Bytes → a JSON object (not array or scalar), within the limits. */
export function parseJsonObject(payload: Uint8Array, limits: PayloadLimits): Checked<Record<string, unknown>> {
  if (payload.length === 0) return { ok: false, error: 'empty payload' };
  if (payload.length > limits.maxBytes) {
    return { ok: false, error: `payload is ${payload.length} bytes, over the ${limits.maxBytes} byte limit` };
  }
  const scanned = scanJson(payload, limits);
  if (!scanned.ok) return scanned;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return { ok: false, error: 'payload is not UTF-8 text' };
  }
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
export const envelope = {
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
    /** New identity: default none. Appending: added to the existing ones when given. */
    badges: badges.optional(),
    /** New identity: default true. Appending: unchanged unless given. */
    enabled: z.boolean().optional(),
    validFrom: isoDate.optional(),
    validUntil: isoDate.optional(),
    portraitConsent: z.boolean().optional(),
    images: z.array(z.string()).min(1).optional(),
    capture: z
      .object({ samples: z.number().int().positive(), timeoutMs: z.number().int().positive() })
      .strict()
      .optional(),
    /** Add samples to an existing identity instead of refusing; only the fields the command names change. */
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
