/**
 * Attempt counting with lockout, in bounded memory: after `maxFailures` failed attempts for one key (a badge, a face
 * track, the whole kiosk) within `windowMs`, that key is refused for `lockoutMs`. Kept apart from the door flow so
 * its counting can be read (and tested) on its own.
 *
 * Bounds, whatever arrives (unbounded maps once kept 234 MB for 1 M distinct badges):
 * - keys with recent failures: at most `maxTracked`, in last-failure order. Expired entries are pruned from the front
 *   on every call; when full, the key that failed longest ago is forgotten. That forgets a count, never a lockout: to
 *   wipe the count of the badge he is attacking, an intruder must fail `maxTracked` other keys after his last try on
 *   it, within `windowMs` (10 000 claims in 5 min with the defaults, far beyond a badge reader and the per-kiosk
 *   unknown-badge limit, which raises an alarm after 10).
 * - locked keys: a separate map of at most `maxLocked` (bigger than `maxTracked` by default), pruned as lockouts end.
 *   A live lockout is never evicted, so flooding other keys cannot lift one. When the map is full of live lockouts
 *   (`maxLocked` × `maxFailures` failures within `lockoutMs`), a new lockout cannot be stored, so every key counts as
 *   locked out until one ends: the door fails secure rather than forget whom it locked out.
 */
import { LRUCache } from 'lru-cache';

export interface LockoutSettings {
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
}

export interface LockoutBounds {
  maxTracked: number;
  maxLocked: number;
}

export class AttemptLockout<K extends {}> {
  private readonly settings: LockoutSettings & LockoutBounds;
  /**
   * Per key, times of failures within the window, least recently failed first. lru-cache, not a Map: dropping a
   * Map's oldest entry again and again left holes its iterators skip, ~10 µs per eviction at 10 000 entries (30 s
   * for a 1 M-badge flood); lru-cache's index lists make it O(1).
   */
  private readonly failures: LRUCache<K, number[]>;
  /** Per key, until when it is locked out; lock order, so also end order (lockoutMs is fixed). */
  private readonly lockedUntil: LRUCache<K, number>;
  private readonly onForget: (key: K) => void;

  /** `onForget` hears of every key that leaves both maps (e.g. to drop what the caller keeps per key). */
  constructor(settings: LockoutSettings & LockoutBounds, onForget: (key: K) => void = () => {}) {
    this.settings = settings;
    this.onForget = onForget;
    // The caps are enforced here (never a live lockout evicted); lru-cache's own `max` is never reached.
    this.failures = new LRUCache<K, number[]>({ max: settings.maxTracked + 1 });
    this.lockedUntil = new LRUCache<K, number>({ max: settings.maxLocked + 1 });
  }

  /** Records a failure; returns the number of failures that caused a lockout, or null if the key is not locked. */
  recordFailure(key: K, now: number): number | null {
    this.prune(now);
    const { maxFailures, windowMs, lockoutMs, maxTracked } = this.settings;
    const recent = (this.failures.peek(key) ?? []).filter((t) => now - t < windowMs);
    recent.push(now);
    if (recent.length < maxFailures || (this.saturated && !this.lockedUntil.has(key))) {
      // Not (or, saturated, not storably) locked: keep counting; everyone is refused while saturated anyway.
      if (!this.failures.has(key))
        for (let old = this.oldest(this.failures); old !== undefined && this.failures.size >= maxTracked; )
          old = this.drop(this.failures, old);
      this.failures.set(key, recent.slice(-maxFailures));
      return recent.length < maxFailures ? null : recent.length;
    }
    // Re-set: to the back of the lock order, with the new end.
    this.lockedUntil.delete(key);
    this.lockedUntil.set(key, now + lockoutMs);
    this.failures.delete(key);
    return recent.length;
  }

  /** A grant forgives earlier failures of that key. */
  recordSuccess(key: K): void {
    this.drop(this.failures, key);
  }

  isLockedOut(key: K, now: number): boolean {
    this.prune(now);
    return this.lockedUntil.has(key) || this.saturated;
  }

  /** The keys locked out now (the face tracks are matched by distance, not by key). */
  lockedKeys(now: number): Generator<K> {
    this.prune(now);
    return this.lockedUntil.keys();
  }

  /** Every key counts as locked out: the lockout map is full of live lockouts. */
  get saturated(): boolean {
    return this.lockedUntil.size >= this.settings.maxLocked;
  }

  /** How many keys are held, for tests and metrics. */
  get sizes(): { tracked: number; locked: number } {
    return { tracked: this.failures.size, locked: this.lockedUntil.size };
  }

  /** Drops expired entries from the old end of both maps: amortised O(1) per call. */
  private prune(now: number): void {
    const { windowMs } = this.settings;
    for (let key = this.oldest(this.failures); key !== undefined; key = this.oldest(this.failures)) {
      if (now - (this.failures.peek(key)?.at(-1) ?? 0) < windowMs) break;
      this.drop(this.failures, key);
    }
    for (let key = this.oldest(this.lockedUntil); key !== undefined; key = this.oldest(this.lockedUntil)) {
      if (now < (this.lockedUntil.peek(key) ?? 0)) break;
      this.drop(this.lockedUntil, key);
    }
  }

  private oldest<V extends {}>(cache: LRUCache<K, V>): K | undefined {
    return cache.rkeys().next().value ?? undefined;
  }

  /** Drops `key` from one map, tells the owner when it is in neither any more; returns the next oldest there. */
  private drop<V extends {}>(cache: LRUCache<K, V>, key: K): K | undefined {
    if (cache.delete(key) && !this.failures.has(key) && !this.lockedUntil.has(key)) this.onForget(key);
    return this.oldest(cache);
  }
}

/** Per-badge lockout: the key is the normalised badge number. */
export class BadgeLockout extends AttemptLockout<string> {}
