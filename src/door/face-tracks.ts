/**
 * Face-mode lockout per face track: face mode has no badge to count failures against, so a face that keeps being
 * refused is followed by its descriptor. A refused face joins the nearest remembered track closer than `radius` (the
 * recognition threshold: "the same person" by the matcher's own rule), or starts a new one; the track follows the
 * face's latest descriptor. After `maxFailures` failed attempts within `windowMs`, any face within `radius` of that
 * track is refused for `lockoutMs`.
 *
 * Memory is bounded by the same rules as badges (see lockout.ts): at most `maxTracked` tracks with recent failures
 * (the longest-quiet forgotten first) and `maxLocked` locked ones (never evicted), one 128-d descriptor each
 * (128-d ~0.6 KB, 256-d ~1.1 KB: 1.8 / 3.3 MB at the default 1 000 + 2 000). Each lookup is a linear scan of those descriptors.
 */
import { euclidean } from '../recognition/matching.ts';
import { AttemptLockout, type LockoutBounds, type LockoutSettings } from './lockout.ts';

/** The distance of the recognition threshold's metric (cosine 1-cos for reid-0095, Euclidean otherwise). */
export type FaceDistance = (a: Float32Array, b: Float32Array) => number;

export class FaceTrackLockout {
  private readonly lockout: AttemptLockout<number>;
  private readonly descriptors = new Map<number, Float32Array>();
  private readonly radius: number;
  private readonly distance: FaceDistance;
  private nextId = 1;

  constructor(settings: LockoutSettings & LockoutBounds, radius: number, distance: FaceDistance = euclidean) {
    this.radius = radius;
    this.distance = distance;
    this.lockout = new AttemptLockout<number>(settings, (id) => this.descriptors.delete(id));
  }

  /** Records a failed attempt of this face; returns the failures that caused a lockout, or null. */
  recordFailure(descriptor: Float32Array, now: number): number | null {
    const id = this.nearest(this.descriptors.keys(), descriptor) ?? this.nextId++;
    this.descriptors.set(id, Float32Array.from(descriptor));
    return this.lockout.recordFailure(id, now);
  }

  /** A grant forgives the failures of the track this face belongs to. */
  recordSuccess(descriptor: Float32Array): void {
    const id = this.nearest(this.descriptors.keys(), descriptor);
    if (id !== null) this.lockout.recordSuccess(id);
  }

  isLockedOut(descriptor: Float32Array, now: number): boolean {
    // lockedKeys() prunes ended lockouts first, so `saturated` is current.
    return this.nearest(this.lockout.lockedKeys(now), descriptor) !== null || this.lockout.saturated;
  }

  get sizes(): { tracked: number; locked: number; descriptors: number } {
    return { ...this.lockout.sizes, descriptors: this.descriptors.size };
  }

  /** The nearest of these tracks within `radius` of the face, or null. */
  private nearest(ids: Iterable<number>, descriptor: Float32Array): number | null {
    let best: number | null = null;
    let bestDistance = this.radius;
    for (const id of ids) {
      const known = this.descriptors.get(id);
      if (!known) continue;
      const distance = this.distance(known, descriptor);
      if (distance < bestDistance) {
        best = id;
        bestDistance = distance;
      }
    }
    return best;
  }
}
