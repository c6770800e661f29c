/**
 * Distance metrics between face descriptors. The face-api and FaceNet encoders compare raw Euclidean distance;
 * reid-0095 compares cosine distance `1 - cos`. For L2-normalised vectors the two rank identically
 * (1 - cos = ‖a - b‖² / 2), so a Euclidean nearest-neighbour index can serve a cosine encoder: convert with
 * `cosineFromEuclidean`.
 */
import type { DistanceMetric, FaceEncoder } from '../encoder.ts';

export function cosineDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`descriptor length mismatch: ${a.length} vs ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  const denom = Math.sqrt(na * nb);
  return denom > 0 ? 1 - dot / denom : 1;
}

/** 1 - cos for unit vectors whose Euclidean distance is `d`. */
export function cosineFromEuclidean(d: number): number {
  return (d * d) / 2;
}

/** The metric an encoder's distances and threshold use (encoders that do not say are Euclidean). */
export function encoderMetric(encoder: Pick<FaceEncoder, 'metric'>): DistanceMetric {
  return encoder.metric ?? 'euclidean';
}

/** Scales an L2 norm to 1 in place; a zero vector stays zero. */
export function l2Normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
  for (let i = 0; i < v.length; i++) v[i] = v[i]! * inv;
  return v;
}
