/**
 * Badge lockout: after `maxFailures` denials for one badge within `windowMs`, that badge is refused for
 * `lockoutMs`. Kept apart from the door flow so its counting can be read (and tested) on its own.
 */
export interface LockoutSettings {
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
}

export class BadgeLockout {
  private readonly settings: LockoutSettings;
  /** Per badge: times of recent failures, and until when it is locked out. */
  private readonly failures = new Map<string, number[]>();
  private readonly lockedUntil = new Map<string, number>();

  constructor(settings: LockoutSettings) {
    this.settings = settings;
  }

  /** Records a denial; returns the number of failures that caused a lockout, or null if the badge is not locked. */
  recordFailure(badge: string, now: number): number | null {
    const { maxFailures, windowMs, lockoutMs } = this.settings;
    const recent = (this.failures.get(badge) ?? []).filter((t) => now - t < windowMs);
    recent.push(now);
    if (recent.length < maxFailures) {
      this.failures.set(badge, recent);
      return null;
    }
    this.failures.delete(badge);
    this.lockedUntil.set(badge, now + lockoutMs);
    return recent.length;
  }

  /** A grant forgives earlier failures of that badge. */
  recordSuccess(badge: string): void {
    this.failures.delete(badge);
  }

  isLockedOut(badge: string, now: number): boolean {
    const until = this.lockedUntil.get(badge);
    if (until === undefined) return false;
    if (now < until) return true;
    this.lockedUntil.delete(badge);
    return false;
  }
}
