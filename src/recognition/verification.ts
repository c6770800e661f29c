/**
 * The exercise's two questions, asked of the face database:
 * `verify` (1:1) — is this the person they claim to be? distance = min over that identity's encodings, match iff
 * distance < threshold. `identify` (1:N, the exercise's `who_is_it`) — who is this? the nearest identity, and
 * "not in the database" when even that one is at or beyond the threshold. Both decide with `isMatch`, so a distance
 * equal to the threshold is a refusal in both (the exercise's verify accepts only `dist < 0.7`).
 * Distances are in the encoder's metric (encoder-traits.ts): Euclidean for dlib-resnet128 and facenet-nn4small2,
 * cosine `1 - cos` for reid-0095 (1:N searches the Euclidean index over unit vectors: 1 - cos = d² / 2).
 */
import type { FaceDb } from '../store/face-db.ts';
import type { Identity } from '../store/schema.ts';
import { FacegateError } from '../util/errors.ts';
import { cosineFromEuclidean, l2Normalise } from './embed/metric.ts';
import { encoderDistance, metricOfEncoder } from './encoder-traits.ts';
import { EncodingIndex } from './matching.ts';

export type IdentityStatus = 'ok' | 'disabled' | 'not-yet-valid' | 'expired';

export function identityStatus(identity: Identity, now: Date = new Date()): IdentityStatus {
  if (!identity.enabled) return 'disabled';
  if (identity.validFrom && now < new Date(identity.validFrom)) return 'not-yet-valid';
  if (identity.validUntil && now > new Date(identity.validUntil)) return 'expired';
  return 'ok';
}

export interface VerifyResult {
  match: boolean;
  identity: string;
  distance: number | null;
  threshold: number;
  encoder: string;
  /** `match`, `no-match`, `unknown-identity`, `disabled`, `expired`, `not-yet-valid`. */
  reason: string;
}

export interface IdentifyResult {
  identity: string | null;
  distance: number | null;
  threshold: number;
  encoder: string;
  /** The nearest other identity, for margin rules; null when the database has one identity or none. */
  runnerUp: { identity: string; distance: number } | null;
}

/** The one decision rule of verify and identify: strictly below the threshold. */
export function isMatch(distance: number, threshold: number): boolean {
  return distance < threshold;
}

function encodingsOf(identity: Identity, encoderId: string): Float32Array[] {
  const own = identity.encodings.filter((e) => e.encoder === encoderId);
  if (own.length === 0 && identity.encodings.length > 0) {
    throw new FacegateError(
      `identity "${identity.id}" was enrolled with encoder "${identity.encodings[0]!.encoder}", not "${encoderId}": re-enroll it with ${encoderId} (facegate enroll --replace ${identity.id} <photos...>)`,
    );
  }
  return own.map((e) => Float32Array.from(e.vector));
}

export function verifyDescriptor(
  db: FaceDb,
  descriptor: Float32Array,
  identityId: string,
  encoderId: string,
  threshold: number,
  now: Date = new Date(),
): VerifyResult {
  const base = { identity: identityId, threshold, encoder: encoderId };
  const identity = db.get(identityId);
  if (!identity) return { ...base, match: false, distance: null, reason: 'unknown-identity' };
  const vectors = encodingsOf(identity, encoderId);
  if (vectors.length === 0) throw new FacegateError(`identity "${identityId}" has no encodings: enroll a face first`);
  const distance = Math.min(...vectors.map((v) => encoderDistance(encoderId, descriptor, v)));
  const status = identityStatus(identity, now);
  if (status !== 'ok') return { ...base, match: false, distance, reason: status };
  const match = isMatch(distance, threshold);
  return { ...base, match, distance, reason: match ? 'match' : 'no-match' };
}

const indexCache = new WeakMap<
  FaceDb,
  { generation: number; encoderId: string; index: EncodingIndex; ids: Set<string> }
>();

/** The packed index of usable (enabled, currently valid) identities, rebuilt only when the database changed. */
function indexFor(db: FaceDb, encoderId: string, dimension: number): EncodingIndex {
  const cached = indexCache.get(db);
  if (cached && cached.generation === db.generation && cached.encoderId === encoderId) return cached.index;
  const rows: { identityId: string; vector: ArrayLike<number> }[] = [];
  const now = new Date();
  // Cosine encoders: unit rows, so the index's Euclidean order is the cosine order (a stored vector is not trusted
  // to be normalised: an imported database could hold any finite numbers).
  const unit = metricOfEncoder(encoderId) === 'cosine';
  for (const identity of db.list()) {
    if (identityStatus(identity, now) !== 'ok') continue;
    for (const e of identity.encodings)
      if (e.encoder === encoderId)
        rows.push({ identityId: identity.id, vector: unit ? l2Normalise(Float32Array.from(e.vector)) : e.vector });
  }
  const index = new EncodingIndex(dimension, rows);
  indexCache.set(db, { generation: db.generation, encoderId, index, ids: new Set(rows.map((r) => r.identityId)) });
  return index;
}

export function identifyDescriptor(
  db: FaceDb,
  descriptor: Float32Array,
  encoderId: string,
  threshold: number,
): IdentifyResult {
  const foreign = db.list().find((i) => i.encodings.length > 0 && !i.encodings.some((e) => e.encoder === encoderId));
  if (foreign && !db.list().some((i) => i.encodings.some((e) => e.encoder === encoderId))) {
    throw new FacegateError(
      `the database holds encodings from encoder "${foreign.encodings[0]!.encoder}", not "${encoderId}": re-enroll everyone with ${encoderId} or use --encoder ${foreign.encodings[0]!.encoder}`,
    );
  }
  const cosine = metricOfEncoder(encoderId) === 'cosine';
  const query = cosine ? l2Normalise(Float32Array.from(descriptor)) : descriptor;
  const nearest = indexFor(db, encoderId, descriptor.length).nearest(query);
  const inMetric = (c: typeof nearest.best) =>
    c && cosine ? { identityId: c.identityId, distance: cosineFromEuclidean(c.distance) } : c;
  const best = inMetric(nearest.best);
  const second = inMetric(nearest.second);
  const runnerUp = second ? { identity: second.identityId, distance: second.distance } : null;
  const base = { threshold, encoder: encoderId, runnerUp };
  if (!best || !isMatch(best.distance, threshold)) return { ...base, identity: null, distance: best?.distance ?? null };
  return { ...base, identity: best.identityId, distance: best.distance };
}
