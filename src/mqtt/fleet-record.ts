/**
 * The fleet record on the wire, and which of two records for one id wins.
 *
 * Keys: everything is derived (HKDF-SHA256) from the fleet secret (`mqtt.fleet.secret`), never from the admin
 * secret, so a kiosk needs no key that can sign commands. A record's signature is HMAC-SHA256 under its own derived
 * key over a domain string + the canonical JSON, written `fleet-hmac-sha256:<hex>`: a fleet signature never verifies
 * as a command (different prefix, key and message) and a command signature never as a fleet record, even if an
 * admin reused one secret for both. The identity (it carries face encodings) is encrypted with AES-256-GCM under a
 * second derived key, bound to id, kind, epoch and version.
 *
 * Order: the deletion epoch first (a tombstone of epoch e beats every identity of epoch <= e, whatever its version;
 * an identity of epoch e + 1 is a re-enrolment after that deletion), then the version, then the larger content
 * digest, so every kiosk picks the same winner.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { type DbRecord, identitySchema, tombstoneSchema } from '../store/schema.ts';
import { canonicalJson } from './auth.ts';

export const FLEET_SIG_PREFIX = 'fleet-hmac-sha256:';
const SIG_DOMAIN = 'facegate fleet record v2\n';
const ENVELOPE_VERSION = 2;

export interface FleetKeys {
  sign: Buffer;
  encrypt: Buffer;
}

export function fleetKeys(secret: string): FleetKeys {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', secret, 'facegate-fleet', info, 32));
  return { sign: derive('record signature v2'), encrypt: derive('identities aes-256-gcm v2') };
}

export function recordId(record: DbRecord): string {
  return record.kind === 'identity' ? record.identity.id : record.tombstone.id;
}

function bodyOf(record: DbRecord) {
  return record.kind === 'identity' ? record.identity : record.tombstone;
}

export interface RecordRank {
  epoch: number;
  /** 1 for a tombstone: it ends its epoch. */
  ends: 0 | 1;
  version: number;
  digest: string;
}

export function rankOf(record: DbRecord): RecordRank {
  const body = bodyOf(record);
  return {
    epoch: body.epoch,
    ends: record.kind === 'tombstone' ? 1 : 0,
    version: body.version,
    digest: createHash('sha256').update(canonicalJson(body)).digest('hex'),
  };
}

/** >0 when a wins. */
export function compareRanks(a: RecordRank, b: RecordRank): number {
  if (a.epoch !== b.epoch) return a.epoch - b.epoch;
  if (a.ends !== b.ends) return a.ends - b.ends;
  if (a.version !== b.version) return a.version - b.version;
  return a.digest === b.digest ? 0 : a.digest > b.digest ? 1 : -1;
}

export function rankString(r: RecordRank): string {
  return `${r.epoch}:${r.ends ? 'tombstone' : 'identity'}:${r.version}:${r.digest}`;
}

function mac(keys: FleetKeys, unsigned: Record<string, unknown>): Buffer {
  return createHmac('sha256', keys.sign)
    .update(SIG_DOMAIN + canonicalJson(unsigned))
    .digest();
}

/** Adds the fleet signature to an envelope. */
export function signFleet(envelope: Record<string, unknown>, keys: FleetKeys): Record<string, unknown> {
  const { sig: _sig, ...rest } = envelope;
  return { ...rest, sig: `${FLEET_SIG_PREFIX}${mac(keys, rest).toString('hex')}` };
}

export function fleetSignatureValid(envelope: Record<string, unknown>, keys: FleetKeys): boolean {
  const { sig, ...rest } = envelope;
  if (typeof sig !== 'string' || !sig.startsWith(FLEET_SIG_PREFIX)) return false;
  const hex = sig.slice(FLEET_SIG_PREFIX.length);
  if (!/^[0-9a-f]{64}$/.test(hex)) return false;
  return timingSafeEqual(Buffer.from(hex, 'hex'), mac(keys, rest));
}

const aad = (id: string, kind: string, epoch: number, version: number) =>
  Buffer.from(`${id}\n${kind}\n${epoch}\n${version}`);

export function encodeRecord(record: DbRecord, keys: FleetKeys, origin: string): string {
  const body = bodyOf(record);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keys.encrypt, iv);
  cipher.setAAD(aad(body.id, record.kind, body.epoch, body.version));
  const data = Buffer.concat([cipher.update(JSON.stringify(record)), cipher.final(), cipher.getAuthTag()]);
  const envelope = {
    v: ENVELOPE_VERSION,
    id: body.id,
    kind: record.kind,
    epoch: body.epoch,
    version: body.version,
    origin,
    ts: Date.now(),
    iv: iv.toString('base64'),
    data: data.toString('base64'),
  };
  return JSON.stringify(signFleet(envelope, keys));
}

/** Envelope → record, or the reason it is refused (not JSON, bad signature, tampered, inconsistent). */
export function decodeRecord(payload: Buffer, keys: FleetKeys): DbRecord | string {
  let envelope: unknown;
  try {
    envelope = JSON.parse(payload.toString('utf8'));
  } catch {
    return 'not JSON';
  }
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) return 'not an object';
  const e = envelope as Record<string, unknown>;
  if (!fleetSignatureValid(e, keys)) return 'bad signature';
  const { id, kind, epoch, version, iv, data } = e;
  if (
    e.v !== ENVELOPE_VERSION ||
    typeof id !== 'string' ||
    (kind !== 'identity' && kind !== 'tombstone') ||
    typeof epoch !== 'number' ||
    typeof version !== 'number' ||
    typeof iv !== 'string' ||
    typeof data !== 'string'
  )
    return 'malformed envelope';
  let inner: { kind?: unknown; identity?: unknown; tombstone?: unknown };
  try {
    const bytes = Buffer.from(data, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', keys.encrypt, Buffer.from(iv, 'base64'));
    decipher.setAAD(aad(id, kind, epoch, version));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const plain = Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]);
    inner = JSON.parse(plain.toString('utf8')) as typeof inner;
  } catch {
    return 'cannot decrypt';
  }
  const parsed =
    inner.kind === 'identity' && kind === 'identity'
      ? identitySchema.safeParse(inner.identity)
      : inner.kind === 'tombstone' && kind === 'tombstone'
        ? tombstoneSchema.safeParse(inner.tombstone)
        : null;
  if (!parsed?.success) return `invalid ${kind}`;
  const body = parsed.data;
  if (body.id !== id || body.epoch !== epoch || body.version !== version) return `invalid ${kind}`;
  return 'encodings' in body ? { kind: 'identity', identity: body } : { kind: 'tombstone', tombstone: body };
}
