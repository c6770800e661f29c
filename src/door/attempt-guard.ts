/**
 * The door flow's attempt limits in one place, each raising a `lockout` alarm when it trips:
 * - per badge (`door.lockout`): every badge claim that ends without a grant is one failed attempt;
 * - per kiosk, unknown badges (`door.unknownBadgeLimit`): someone trying numbers. Beyond the rate, every badge claim
 *   (known ones too) is refused with `rate-limited` for the pause. Only unknown badges count, yet the pause shows
 *   nothing on screen: a denial is a denial, so its start cannot tell which number was unknown;
 * - face mode, per face track (`door.faceLockout`) and per kiosk (`door.faceAttemptLimit`).
 * All state is bounded (see lockout.ts). Alarm details are neutral and hold at most a masked badge.
 */

import type { EventBus } from '../bus/event-bus.ts';
import type { DoorConfig, RateLimitConfig } from '../config/sections/door.ts';
import { identityStatus } from '../recognition/verification.ts';
import type { Identity } from '../store/schema.ts';
import { type FaceDistance, FaceTrackLockout } from './face-tracks.ts';
import { AttemptLockout, BadgeLockout } from './lockout.ts';

export type AttemptSettings = Pick<DoorConfig, 'lockout' | 'unknownBadgeLimit' | 'faceLockout' | 'faceAttemptLimit'>;

const KIOSK = 'kiosk';

/** A badge claim as the guard counts it: `refusal` as `badgeRefusal` gave it, `unknown` = no identity holds it. */
export interface BadgeAttempt {
  badge: string;
  refusal: string | null;
  unknown: boolean;
}

function kioskRate(limit: RateLimitConfig): AttemptLockout<string> {
  // One key: the failures list holds at most maxAttempts times, the lockout map one entry.
  return new AttemptLockout<string>({
    maxFailures: limit.maxAttempts,
    windowMs: limit.windowMs,
    lockoutMs: limit.pauseMs,
    maxTracked: 1,
    maxLocked: 1,
  });
}

const seconds = (ms: number) => Math.round(ms / 1000);

export class AttemptGuard {
  private readonly settings: AttemptSettings;
  private readonly bus: EventBus;
  private readonly badges: BadgeLockout;
  private readonly unknownBadges: AttemptLockout<string>;
  private readonly faces: FaceTrackLockout;
  private readonly faceRate: AttemptLockout<string>;

  /**
   * `faceRadius`: faces closer than this are one track (the recognition threshold), measured with `faceDistance`
   * (the encoder's metric; Euclidean when omitted).
   */
  constructor(bus: EventBus, settings: AttemptSettings, faceRadius: number, faceDistance?: FaceDistance) {
    this.bus = bus;
    this.settings = settings;
    this.badges = new BadgeLockout(settings.lockout);
    this.unknownBadges = kioskRate(settings.unknownBadgeLimit);
    this.faces = new FaceTrackLockout(settings.faceLockout, faceRadius, faceDistance);
    this.faceRate = kioskRate(settings.faceAttemptLimit);
  }

  /** Why a claim with this badge must be refused whatever the face, or null: the face step decides. */
  badgeRefusal(badge: string, identity: Identity | null, now: number): string | null {
    if (this.badges.isLockedOut(badge, now)) return 'locked-out';
    if (identity === null) return 'unknown-badge';
    const status = identityStatus(identity, new Date(now));
    if (status !== 'ok') return status;
    return this.unknownBadges.isLockedOut(KIOSK, now) ? 'rate-limited' : null;
  }

  /**
   * A badge claim ended without a grant: one failed attempt for that badge (not counted while it is locked out,
   * so a lockout runs its course), and one for the kiosk when the badge is unknown. Returns whether this attempt
   * locked the badge out, for the screen. Claims refused `rate-limited` still count per badge: if the pause
   * stopped that count, a lockout notice that failed to appear would date the pause, i.e. the unknown-badge count.
   */
  badgeFailed(attempt: BadgeAttempt, masked: string, now: number): boolean {
    if (attempt.unknown) this.kioskFailed(this.unknownBadges, this.settings.unknownBadgeLimit, 'unknown-badge', now);
    if (attempt.refusal === 'locked-out') return false;
    const { windowMs, lockoutMs } = this.settings.lockout;
    return this.failed(this.badges, attempt.badge, now, masked, (n) => {
      return `${n} failed attempts within ${seconds(windowMs)} s: badge locked out for ${seconds(lockoutMs)} s`;
    });
  }

  badgeGranted(badge: string): void {
    this.badges.recordSuccess(badge);
  }

  /** Face mode: why this face must be refused whatever the match, or null. */
  faceRefusal(descriptor: Float32Array, now: number): string | null {
    if (this.faces.isLockedOut(descriptor, now)) return 'locked-out';
    return this.faceRate.isLockedOut(KIOSK, now) ? 'rate-limited' : null;
  }

  /**
   * Face mode: a claim with refused frames ended without a grant. Counted for the kiosk, and for the face's track
   * unless it was refused for a lockout or pause already running. Returns whether it locked that face out.
   */
  faceFailed(descriptor: Float32Array, refusal: string, now: number): boolean {
    this.kioskFailed(this.faceRate, this.settings.faceAttemptLimit, 'refused face', now);
    if (refusal === 'locked-out' || refusal === 'rate-limited') return false;
    const { windowMs, lockoutMs } = this.settings.faceLockout;
    return this.failed(this.faces, descriptor, now, undefined, (n) => {
      return `a face refused ${n} times within ${seconds(windowMs)} s: locked out for ${seconds(lockoutMs)} s`;
    });
  }

  /** One failure of `key`; when it locks the key out, a `lockout` alarm with `detail(failures)`. */
  private failed<K>(
    lockout: { recordFailure(key: K, now: number): number | null },
    key: K,
    now: number,
    badge: string | undefined,
    detail: (failures: number) => string,
  ): boolean {
    const failures = lockout.recordFailure(key, now);
    if (failures === null) return false;
    this.bus.alarm('lockout', detail(failures), badge === undefined ? { time: now } : { time: now, badge });
    return true;
  }

  /** One attempt against a per-kiosk rate; none while its pause runs, so at most one alarm per window + pause. */
  private kioskFailed(rate: AttemptLockout<string>, limit: RateLimitConfig, what: string, now: number): void {
    if (rate.isLockedOut(KIOSK, now)) return;
    const { windowMs, pauseMs } = limit;
    this.failed(rate, KIOSK, now, undefined, (n) => {
      return `${n} ${what} attempts within ${seconds(windowMs)} s: refused for ${seconds(pauseMs)} s`;
    });
  }

  faceGranted(descriptor: Float32Array): void {
    this.faces.recordSuccess(descriptor);
  }

  /** How much state is held, for tests and metrics: each stays at its configured cap whatever arrives. */
  get sizes() {
    return {
      badges: this.badges.sizes,
      unknownBadges: this.unknownBadges.sizes,
      faces: this.faces.sizes,
      faceRate: this.faceRate.sizes,
    };
  }
}
