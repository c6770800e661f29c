/**
 * The door flow: who may open the door, decided from badge reads and analysed camera frames.
 *
 *   IDLE ──face seen──▶ FACE_PRESENT            (no claim yet: in badge+face mode the display asks for a badge)
 *   IDLE/FACE_PRESENT ──badge read / face──▶ VERIFYING   (a claim is being checked, frame after frame)
 *   VERIFYING ──K agreeing frames──▶ GRANTED ─┐
 *   VERIFYING ──K refusing frames, window over──▶ DENIED ─┴─▶ COOLDOWN ──cooldownMs──▶ IDLE
 *
 * Modes:
 * - `badge+face` (default): a badge read opens a window (`badgeWindowMs`) in which the face must verify 1:1 against
 *   the identity holding that badge. K consecutive matching frames grant; K refusing frames in the claim (in total,
 *   see `settle`), or the window closing, deny.
 * - `face`: 1:N identification. The best identity must be under the threshold AND beat the runner-up by
 *   `identifyMargin`, on K consecutive frames, to grant.
 * - `badge`: the badge alone opens the door; only when explicitly configured. It decides at once.
 *
 * A frame only counts when its largest face is at least `minFacePx` wide and high; a frame without one breaks a
 * matching streak (never the refusal count).
 *
 * No oracle before the face: an unknown badge, a disabled or expired identity, a locked-out badge all open the same
 * VERIFYING window as a valid badge, and are denied with their true reason (in the access event) only after the same
 * face step — K face frames or the window. The screen gets one neutral denial for every reason (`locked-out` only for
 * the badge or face this attempt locked out, which the person at the door provoked themselves).
 *
 * Attempts (attempt-guard.ts): every badge claim that ends without a grant — denied, timed out, replaced by a new
 * badge read, cut short by a remote unlock or stop — is one failed attempt for that badge; `lockout.maxFailures`
 * of them within `lockout.windowMs` lock the badge out for `lockout.lockoutMs` with a `lockout` alarm. Unknown
 * badges are also rate-limited per kiosk. In face mode, a claim with refusing frames that ends without a grant is
 * one failed attempt for that face's track, and for the kiosk's face rate.
 *
 * Access rules (issue 14, access-check.ts): a face that matched (or, in badge mode, a valid badge) is still denied
 * when the identity's groups do not allow it here and now — reason `outside-schedule` (or the rules' own reason),
 * counted as a failed attempt like any denial, and the screen says "Access is not allowed at this time".
 * Anti-spoofing (liveness-gate.ts, `door.antiSpoofing`): a claim whose face is not judged live is denied
 * `spoof-suspected` (passive) or `liveness-failed` (active challenge) — a failed attempt like any denial — and a
 * grant waits until the face is judged live. The screen says only that the liveness check failed.
 *
 * Every decision is one `access` event on the bus and one `"event":"access"` log line. Neither ever holds a face
 * vector, an image or a full badge number. Time comes from an injectable clock so tests need no real waiting.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  type AccessEvent,
  type AccessMode,
  type EventBus,
  type FlowState,
  type FlowStateEvent,
  maskBadge,
} from '../bus/event-bus.ts';
import type { DaemonModule, FrameAnalysis } from '../bus/module.ts';
import type { DoorConfig } from '../config/sections/door.ts';
import { encoderDistance } from '../recognition/encoder-traits.ts';
import { identifyDescriptor, verifyDescriptor } from '../recognition/verification.ts';
import type { FaceDb } from '../store/face-db.ts';
import { type Clock, systemClock } from '../util/clock.ts';
import { errorMessage } from '../util/errors.ts';
import { AccessCheck, type AccessCheckSettings, ruleDenial, screenReason } from './access-check.ts';
import { AttemptGuard } from './attempt-guard.ts';
import { breakStreak, type Claim, countMatch, countRefusal, type Decision, decisionOf, newClaim } from './claim.ts';
import { type LivenessGateOptions, LivenessHook } from './liveness-gate.ts';

export { type Clock, systemClock } from '../util/clock.ts';

/** What the flow needs of the door lock (the DoorLock class fits). */
export interface DoorOpener {
  pulse(reason: string): unknown;
}

export type DoorFlowSettings = Pick<
  DoorConfig,
  | 'mode'
  | 'badgeWindowMs'
  | 'consecutiveFrames'
  | 'minFacePx'
  | 'identifyMargin'
  | 'cooldownMs'
  | 'lockout'
  | 'unknownBadgeLimit'
  | 'faceLockout'
  | 'faceAttemptLimit'
  | 'antiSpoofing'
> &
  Partial<AccessCheckSettings>;

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
  /** This kiosk's id, for access groups limited to kiosks (null: such groups do not apply here). */
  kioskId?: string | null;
  /** Anti-spoofing inputs: whether the worker has the PAD model (default false: fail secure), the challenge RNG. */
  liveness?: Pick<LivenessGateOptions, 'padAvailable' | 'random'>;
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
  private readonly guard: AttemptGuard;
  private readonly access: AccessCheck;
  /** Face mode: the face a decision was made on; nothing more is decided until it leaves or someone else appears. */
  private decidedFace: Float32Array | null = null;
  private unsubscribers: Array<() => void> = [];
  /** The open claim's anti-spoofing (liveness-gate.ts). */
  private readonly liveness: LivenessHook;

  constructor(opts: DoorFlowOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.mode = opts.settings.mode;
    this.guard = new AttemptGuard(opts.bus, opts.settings, opts.threshold, (a, b) =>
      encoderDistance(opts.encoderId, a, b),
    );
    const { timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone, requireGroup = false } = opts.settings;
    this.access = new AccessCheck(opts.db, { timeZone, requireGroup }, opts.kioskId ?? null);
    this.liveness = new LivenessHook({
      settings: opts.settings.antiSpoofing,
      padAvailable: opts.liveness?.padAvailable ?? false,
      random: opts.liveness?.random,
      clock: this.clock,
      onTimeUp: () => this.claim && this.settle(this.claim),
      onPadScore: (score) => opts.bus.emit('padScore', { score }),
    });
  }

  get state(): FlowState {
    return this.current;
  }

  /** How much attempt state is held (bounded by the `door.*` caps), for tests and metrics. */
  get attemptStateSizes(): AttemptGuard['sizes'] {
    return this.guard.sizes;
  }

  async start(): Promise<void> {
    const { bus } = this.opts;
    this.unsubscribers = [
      bus.on('badgeRead', ({ badge, source }) => this.onBadge(badge, source), this.name),
      bus.on('unlockRequest', ({ by, reason }) => this.onUnlockRequest(by, reason), this.name),
    ];
    this.setState('IDLE', {}, true);
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribers) off();
    this.unsubscribers = [];
    // A claim cut short by a stop (shutdown, reload, mode change) is still a failed attempt.
    this.abandonClaim();
    this.endCooldown();
  }

  // ── Inputs ────────────────────────────────────────────────────────────────────────────────────────────────

  onBadge(badge: string, source: string): void {
    if (this.mode === 'face') {
      this.opts.logger.debug({ event: 'badge', badge: this.badgeForLog(badge), source }, 'badge ignored in face mode');
      return;
    }
    const now = this.clock.now();
    // A new badge replaces any open window: the previous claim ends without a grant, one failed attempt.
    this.abandonClaim();
    const identity = this.opts.db.findByBadge(badge) ?? null;
    const refusal = this.guard.badgeRefusal(badge, identity, now);
    if (this.mode === 'badge') {
      const claim = newClaim({ badge, identity, refusal, openedAt: now });
      const denial = refusal ?? ruleDenial(this.access, claim, this.clock.now(), this.opts.logger);
      this.decide(decisionOf(claim, denial === null ? 'granted' : 'denied', denial ?? 'badge'), claim);
      return;
    }

    const deadline = now + this.opts.settings.badgeWindowMs;
    const timer = this.clock.setTimeout(() => this.onWindowClosed(), this.opts.settings.badgeWindowMs);
    this.claim = newClaim({ badge, identity, refusal, openedAt: now, deadline, timer });
    this.liveness.open(true);
    // The next person may badge while the previous decision is still cooling down.
    this.endCooldown();
    this.setState('VERIFYING', { deadline, ...this.liveness.view() }, true);
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
      this.liveness.observe(bigEnough ? face : null, analysis.capturedAt);
      const challenge = this.liveness.changedView();
      if (challenge) this.setState('VERIFYING', { deadline: claim.deadline ?? undefined, challenge }, true);
      if (!bigEnough) {
        breakStreak(claim);
        this.settle(claim);
        return;
      }
      this.verifyFrame(claim, face.descriptor, analysis.capturedAt);
      return;
    }

    // face mode: a big-enough face starts a claim (the streak); a frame without one ends it. After a decision the
    // decided face must leave the camera (or a different face appear) before the next claim, so someone standing at
    // the door is not decided again after every cooldown (the door re-opened, a denial repeated).
    if (
      this.decidedFace &&
      (!face || encoderDistance(this.opts.encoderId, face.descriptor, this.decidedFace) >= this.opts.threshold)
    )
      this.decidedFace = null;
    if (!bigEnough) {
      // Stepping out of view must not reset anything: a claim with refused frames counts as a failed attempt.
      this.abandonClaim();
      this.setState(face ? 'FACE_PRESENT' : 'IDLE');
      return;
    }
    if (!this.claim) {
      if (this.decidedFace) {
        this.setState('FACE_PRESENT');
        return;
      }
      this.claim = newClaim({ openedAt: this.clock.now() });
      this.liveness.open(false);
      this.setState('VERIFYING');
    }
    this.liveness.observe(face, analysis.capturedAt);
    this.identifyFrame(this.claim, face.descriptor, analysis.capturedAt);
  }

  onUnlockRequest(by: string, reason: string): void {
    this.opts.logger.info({ event: 'unlock-request', by, reason }, 'remote unlock');
    // The door opens for whoever asked remotely, not for the open claim: that one ends without a grant.
    this.abandonClaim();
    this.decide(
      { decision: 'granted', reason: 'remote-unlock', badge: null, identity: null, distance: null, capturedAt: null },
      null,
    );
  }

  // ── Matching, frame by frame ─────────────────────────────────────────────────────────────────────────────

  private verifyFrame(claim: Claim, descriptor: Float32Array, capturedAt: number): void {
    claim.sawFace = true;
    claim.lastCapturedAt = capturedAt;
    const identityId = claim.identity?.id;
    if (claim.refusal !== null || identityId === undefined) {
      // Refused whatever the face, but only after the same K frames as a valid badge: no oracle on the screen.
      countRefusal(claim, claim.refusal ?? 'unknown-badge');
      this.settle(claim);
      return;
    }
    const { db, encoderId, threshold } = this.opts;
    let result: ReturnType<typeof verifyDescriptor>;
    try {
      result = verifyDescriptor(db, descriptor, identityId, encoderId, threshold, new Date(this.clock.now()));
    } catch (err) {
      // No encodings for this encoder: the badge holder cannot be verified by face at all.
      this.opts.logger.warn({ event: 'verify-error', identityId, error: errorMessage(err) }, 'cannot verify');
      countRefusal(claim, 'not-enrolled');
      this.settle(claim);
      return;
    }
    claim.lastDistance = result.distance;
    if (result.match) {
      countMatch(claim, identityId);
    } else {
      // `no-match`, or disabled/expired since the badge was read: a refusing frame with that reason.
      countRefusal(claim, result.reason);
    }
    this.settle(claim);
  }

  private identifyFrame(claim: Claim, descriptor: Float32Array, capturedAt: number): void {
    claim.lastDescriptor = descriptor;
    const { db, encoderId, threshold, settings } = this.opts;
    claim.sawFace = true;
    claim.lastCapturedAt = capturedAt;
    const refusal = this.guard.faceRefusal(descriptor, this.clock.now());
    if (refusal !== null) {
      claim.lastDistance = null;
      countRefusal(claim, refusal, descriptor);
      this.settle(claim);
      return;
    }
    let result: ReturnType<typeof identifyDescriptor>;
    try {
      result = identifyDescriptor(db, descriptor, encoderId, threshold);
    } catch (err) {
      this.opts.logger.warn({ event: 'identify-error', error: errorMessage(err) }, 'cannot identify');
      claim.lastDistance = null;
      countRefusal(claim, 'no-match', descriptor);
      this.settle(claim);
      return;
    }
    claim.lastDistance = result.distance;
    if (result.identity === null) {
      countRefusal(claim, 'no-match', descriptor);
    } else if (
      result.runnerUp &&
      result.distance !== null &&
      result.runnerUp.distance - result.distance < settings.identifyMargin
    ) {
      // Two people about equally close: guessing between them would open the door for the wrong one.
      countRefusal(claim, 'ambiguous', descriptor);
    } else {
      claim.identity = db.get(result.identity) ?? null;
      countMatch(claim, result.identity);
    }
    this.settle(claim);
  }

  /**
   * K consecutive matching frames grant; K refusing frames IN TOTAL deny. Why in total: when refusals had to be
   * consecutive, a faceless frame (or one lucky match) between two refusals reset the count, so a claim lasted the
   * whole window — ~100 frames at 10 fps, each a fresh chance for a look-alike to string K matches together (one
   * got in after 19 frames). In total, a claim gives at most K refusals, i.e. at most K+1 runs at K matches, and each
   * failed claim counts against the badge. The price: a genuine face must reach K matches before K misses.
   */
  private settle(claim: Claim): void {
    const k = this.opts.settings.consecutiveFrames;
    const live = this.liveness.verdict();
    if (live.kind === 'refused') {
      this.refuseLiveness(claim, live.reason);
    } else if (claim.matchStreak >= k) {
      // Anti-spoofing still pending: keep verifying (the streak goes on) until the face is judged live; then the
      // access rules (a live, verified person outside their schedule is denied `outside-schedule`).
      if (live.kind === 'live') {
        const denial = ruleDenial(this.access, claim, this.clock.now(), this.opts.logger);
        this.decide(decisionOf(claim, denial === null ? 'granted' : 'denied', denial ?? 'match'), claim);
      }
    } else if (claim.refusals >= k) {
      this.decide(decisionOf(claim, 'denied', claim.lastRefusal), claim);
    }
  }

  // ── Anti-spoofing ────────────────────────────────────────────────────────────────────────────────────────

  /** Refused by the liveness gate: the true refusal of a badge claim (e.g. unknown badge) stays its reason. */
  private refuseLiveness(claim: Claim, reason: string): void {
    const detail = this.liveness.challengeReason;
    if (detail) this.opts.logger.info({ event: 'liveness', verdict: detail }, `liveness challenge: ${detail}`);
    const screen = reason === 'anti-spoofing-unavailable' ? undefined : 'liveness';
    // Face mode: the face shown counts as a failed attempt of its track, as a refused match would.
    if (claim.badge === null && claim.lastDescriptor) claim.lastRefused = claim.lastDescriptor;
    this.decide(decisionOf(claim, 'denied', claim.refusal ?? reason), claim, screen);
  }

  private onWindowClosed(): void {
    const claim = this.claim;
    if (!claim) return;
    claim.timer = null;
    // Latency is meaningless here: no frame made this decision, the clock did.
    const reason = claim.refusal ?? (claim.sawFace ? 'no-match' : 'timeout');
    this.decide({ ...decisionOf(claim, 'denied', reason), capturedAt: null }, claim);
  }

  // ── Decisions ────────────────────────────────────────────────────────────────────────────────────────────

  /** The decision that ends `claim` (null: a remote unlock, no claim of its own). */
  private decide(d: Decision, claim: Claim | null, screen?: 'liveness'): void {
    const { settings } = this.opts;
    if (this.mode === 'face' && d.capturedAt !== null) this.decidedFace = claim?.lastDescriptor ?? null;
    this.closeClaim();
    // Counted first: a lockout alarm goes out before the denial that tripped it.
    const lockedNow = claim !== null && this.countAttempt(claim, d.decision === 'granted', d.reason);
    // The door first, then the news: nothing a listener does can delay or skip the pulse.
    const eventId = randomUUID();
    if (d.decision === 'granted')
      this.opts.door.pulse(d.reason === 'remote-unlock' ? 'remote-unlock' : `access:${eventId}`);
    this.announce(d, eventId);
    if (d.decision === 'granted') {
      this.setState('GRANTED', { name: d.identity?.name });
    } else {
      // The screen's reason is neutral: only a lockout is told apart, never an unknown badge from a known one.
      const lockout = lockedNow || d.reason === 'locked-out';
      this.setState('DENIED', { reason: screen && !lockout ? screen : screenReason(d.reason, lockedNow) });
    }
    this.setState('COOLDOWN');
    this.endCooldown();
    this.cooldownTimer = this.clock.setTimeout(() => {
      this.cooldownTimer = null;
      this.setState(this.facePresent && this.mode !== 'badge' ? 'FACE_PRESENT' : 'IDLE');
    }, settings.cooldownMs);
  }

  /**
   * The open claim ends without a decision of its own (a new badge, a remote unlock, stop, the face left): one
   * failed attempt with an access event, and no screen change — the next claim's prompt follows at once.
   * A face-mode claim without a refused frame gave nobody anything (the next claim starts its streak at zero) and is
   * dropped silently: counting it would lock out enrolled people walking past the camera.
   */
  private abandonClaim(): void {
    const claim = this.claim;
    if (!claim) return;
    this.closeClaim();
    if (claim.badge === null && claim.refusals === 0) return;
    const reason = claim.refusal ?? 'abandoned';
    this.countAttempt(claim, false, reason);
    this.announce({ ...decisionOf(claim, 'denied', reason), capturedAt: null }, randomUUID());
  }

  /** Counts a claim's end with the attempt guard; returns whether it locked the badge (or face) out. */
  private countAttempt(claim: Claim, granted: boolean, reason: string): boolean {
    const now = this.clock.now();
    if (claim.badge !== null) {
      if (granted) this.guard.badgeGranted(claim.badge);
      else {
        const attempt = { badge: claim.badge, refusal: claim.refusal, unknown: claim.unknownBadge };
        return this.guard.badgeFailed(attempt, this.badgeForLog(claim.badge), now);
      }
    } else if (granted && claim.lastDescriptor) {
      this.guard.faceGranted(claim.lastDescriptor);
    } else if (!granted && claim.lastRefused) {
      return this.guard.faceFailed(claim.lastRefused, reason, now);
    }
    return false;
  }

  /** One `access` event on the bus and one `"event":"access"` log line. */
  private announce(d: Decision, eventId: string): void {
    const now = this.clock.now();
    const event: AccessEvent = {
      eventId,
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
    this.opts.logger.info({ event: 'access', ...logged }, `access ${d.decision}: ${d.reason}`);
    this.opts.bus.emit('access', event);
  }

  private endCooldown(): void {
    if (this.cooldownTimer) this.clock.clearTimeout(this.cooldownTimer);
    this.cooldownTimer = null;
  }

  // ── Bookkeeping ──────────────────────────────────────────────────────────────────────────────────────────

  private closeClaim(): void {
    if (this.claim?.timer) this.clock.clearTimeout(this.claim.timer);
    this.claim = null;
    this.liveness.close();
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
  private setState(state: FlowState, extra: Omit<FlowStateEvent, 'state' | 'mode'> = {}, force = false): void {
    if (state === this.current && !force) return;
    this.current = state;
    const event = { state, mode: this.mode, ...extra };
    this.opts.logger.debug({ event: 'flowState', state }, `flow ${state}`);
    this.opts.bus.emit('flowState', event);
  }
}
