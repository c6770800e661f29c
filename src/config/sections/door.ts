/** `door`: the access rules of the door flow and the door hardware (relay, contact). */
import { z } from 'zod';

const RELAY_SPEC = /^(simulated(:.+)?|onoff:\d+|gpiod:[^:]+:\d+)$/;
const INPUT_SPEC = /^(simulated|onoff:\d+|gpiod:[^:]+:\d+)$/;

export const lockoutSection = z
  .strictObject({
    /** Failed attempts for one badge within `windowMs` that lock it out. */
    maxFailures: z.number().int().min(1).default(5),
    windowMs: z.number().int().positive().default(300_000),
    /** How long a locked-out badge is refused. */
    lockoutMs: z.number().int().positive().default(300_000),
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
    lockout: lockoutSection,
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
  })
  .prefault({});

export type DoorConfig = z.infer<typeof doorSection>;
export type LockoutConfig = z.infer<typeof lockoutSection>;
