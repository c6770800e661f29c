/**
 * A claim the door flow is checking, and how each analysed frame counts towards it: plain bookkeeping, no I/O, so
 * the counting rules read in one place. The rule that turns counts into a decision (`settle`) is the flow's.
 */
import type { Identity } from '../store/schema.ts';

/** In badge+face mode the badge and its holder; in face mode just the streak. */
export interface Claim {
  badge: string | null;
  identity: Identity | null;
  /** Badge claims: why the claim is refused whatever the face (e.g. `unknown-badge`), announced only after it. */
  refusal: string | null;
  /** No identity holds the badge (counted per kiosk, even while the badge is locked out). */
  unknownBadge: boolean;
  openedAt: number;
  deadline: number | null;
  timer: unknown;
  /** Consecutive frames agreeing on `streakIdentityId`. */
  streakIdentityId: string | null;
  matchStreak: number;
  /** Refusing frames in this claim, in total: neither a match nor a faceless frame resets it. */
  refusals: number;
  /** The last frame that counted, for the decision's distance and latency. */
  lastDistance: number | null;
  lastCapturedAt: number | null;
  /** Face mode: the last face counted (to tell the decided person from a new one), the last refused (its track). */
  lastDescriptor: Float32Array | null;
  lastRefused: Float32Array | null;
  lastRefusal: string;
  sawFace: boolean;
}

export interface Decision {
  decision: 'granted' | 'denied';
  reason: string;
  badge: string | null;
  identity: Identity | null;
  distance: number | null;
  capturedAt: number | null;
}

export function newClaim(
  init: Partial<Pick<Claim, 'badge' | 'identity' | 'refusal' | 'deadline' | 'timer'>> & { openedAt: number },
): Claim {
  const identity = init.identity ?? null;
  return {
    badge: null,
    refusal: null,
    deadline: null,
    timer: null,
    ...init,
    identity,
    unknownBadge: init.badge !== undefined && identity === null,
    streakIdentityId: null,
    matchStreak: 0,
    refusals: 0,
    lastDistance: null,
    lastCapturedAt: null,
    lastDescriptor: null,
    lastRefused: null,
    lastRefusal: 'no-match',
    sawFace: false,
  };
}

export function countMatch(claim: Claim, identityId: string): void {
  claim.matchStreak = claim.streakIdentityId === identityId ? claim.matchStreak + 1 : 1;
  claim.streakIdentityId = identityId;
}

export function countRefusal(claim: Claim, reason: string, descriptor: Float32Array | null = null): void {
  claim.refusals += 1;
  claim.matchStreak = 0;
  claim.streakIdentityId = null;
  claim.lastRefusal = reason;
  if (descriptor) claim.lastRefused = descriptor;
}

/** A frame without a usable face: the next match starts a new streak. The refusal count stays. */
export function breakStreak(claim: Claim): void {
  claim.matchStreak = 0;
  claim.streakIdentityId = null;
}

/** The decision this claim ends with, from its last counted frame. */
export function decisionOf(claim: Claim, decision: Decision['decision'], reason: string): Decision {
  return {
    decision,
    reason,
    badge: claim.badge,
    identity: claim.identity,
    distance: claim.lastDistance,
    capturedAt: claim.lastCapturedAt,
  };
}
