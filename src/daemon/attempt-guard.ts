/**
 * The door flow's attempt limits in one place, each raising a `lockout` alarm when it trips:
 * - per badge (`door.lockout`): every badge claim that ends without a grant is one failed attempt;
 * - per kiosk, unknown badges (`door.unknownBadgeLimit`): someone trying numbers. Beyond the rate, every badge claim
 *   (known ones too) is refused with `rate-limited` for the pause. Only unknown badges count, yet the pause shows
 *   nothing on screen: a denial is a denial, so its start cannot tell which number was unknown;
 * - face mode, per face track (`door.faceLockout`) and per kiosk (`door.faceAttemptLimit`).
 * All state is bounded (see lockout.ts). Alarm details are neutral and hold at most a masked badge.
 */
import type { DoorConfig } from '../config/sections/door.ts';
import { identityStatus } from '../recognition/verification.ts';
import type { Identity } from '../store/schema.ts';
import type { EventBus } from './event-bus.ts';
import { FaceTrackLockout } from './face-tracks.ts';
import { AttemptLockout, BadgeLockout } from './lockout.ts';

export type AttemptSettings = Pick<DoorConfig, 'lockout' | 'unknownBadgeLimit' | 'faceLockout' | 'faceAttemptLimit'>;

const KIOSK = 'kiosk';

/** A badge claim as the guard counts it: `refusal` as `badgeRefusal` gave it, `unknown` = no identity holds it. */
export interface BadgeAttempt {
  badge: string;
  refusal: string | null;
  unknown: boolean;
}

function kioskRate(limit: DoorConfig['unknownBadgeLimit']): AttemptLockout<string> {
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

  /** `faceRadius`: faces closer than this are one track (the recognition threshold). */
  constructor(bus: EventBus, settings: AttemptSettings, faceRadius: number) {
    this.bus = bus;
    this.settings = settings;
    this.badges = new BadgeLockout(settings.lockout);
    this.unknownBadges = kioskRate(settings.unknownBadgeLimit);
    this.faces = new FaceTrackLockout(settings.faceLockout, faceRadius);
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
   * locked the badge out, for the screen.
   */
  badgeFailed(attempt: BadgeAttempt, masked: string, now: number): boolean {
    const { badge, refusal } = attempt;
    if (attempt.unknown) {
      const attempts = this.unknownBadges.recordFailure(KIOSK, now);
      if (attempts !== null) {
        const { windowMs, pauseMs } = this.settings.unknownBadgeLimit;
        this.bus.alarm(
          'lockout',
          `${attempts} unknown-badge attempts within ${seconds(windowMs)} s: badge claims refused for ${seconds(pauseMs)} s`,
          { time: now },
        );
      }
    }
    if (refusal === 'locked-out') return false;
    const failures = this.badges.recordFailure(badge, now);
    if (failures === null) return false;
    const { windowMs, lockoutMs } = this.settings.lockout;
    this.bus.alarm(
      'lockout',
      `${failures} failed attempts within ${seconds(windowMs)} s: badge locked out for ${seconds(lockoutMs)} s`,
      { time: now, badge: masked },
    );
    return true;
  }

  badgeGranted(badge: string): void {
    this.badges.recordSuccess(badge);
  }

  /** Face mode: why this face must be refused whatever the match, or null. */
  faceRefusal(descriptor: Float32Array, now: number): string | null {
    if (this.faces.isLockedOut(descriptor, now)) return 'locked-out';
    return this.faceRate.isLockedOut(KIOSK, now) ? 'rate-limited' : null;
  }

  /** Face mode: a claim with refused frames ended without a grant. Returns whether it locked that face out. */
  faceFailed(descriptor: Float32Array, refusal: string, now: number): boolean {
    const attempts = this.faceRate.recordFailure(KIOSK, now);
    if (attempts !== null) {
      const { windowMs, pauseMs } = this.settings.faceAttemptLimit;
      this.bus.alarm(
        'lockout',
        `${attempts} refused face attempts within ${seconds(windowMs)} s: face checks refused for ${seconds(pauseMs)} s`,
        { time: now },
      );
    }
    if (refusal === 'locked-out') return false;
    const failures = this.faces.recordFailure(descriptor, now);
    if (failures === null) return false;
    const { windowMs, lockoutMs } = this.settings.faceLockout;
    this.bus.alarm(
      'lockout',
      `a face refused ${failures} times within ${seconds(windowMs)} s: locked out for ${seconds(lockoutMs)} s`,
      { time: now },
    );
    return true;
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
