/** `door`: the access rules of the door flow and the door hardware (relay, contact). */
import { z } from 'zod';

const RELAY_SPEC = /^(simulated(:.+)?|onoff:\d+|gpiod:[^:]+:\d+)$/;
const INPUT_SPEC = /^(simulated|onoff:\d+|gpiod:[^:]+:\d+)$/;

/** Attempt counting for one kind of key (badges, face tracks): the defaults differ, the rules are lockout.ts's. */
function lockoutOf(defaults: { maxTracked: number; maxLocked: number }) {
  return z
    .strictObject({
      /** Failed attempts for one key within `windowMs` that lock it out (a `lockout` alarm). */
      maxFailures: z.number().int().min(1).max(1000).default(5),
      windowMs: z.number().int().positive().default(300_000),
      /** How long a locked-out key is refused. */
      lockoutMs: z.number().int().positive().default(300_000),
      /** Keys with recent failures remembered at most; when full, the one that failed longest ago is forgotten. */
      maxTracked: z.number().int().min(1).default(defaults.maxTracked),
      /** Keys locked out at once at most. A live lockout is never evicted: when full, every key is refused. */
      maxLocked: z.number().int().min(1).default(defaults.maxLocked),
    })
    .prefault({});
}

/** A per-kiosk rate: more than `maxAttempts` within `windowMs` raises a `lockout` alarm and pauses for `pauseMs`. */
function rateLimitOf(defaults: { maxAttempts: number; windowMs: number; pauseMs: number }) {
  return z
    .strictObject({
      maxAttempts: z.number().int().min(1).max(1000).default(defaults.maxAttempts),
      windowMs: z.number().int().positive().default(defaults.windowMs),
      pauseMs: z.number().int().positive().default(defaults.pauseMs),
    })
    .prefault({});
}

/** Per badge (badge+face and badge modes). A real site has a few thousand badges; 60 000 entries are ~6 MB. */
export const lockoutSection = lockoutOf({ maxTracked: 10_000, maxLocked: 50_000 });
/** Face mode, per face track (one descriptor each: 3 000 tracks are ~1.8 MB). */
export const faceLockoutSection = lockoutOf({ maxTracked: 1_000, maxLocked: 2_000 });

/** The system's IANA zone (TZ, /etc/localtime), or UTC when the runtime cannot tell. */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

function isTimeZone(name: string): boolean {
  // IANA names only: newer ICU (Node 24) also accepts UTC offsets like "+01:00", older (Node 20) refuses them.
  if (/^[+-]/.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Issue 14, access rules (the rules themselves live in the face database beside the identities). */
const accessRuleKeys = {
  /** IANA zone the schedules are read in (`Europe/Berlin`); default the system's. An unknown zone is refused. */
  timeZone: z
    .string()
    .max(64)
    .refine(isTimeZone, { error: (issue) => `unknown time zone ${JSON.stringify(issue.input)} (an IANA name)` })
    .default(() => systemTimeZone()),
  /** An identity with no access group is denied (`no-group`); default false: no group = not limited by schedule. */
  requireGroup: z.boolean().default(false),
  /**
   * Hold the relay unlocked while `schedule` is open (office hours, a shop door); null = never. `firstPersonIn`:
   * the hold starts only after the first person granted while the schedule is open (each opening).
   */
  scheduledUnlock: z
    .strictObject({
      schedule: z.string().max(64).nullable().default(null),
      firstPersonIn: z.boolean().default(false),
    })
    .prefault({}),
};
/**
 * Presentation-attack detection (issue 12). `passive`: the fused MiniFASNet P(real), as the median over `frames`
 * analysed frames of the claim spread over ≥ 0.3 s, must reach `threshold`. `active`: after the badge read, a random
 * challenge of `challengeSteps` steps (turn left / turn right / blink) in `challengeMs`, from the 68 landmarks.
 * `both`: the two. `whenUnavailable`: what the door does when the passive model is missing (deny = fail secure).
 */
export const antiSpoofingSection = z
  .strictObject({
    mode: z.enum(['off', 'passive', 'active', 'both']).default('passive'),
    /** Fused P(real) at or above which a claim is live (measured APCER/BPCER at 0.5: bench/RESULTS.md, issue 12). */
    threshold: z.number().min(0).max(1).default(0.5),
    /** PAD-scored frames whose median decides (spread over ≥ 0.3 s). */
    frames: z.number().int().min(1).max(15).default(3),
    challengeSteps: z.number().int().min(1).max(3).default(2),
    challengeMs: z.number().int().min(1000).max(30_000).default(5000),
    whenUnavailable: z.enum(['deny', 'allow']).default('deny'),
  })
  .prefault({});

export const doorSection = z
  .strictObject({
    /** `badge+face` (badge, then the face must match its holder), `face` (1:N identify), `badge` (badge alone). */
    mode: z.enum(['badge+face', 'face', 'badge']).default('badge+face'),
    /** After a badge read, how long the face has to verify. */
    badgeWindowMs: z.number().int().positive().default(10_000),
    /** Consecutive analysed frames that must agree on the same identity before a grant (or a face denial). */
    consecutiveFrames: z.number().int().min(1).max(30).default(2),
    /** Smaller faces (box side, pixels) are ignored: too far away to judge. */
    minFacePx: z.number().int().positive().default(80),
    /** 1:N only: the runner-up identity must be at least this much farther than the best one. */
    identifyMargin: z.number().min(0).default(0.05),
    /** After a decision, frames are ignored this long so one visit makes one decision. */
    cooldownMs: z.number().int().min(0).default(3000),
    /** Per badge: every badge claim that ends without a grant is one failed attempt. */
    lockout: lockoutSection,
    /**
     * Per kiosk: unknown-badge attempts (someone trying numbers). Beyond the rate, every badge claim is refused
     * (`rate-limited`, after the same face step, so the screen shows nothing new) for `pauseMs`.
     */
    unknownBadgeLimit: rateLimitOf({ maxAttempts: 10, windowMs: 60_000, pauseMs: 60_000 }),
    /** Face mode, per face track: a face refused `maxFailures` times is refused for `lockoutMs`. */
    faceLockout: faceLockoutSection,
    /** Face mode, per kiosk: refused face attempts. Beyond the rate, every face is refused for `pauseMs`. */
    faceAttemptLimit: rateLimitOf({ maxAttempts: 20, windowMs: 60_000, pauseMs: 60_000 }),
    /** How long the relay stays unlocked on a grant. */
    unlockPulseMs: z.number().int().min(100).max(60_000).default(3000),
    /** Unlock on failure/exit (maglocks that must release in a fire). Default: fail-secure, locked. */
    failSafe: z.boolean().default(false),
    /** `simulated`, `simulated:<record file>`, `onoff:<gpio>` (sysfs), `gpiod:<chip>:<line>` (gpioset). */
    relay: z
      .string()
      .regex(RELAY_SPEC, 'expected simulated[:<file>], onoff:<gpio> or gpiod:<chip>:<line>')
      .default('simulated'),
    /** The relay is energised by a low level. */
    activeLow: z.boolean().default(false),
    /** Door contact input (reed switch, true = open): `simulated`, `onoff:<gpio>`, `gpiod:<chip>:<line>`; null = none. */
    contact: z
      .string()
      .regex(INPUT_SPEC, 'expected simulated, onoff:<gpio> or gpiod:<chip>:<line>')
      .nullable()
      .default(null),
    /** Request-to-exit button input (same forms as `contact`); a press pulses the door. null = none. */
    rex: z
      .string()
      .regex(INPUT_SPEC, 'expected simulated, onoff:<gpio> or gpiod:<chip>:<line>')
      .nullable()
      .default(null),
    /** The contact and button inputs read LOW when active (a switch to ground with a pull-up). */
    inputsActiveLow: z.boolean().default(false),
    /** Door open longer than this after a grant raises `door-held-open`. */
    heldOpenMs: z.number().int().positive().default(30_000),
    ...accessRuleKeys,
    /** Anti-spoofing (liveness) before a face grant: see antiSpoofingSection. */
    antiSpoofing: antiSpoofingSection,
  })
  .prefault({});

export type DoorConfig = z.infer<typeof doorSection>;
export type AntiSpoofingConfig = z.infer<typeof antiSpoofingSection>;
export type AntiSpoofingMode = AntiSpoofingConfig['mode'];
export type LockoutConfig = z.infer<typeof lockoutSection>;
export type RateLimitConfig = DoorConfig['unknownBadgeLimit'];
