/**
 * Admin command authentication. A door must not open for whoever can publish, so every command carries `ts`,
 * `nonce` and `sig`, where `sig` covers the canonical JSON (sorted keys, no spaces) of the payload minus `sig`:
 * `hmac-sha256:<hex>` with the site secret, or `ed25519:<base64>` with one of the admin keys. The payload also
 * names its verb (`cmd`) and must name its kiosk (`kiosk`), so a signed `list` cannot be replayed as `delete` and
 * a command for one door cannot be replayed on another.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomUUID,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import type { NonceStore } from './nonce-store.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

type Piece = string | { value: unknown };

/**
 * JSON with object keys sorted at every level: the byte string both sides sign. Iterative (an explicit work stack),
 * so no payload, however deep, can exhaust the call stack: it runs on what a stranger sent before the signature is
 * known to be good.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  const work: Piece[] = [{ value }];
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    if (typeof item === 'string') {
      out.push(item);
      continue;
    }
    const v = item.value;
    if (v === null || typeof v !== 'object') {
      out.push(JSON.stringify(v) ?? 'null');
      continue;
    }
    const pieces: Piece[] = [];
    if (Array.isArray(v)) {
      pieces.push('[');
      v.forEach((element: unknown, i) => {
        if (i > 0) pieces.push(',');
        pieces.push({ value: element === undefined ? null : element });
      });
      pieces.push(']');
    } else {
      const entries = Object.entries(v as Record<string, unknown>)
        .filter(([, e]) => e !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      pieces.push('{');
      entries.forEach(([k, e], i) => {
        pieces.push(`${i > 0 ? ',' : ''}${JSON.stringify(k)}:`, { value: e });
      });
      pieces.push('}');
    }
    for (let i = pieces.length - 1; i >= 0; i -= 1) work.push(pieces[i] as Piece);
  }
  return out.join('');
}

function withoutSig(payload: Record<string, unknown>): Record<string, unknown> {
  const { sig: _sig, ...rest } = payload;
  return rest;
}

export function hmacHex(secret: string, payload: Record<string, unknown>): string {
  return createHmac('sha256', secret)
    .update(canonicalJson(withoutSig(payload)))
    .digest('hex');
}

export type SigningKey = { secret: string } | { privateKey: KeyObject | string };

/**
 * Adds `cmd`, `kiosk`, `ts`, `nonce` (unless given) and `sig` to a command body. `kiosk` is required: a command
 * that names no kiosk is refused everywhere (`"*"` names every kiosk, accepted only where configured).
 */
export function signCommand(
  verb: string,
  body: Record<string, unknown>,
  key: SigningKey,
  opts: { kiosk: string; now?: number },
): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    ...body,
    cmd: verb,
    kiosk: opts.kiosk,
    ts: typeof body.ts === 'number' ? body.ts : (opts.now ?? Date.now()),
    nonce: typeof body.nonce === 'string' ? body.nonce : randomUUID(),
  };
  delete payload.sig;
  return signPayload(payload, key);
}

/** Signs an arbitrary record (commands, fleet envelopes) over its canonical JSON. */
export function signPayload(payload: Record<string, unknown>, key: SigningKey): Record<string, unknown> {
  const rest = withoutSig(payload);
  if ('secret' in key) return { ...rest, sig: `hmac-sha256:${hmacHex(key.secret, rest)}` };
  const privateKey = typeof key.privateKey === 'string' ? createPrivateKey(key.privateKey) : key.privateKey;
  const signature = sign(null, Buffer.from(canonicalJson(rest)), privateKey);
  return { ...rest, sig: `ed25519:${signature.toString('base64')}` };
}

/** Accepts PEM (SPKI) or the 32 raw key bytes in base64. */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) return createPublicKey(trimmed);
  const raw = Buffer.from(trimmed, 'base64');
  if (raw.length !== 32) throw new Error('an Ed25519 public key is 32 bytes (base64) or a PEM block');
  // SPKI DER prefix for Ed25519, so node:crypto can take the raw 32 bytes.
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
  return createPublicKey({ key: der, format: 'der', type: 'spki' });
}

/** The only accepted spellings: lower-case hex of the 32-byte MAC, padded base64 of the 64-byte signature. */
const HMAC_SIG = /^hmac-sha256:([0-9a-f]{64})$/;
const ED25519_SIG = /^ed25519:([A-Za-z0-9+/]{86}==)$/;

/**
 * Checks only the signature (no time or nonce rules): for fleet records, which may be old by design. Exactly one
 * encoding of a signature is accepted — `Buffer.from(hex)` alone takes upper case and stops silently at the first
 * non-hex character, so `sig` strings were malleable.
 */
export function signatureValid(
  payload: Record<string, unknown>,
  secret: string | undefined,
  publicKeys: KeyObject[],
): boolean {
  const sig = payload.sig;
  if (typeof sig !== 'string') return false;
  const rest = withoutSig(payload);
  const hmac = HMAC_SIG.exec(sig);
  if (hmac?.[1]) {
    if (!secret) return false;
    const given = Buffer.from(hmac[1], 'hex');
    const expected = Buffer.from(hmacHex(secret, rest), 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
  const ed = ED25519_SIG.exec(sig);
  if (ed?.[1]) {
    const signature = Buffer.from(ed[1], 'base64');
    // The last character carries 2 bits of the last byte: the other 4 must be zero (canonical base64).
    if (signature.length !== 64 || signature.toString('base64') !== ed[1]) return false;
    const data = Buffer.from(canonicalJson(rest));
    return publicKeys.some((k) => {
      try {
        return verify(null, data, k, signature);
      } catch {
        return false;
      }
    });
  }
  return false;
}

export interface VerifierOptions {
  secret?: string;
  publicKeys: KeyObject[];
  windowMs: number;
  kioskId: string;
  /** Accept commands signed for every kiosk (`"kiosk": "*"`). */
  acceptWildcardKiosk?: boolean;
  nonces: NonceStore;
  now?: () => number;
}

export type VerifyOutcome = { ok: true; signer: string } | { ok: false; reason: string };

/** The one gate every command passes: signature, verb, kiosk, time window, then nonce (recorded only if all else passed). */
export class CommandVerifier {
  private readonly opts: VerifierOptions;

  constructor(opts: VerifierOptions) {
    this.opts = opts;
  }

  get configured(): boolean {
    return Boolean(this.opts.secret) || this.opts.publicKeys.length > 0;
  }

  async verify(verb: string, payload: Record<string, unknown>): Promise<VerifyOutcome> {
    if (!this.configured)
      return { ok: false, reason: 'no admin secret or public key configured: commands are disabled' };
    if (typeof payload.sig !== 'string') return { ok: false, reason: 'unsigned' };
    if (typeof payload.ts !== 'number' || !Number.isFinite(payload.ts)) return { ok: false, reason: 'missing ts' };
    if (typeof payload.nonce !== 'string' || payload.nonce.length < 8 || payload.nonce.length > 128) {
      return { ok: false, reason: 'missing or malformed nonce (8-128 characters)' };
    }
    if (!signatureValid(payload, this.opts.secret, this.opts.publicKeys)) return { ok: false, reason: 'bad signature' };
    if (payload.cmd !== verb)
      return {
        ok: false,
        reason: `signed for verb ${JSON.stringify(String(payload.cmd).slice(0, 40))}, not "${verb}"`,
      };
    const kioskRefused = this.kioskRefused(payload.kiosk);
    if (kioskRefused) return { ok: false, reason: kioskRefused };
    const now = (this.opts.now ?? Date.now)();
    if (Math.abs(now - payload.ts) > this.opts.windowMs)
      return { ok: false, reason: 'expired (ts outside the allowed window)' };
    const fresh = await this.opts.nonces.claim(payload.nonce, payload.ts);
    if (!fresh) return { ok: false, reason: 'replayed (nonce already used)' };
    return { ok: true, signer: payload.sig.startsWith('ed25519:') ? 'ed25519' : 'hmac' };
  }

  private kioskRefused(kiosk: unknown): string | null {
    if (typeof kiosk !== 'string') return 'not bound to a kiosk (no "kiosk" field: sign with --kiosk <id>)';
    if (kiosk === '*')
      return this.opts.acceptWildcardKiosk ? null : 'signed for every kiosk ("*"), which this kiosk does not accept';
    return kiosk === this.opts.kioskId ? null : 'signed for another kiosk';
  }
}
