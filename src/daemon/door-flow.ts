/**
 * The door flow: who may open the door, decided from badge reads and analysed camera frames.
 *
 *   IDLE ──face seen──▶ FACE_PRESENT            (no claim yet: in badge+face mode the display asks for a badge)
 *   IDLE/FACE_PRESENT ──badge read / face──▶ VERIFYING   (a claim is being checked, frame after frame)
 *   VERIFYING ──K agreeing frames──▶ GRANTED ─┐
 *   VERIFYING ──K refusing frames, window over, bad badge──▶ DENIED ─┴─▶ COOLDOWN ──cooldownMs──▶ IDLE
 *
 * Modes:
 * - `badge+face` (default): a badge read opens a window (`badgeWindowMs`) in which the face must verify 1:1 against
 *   the identity holding that badge. K consecutive matching frames grant; K consecutive non-matching frames, or the
 *   window closing, deny.
 * - `face`: 1:N identification. The best identity must be under the threshold AND beat the runner-up by
 *   `identifyMargin`, on K consecutive frames, to grant.
 * - `badge`: the badge alone opens the door; only when explicitly configured.
 *
 * A frame only counts when its largest face is at least `minFacePx` wide and high; a frame without one breaks the
 * streak. Unknown badges, disabled identities and identities outside their validity are denied with that reason.
 * After `lockout.maxFailures` denials for one badge within `lockout.windowMs`, the badge is refused (`locked-out`)
 * for `lockout.lockoutMs` and a `lockout` alarm is raised.
 *
 * Every decision is one `access` event on the bus and one `"event":"access"` log line. Neither ever holds a face
 * vector, an image or a full badge number. Time comes from an injectable clock so tests need no real waiting.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { DoorConfig } from '../config/sections/door.ts';
import { euclidean } from '../recognition/matching.ts';
import { identifyDescriptor, identityStatus, verifyDescriptor } from '../recognition/verification.ts';
import type { FaceDb } from '../store/face-db.ts';
import type { Identity } from '../store/schema.ts';
import { type Clock, systemClock } from '../util/clock.ts';
import { errorMessage } from '../util/errors.ts';
import { type AccessEvent, type AccessMode, type EventBus, type FlowState, maskBadge } from './event-bus.ts';
import { BadgeLockout } from './lockout.ts';
import type { DaemonModule, FrameAnalysis } from './module.ts';

export { type Clock, systemClock } from '../util/clock.ts';

/** What the flow needs of the door lock (the DoorLock class fits). */
export interface DoorOpener {
  pulse(reason: string): unknown;
}

export type DoorFlowSettings = Pick<
  DoorConfig,
  'mode' | 'badgeWindowMs' | 'consecutiveFrames' | 'minFacePx' | 'identifyMargin' | 'cooldownMs' | 'lockout'
>;

export interface DoorFlowOptions {
  bus: EventBus;
  db: FaceDb;
  door: DoorOpener;
  logger: Logger;
  settings: DoorFlowSettings;
  encoderId: string;
  threshold: number;
  /** Put full badge numbers in events and logs (config `badge.logFull`). */
  logFullBadge?: boolean;
  clock?: Clock;
}

/** The claim being checked: in badge+face mode the badge and its holder, in face mode just the streak. */
interface Claim {
  badge: string | null;
  identity: Identity | null;
  openedAt: number;
  deadline: number | null;
  timer: unknown;
  /** Consecutive frames agreeing on `streakIdentityId` (match) or refusing (mismatch). */
  streakIdentityId: string | null;
  matchStreak: number;
  mismatchStreak: number;
  /** The last frame that counted, for the decision's distance and latency. */
  lastDistance: number | null;
  lastCapturedAt: number | null;
  /** Face mode: the last face counted, to tell the decided person from a new one afterwards. */
  lastDescriptor: Float32Array | null;
  lastRefusal: string;
  sawFace: boolean;
}

interface Decision {
  decision: 'granted' | 'denied';
  reason: string;
  badge: string | null;
  identity: Identity | null;
  distance: number | null;
  capturedAt: number | null;
}

export class DoorFlow implements DaemonModule {
  readonly name = 'door-flow';
  private readonly opts: DoorFlowOptions;
  private readonly clock: Clock;
  private readonly mode: AccessMode;
  private current: FlowState = 'IDLE';
  private claim: Claim | null = null;
  private facePresent = false;
  private cooldownTimer: unknown = null;
  private readonly lockout: BadgeLockout;
  /** Face mode: the face a decision was made on; nothing more is decided until it leaves or someone else appears. */
  private decidedFace: Float32Array | null = null;
  private unsubscribers: Array<() => void> = [];

  constructor(opts: DoorFlowOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.mode = opts.settings.mode;
    this.lockout = new BadgeLockout(opts.settings.lockout);
  }

  get state(): FlowState {
    return this.current;
  }

  async start(): Promise<void> {
    const { bus } = this.opts;
    this.unsubscribers = [
      bus.on('badgeRead', ({ badge, source }) => this.onBadge(badge, source)),
      bus.on('unlockRequest', ({ by, reason }) => this.onUnlockRequest(by, reason)),
    ];
    this.setState('IDLE', {}, true);
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribers) off();
    this.unsubscribers = [];
    this.closeClaim();
    this.endCooldown();
  }

  // ── Inputs ────────────────────────────────────────────────────────────────────────────────────────────────

  onBadge(badge: string, source: string): void {
    if (this.mode === 'face') {
      this.opts.logger.debug({ event: 'badge', badge: this.badgeForLog(badge), source }, 'badge ignored in face mode');
      return;
    }
    const now = this.clock.now();
    // A new badge replaces any open window: the previous person walked away or someone else is trying.
    this.closeClaim();
    const identity = this.opts.db.findByBadge(badge) ?? null;
    const refusal = this.lockout.isLockedOut(badge, now)
      ? 'locked-out'
      : identity === null
        ? 'unknown-badge'
        : identityStatus(identity, new Date(now));
    if (refusal !== 'ok' || identity === null) {
      this.decide({ ...this.noFrame(badge, identity), decision: 'denied', reason: refusal });
      return;
    }
    if (this.mode === 'badge') {
      this.decide({ ...this.noFrame(badge, identity), decision: 'granted', reason: 'badge' });
      return;
    }

    const deadline = now + this.opts.settings.badgeWindowMs;
    const timer = this.clock.setTimeout(() => this.onWindowClosed(), this.opts.settings.badgeWindowMs);
    this.claim = this.newClaim(badge, identity, now, deadline, timer);
    // The next person may badge while the previous decision is still cooling down.
    this.endCooldown();
    this.setState('VERIFYING', { deadline }, true);
  }

  /** One analysed frame from the inference worker (null results, i.e. dropped frames, never get here). */
  onFrameAnalysis(analysis: FrameAnalysis): void {
    const face = analysis.faces[0];
    this.updatePresence(face !== undefined);
    if (this.current === 'GRANTED' || this.current === 'DENIED' || this.current === 'COOLDOWN') return;
    if (this.mode === 'badge') return;
    const bigEnough = face !== undefined && Math.min(face.box.width, face.box.height) >= this.opts.settings.minFacePx;

    if (this.mode === 'badge+face') {
      const claim = this.claim;
      if (!claim) {
        this.setState(face ? 'FACE_PRESENT' : 'IDLE');
        return;
      }
      // The face must be in front of the camera after the badge was read, not in a frame queued before it.
      if (analysis.capturedAt < claim.openedAt) return;
      if (!bigEnough) {
        this.breakStreak(claim);
        return;
      }
      this.verifyFrame(claim, face.descriptor, analysis.capturedAt);
      return;
    }

    // face mode: a big-enough face starts a claim (the streak); a frame without one ends it. After a decision the
    // decided face must leave the camera (or a different face appear) before the next claim, so someone standing at
    // the door is not decided again after every cooldown (the door re-opened, a denial repeated).
    if (this.decidedFace && (!face || euclidean(face.descriptor, this.decidedFace) >= this.opts.threshold))
      this.decidedFace = null;
    if (!bigEnough) {
      this.closeClaim();
      this.setState(face ? 'FACE_PRESENT' : 'IDLE');
      return;
    }
    if (!this.claim) {
      if (this.decidedFace) {
        this.setState('FACE_PRESENT');
        return;
      }
      this.claim = this.newClaim(null, null, this.clock.now(), null, null);
      this.setState('VERIFYING');
    }
    this.identifyFrame(this.claim, face.descriptor, analysis.capturedAt);
  }

  onUnlockRequest(by: string, reason: string): void {
    this.opts.logger.info({ event: 'unlock-request', by, reason }, 'remote unlock');
    this.decide({
      decision: 'granted',
      reason: 'remote-unlock',
      badge: null,
      identity: null,
      distance: null,
      capturedAt: null,
    });
  }

  // ── Matching, frame by frame ─────────────────────────────────────────────────────────────────────────────

  private verifyFrame(claim: Claim, descriptor: Float32Array, capturedAt: number): void {
    const { db, encoderId, threshold } = this.opts;
    const identityId = claim.identity?.id;
    if (identityId === undefined) return;
    let result: ReturnType<typeof verifyDescriptor>;
    try {
      result = verifyDescriptor(db, descriptor, identityId, encoderId, threshold, new Date(this.clock.now()));
    } catch (err) {
      // No encodings for this encoder: the badge holder cannot be verified by face at all.
      this.opts.logger.warn(
        { event: 'verify-error', identityId: identityId, error: errorMessage(err) },
        'cannot verify',
      );
      this.decide({ ...this.fromClaim(claim), decision: 'denied', reason: 'not-enrolled', capturedAt });
      return;
    }
    claim.sawFace = true;
    claim.lastDistance = result.distance;
    claim.lastCapturedAt = capturedAt;
    if (result.match) {
      this.countMatch(claim, identityId);
    } else if (result.reason !== 'no-match') {
      // Disabled or expired since the badge was read: refuse at once with that reason.
      this.decide({ ...this.fromClaim(claim), decision: 'denied', reason: result.reason });
      return;
    } else {
      this.countMismatch(claim, 'no-match');
    }
    this.settle(claim);
  }

  private identifyFrame(claim: Claim, descriptor: Float32Array, capturedAt: number): void {
    claim.lastDescriptor = descriptor;
    const { db, encoderId, threshold, settings } = this.opts;
    claim.sawFace = true;
    claim.lastCapturedAt = capturedAt;
    let result: ReturnType<typeof identifyDescriptor>;
    try {
      result = identifyDescriptor(db, descriptor, encoderId, threshold);
    } catch (err) {
      this.opts.logger.warn({ event: 'identify-error', error: errorMessage(err) }, 'cannot identify');
      claim.lastDistance = null;
      this.countMismatch(claim, 'no-match');
      this.settle(claim);
      return;
    }
    claim.lastDistance = result.distance;
    if (result.identity === null) {
      this.countMismatch(claim, 'no-match');
    } else if (
      result.runnerUp &&
      result.distance !== null &&
      result.runnerUp.distance - result.distance < settings.identifyMargin
    ) {
      // Two people about equally close: guessing between them would open the door for the wrong one.
      this.countMismatch(claim, 'ambiguous');
    } else {
      claim.identity = db.get(result.identity) ?? null;
      this.countMatch(claim, result.identity);
    }
    this.settle(claim);
  }

  private countMatch(claim: Claim, identityId: string): void {
    claim.matchStreak = claim.streakIdentityId === identityId ? claim.matchStreak + 1 : 1;
    claim.streakIdentityId = identityId;
    claim.mismatchStreak = 0;
  }

  private countMismatch(claim: Claim, reason: string): void {
    claim.mismatchStreak += 1;
    claim.matchStreak = 0;
    claim.streakIdentityId = null;
    claim.lastRefusal = reason;
  }

  /** A frame without a usable face: "consecutive" starts over. */
  private breakStreak(claim: Claim): void {
    claim.matchStreak = 0;
    claim.mismatchStreak = 0;
    claim.streakIdentityId = null;
  }

  /** K agreeing frames decide; fewer keep the claim open. */
  private settle(claim: Claim): void {
    const k = this.opts.settings.consecutiveFrames;
    if (claim.matchStreak >= k) {
      this.decide({ ...this.fromClaim(claim), decision: 'granted', reason: 'match' });
    } else if (claim.mismatchStreak >= k) {
      this.decide({ ...this.fromClaim(claim), decision: 'denied', reason: claim.lastRefusal });
    }
  }

  private onWindowClosed(): void {
    const claim = this.claim;
    if (!claim) return;
    claim.timer = null;
    // Latency is meaningless here: no frame made this decision, the clock did.
    this.decide({
      ...this.fromClaim(claim),
      decision: 'denied',
      reason: claim.sawFace ? 'no-match' : 'timeout',
      capturedAt: null,
    });
  }

  // ── Decisions ────────────────────────────────────────────────────────────────────────────────────────────

  private decide(d: Decision): void {
    const { bus, logger, settings } = this.opts;
    if (this.mode === 'face' && d.capturedAt !== null) this.decidedFace = this.claim?.lastDescriptor ?? null;
    this.closeClaim();
    const now = this.clock.now();
    if (d.badge !== null && d.decision === 'denied' && d.reason !== 'locked-out') this.recordFailure(d.badge, now);
    if (d.badge !== null && d.decision === 'granted') this.lockout.recordSuccess(d.badge);

    const event: AccessEvent = {
      eventId: randomUUID(),
      time: new Date(now).toISOString(),
      mode: this.mode,
      badge: d.badge === null ? null : this.badgeForLog(d.badge),
      identityId: d.identity?.id ?? null,
      identityName: d.identity?.name ?? null,
      decision: d.decision,
      reason: d.reason,
      distance: d.distance === null ? null : Number(d.distance.toFixed(4)),
      threshold: d.distance === null ? null : this.opts.threshold,
      latencyMs: d.capturedAt === null ? null : Math.max(0, now - d.capturedAt),
    };
    // pino writes its own `time`; the event's ISO time would be a duplicate key on the line.
    const { time: _time, ...logged } = event;
    // The door first, then the news: nothing a listener does can delay or skip the pulse.
    if (d.decision === 'granted')
      this.opts.door.pulse(d.reason === 'remote-unlock' ? 'remote-unlock' : `access:${event.eventId}`);
    logger.info({ event: 'access', ...logged }, `access ${d.decision}: ${d.reason}`);
    bus.emit('access', event);
    if (d.decision === 'granted') {
      this.setState('GRANTED', { name: d.identity?.name });
    } else {
      this.setState('DENIED', { reason: d.reason });
    }
    this.setState('COOLDOWN');
    this.endCooldown();
    this.cooldownTimer = this.clock.setTimeout(() => {
      this.cooldownTimer = null;
      this.setState(this.facePresent && this.mode !== 'badge' ? 'FACE_PRESENT' : 'IDLE');
    }, settings.cooldownMs);
  }

  private endCooldown(): void {
    if (this.cooldownTimer) this.clock.clearTimeout(this.cooldownTimer);
    this.cooldownTimer = null;
  }

  private recordFailure(badge: string, now: number): void {
    const failures = this.lockout.recordFailure(badge, now);
    if (failures === null) return;
    const { windowMs, lockoutMs } = this.opts.settings.lockout;
    const masked = this.badgeForLog(badge);
    const detail = `${failures} failed attempts within ${Math.round(windowMs / 1000)} s: badge locked out for ${Math.round(lockoutMs / 1000)} s`;
    this.opts.bus.alarm('lockout', detail, { time: now, badge: masked });
  }

  // ── Bookkeeping ──────────────────────────────────────────────────────────────────────────────────────────

  private newClaim(
    badge: string | null,
    identity: Identity | null,
    openedAt: number,
    deadline: number | null,
    timer: unknown,
  ): Claim {
    return {
      badge,
      identity,
      openedAt,
      deadline,
      timer,
      streakIdentityId: null,
      matchStreak: 0,
      mismatchStreak: 0,
      lastDistance: null,
      lastCapturedAt: null,
      lastDescriptor: null,
      lastRefusal: 'no-match',
      sawFace: false,
    };
  }

  private closeClaim(): void {
    if (this.claim?.timer) this.clock.clearTimeout(this.claim.timer);
    this.claim = null;
  }

  private fromClaim(claim: Claim): Decision {
    return {
      decision: 'denied',
      reason: '',
      badge: claim.badge,
      identity: claim.identity,
      distance: claim.lastDistance,
      capturedAt: claim.lastCapturedAt,
    };
  }

  private noFrame(badge: string, identity: Identity | null): Decision {
    return { decision: 'denied', reason: '', badge, identity, distance: null, capturedAt: null };
  }

  private badgeForLog(badge: string): string {
    return this.opts.logFullBadge ? badge : maskBadge(badge);
  }

  private updatePresence(present: boolean): void {
    if (present === this.facePresent) return;
    this.facePresent = present;
    this.opts.bus.emit('facePresence', { present, time: this.clock.now() });
  }

  /** Repeating the same state is noise for the display; `force` re-announces it (start, a new badge window). */
  private setState(
    state: FlowState,
    extra: { deadline?: number; name?: string; reason?: string } = {},
    force = false,
  ): void {
    if (state === this.current && !force) return;
    this.current = state;
    const event = { state, mode: this.mode, ...extra };
    this.opts.logger.debug({ event: 'flowState', state }, `flow ${state}`);
    this.opts.bus.emit('flowState', event);
  }
}
