/**
 * Anti-spoofing for one claim (issue 12): the door flow feeds it the claim's frames and asks, before a grant,
 * whether the face in front of the camera is live. Two layers, each optional (`door.antiSpoofing.mode`):
 * - passive: the fused MiniFASNet P(real) the inference worker computed on the whole frame. Samples are taken at
 *   least 300 / (frames - 1) ms apart, so `frames` samples always span ≥ 0.3 s (one camera moment is not enough:
 *   a phone replay flickers, a print does not move); the median of the first `frames` samples decides: ≥
 *   `threshold` live, else `spoof-suspected`. Without a PAD model (`padAvailable: false`) the layer refuses with
 *   `anti-spoofing-unavailable` (fail secure) unless `whenUnavailable: allow` turns it off.
 * - active (badge claims): the random challenge of recognition/liveness/challenge.ts, fed the 68 landmarks; a
 *   failed or timed-out challenge is `liveness-failed`. The flow still needs its K matching frames (1:1) after the
 *   challenge passed, so the person who did the challenge is the one who verifies.
 * The verdict's reason goes to the access event only; the screen says "Liveness check failed" without the cue.
 */
import type { ChallengeView } from '../bus/event-bus.ts';
import type { AntiSpoofingConfig } from '../config/sections/door.ts';
import { type ChallengeOptions, LivenessChallenge } from '../recognition/liveness/challenge.ts';
import { LANDMARK_COUNT } from '../recognition/liveness/landmarks68.ts';
import type { Clock } from '../util/clock.ts';
import { median } from '../util/stats.ts';

export type LivenessRefusal = 'spoof-suspected' | 'liveness-failed' | 'anti-spoofing-unavailable';
export type LivenessVerdict = { kind: 'pending' } | { kind: 'live' } | { kind: 'refused'; reason: LivenessRefusal };

/** The span the passive samples must cover (issue 12: "spread over ≥ 0.3 s"). */
export const PAD_SPREAD_MS = 300;

/** What a frame's largest face carries for the gate (see FrameAnalysis). */
export interface LivenessCuesOfFace {
  pad?: number;
  landmarks68?: Float32Array;
}

export interface LivenessGateOptions {
  settings: AntiSpoofingConfig;
  /** The worker has the MiniFASNets (passive scores will come). */
  padAvailable: boolean;
  /** Run the active challenge (badge claims in `active`/`both`). */
  challenge: boolean;
  clock: Clock;
  /** The challenge's RNG (tests); default node:crypto. */
  random?: ChallengeOptions['random'];
}

/** Which layers a claim gets, from the mode and the kind of claim (face mode has no badge read to start a challenge). */
export function layersFor(
  mode: AntiSpoofingConfig['mode'],
  badgeClaim: boolean,
): { passive: boolean; active: boolean } {
  if (mode === 'off') return { passive: false, active: false };
  const active = badgeClaim && (mode === 'active' || mode === 'both');
  // Face mode cannot ask for a challenge: `active` falls back to the passive layer rather than to nothing.
  const passive = mode === 'passive' || mode === 'both' || (mode === 'active' && !badgeClaim);
  return { passive, active };
}

/** Flat [x0, y0, x1, y1 ...] landmarks as points, or null when they are not 68 finite points. */
export function landmarkPoints(flat: Float32Array | undefined): Array<{ x: number; y: number }> | null {
  if (!flat || flat.length !== 2 * LANDMARK_COUNT) return null;
  const points: Array<{ x: number; y: number }> = [];
  for (let i = 0; i < LANDMARK_COUNT; i++) points.push({ x: flat[2 * i]!, y: flat[2 * i + 1]! });
  return points;
}

export class ClaimLiveness {
  private readonly settings: AntiSpoofingConfig;
  private readonly passive: boolean;
  private readonly padAvailable: boolean;
  private readonly challenge: LivenessChallenge | null;
  private readonly samples: Array<{ t: number; score: number }> = [];
  private passiveVerdict: LivenessVerdict = { kind: 'pending' };

  constructor(opts: LivenessGateOptions & { passive: boolean }) {
    this.settings = opts.settings;
    this.passive = opts.passive && !(opts.settings.whenUnavailable === 'allow' && !opts.padAvailable);
    this.padAvailable = opts.padAvailable;
    this.challenge = opts.challenge
      ? new LivenessChallenge({
          stepCount: opts.settings.challengeSteps,
          totalMs: opts.settings.challengeMs,
          clock: opts.clock,
          random: opts.random,
        })
      : null;
    if (!this.passive) this.passiveVerdict = { kind: 'live' };
  }

  /** True when the claim needs anything at all (else the flow decides as without anti-spoofing). */
  get checking(): boolean {
    return this.passive || this.challenge !== null;
  }

  /** When the challenge's time is up (epoch ms of the flow's clock), or null without one. */
  get challengeDeadline(): number | null {
    return this.challenge?.deadlineMs ?? null;
  }

  /**
   * One counted frame of the claim: its largest face's cues (null: no usable face) and capture time. The passive
   * layer only scores faces the flow counts (big enough); the challenge sees every frame (it skips faceless ones).
   */
  observe(face: LivenessCuesOfFace | null, capturedAt: number): void {
    this.challenge?.feed(landmarkPoints(face?.landmarks68), capturedAt);
    if (!face || !this.passive || this.passiveVerdict.kind !== 'pending') return;
    if (!this.padAvailable) {
      this.passiveVerdict = { kind: 'refused', reason: 'anti-spoofing-unavailable' };
      return;
    }
    const score = face.pad;
    if (typeof score !== 'number' || !Number.isFinite(score)) return;
    const frames = this.settings.frames;
    const last = this.samples.at(-1);
    const gap = frames > 1 ? PAD_SPREAD_MS / (frames - 1) : 0;
    if (last && capturedAt - last.t < gap) return;
    this.samples.push({ t: capturedAt, score });
    if (this.samples.length < frames) return;
    const live = median(this.samples.map((s) => s.score)) >= this.settings.threshold;
    this.passiveVerdict = live ? { kind: 'live' } : { kind: 'refused', reason: 'spoof-suspected' };
  }

  /** The fused scores this claim sampled (for the metrics histogram). */
  get padScores(): readonly number[] {
    return this.samples.map((s) => s.score);
  }

  /** Refused as soon as one layer refuses; live when every layer in use is live; else pending. */
  verdict(): LivenessVerdict {
    if (this.challenge) this.challenge.poll();
    if (this.passiveVerdict.kind === 'refused') return this.passiveVerdict;
    const challenge = this.challenge?.verdict ?? null;
    if (this.challenge && challenge && !challenge.live) return { kind: 'refused', reason: 'liveness-failed' };
    const activeLive = this.challenge === null || challenge?.live === true;
    return this.passiveVerdict.kind === 'live' && activeLive ? { kind: 'live' } : { kind: 'pending' };
  }

  /** Internal detail of a failed challenge for the log line (never for the screen). */
  get challengeReason(): string | null {
    return this.challenge?.verdict?.reason ?? null;
  }

  /** What the screen shows of the challenge, or null without one (or once it has ended). */
  view(): ChallengeView | null {
    if (!this.challenge || this.challenge.verdict) return null;
    const p = this.challenge.poll();
    return {
      step: p.current,
      stepIndex: p.stepIndex,
      stepCount: p.steps.length,
      fraction: Math.round(p.fraction * 20) / 20,
      deadline: this.challenge.deadlineMs,
    };
  }
}

export interface LivenessHookOptions extends Omit<LivenessGateOptions, 'challenge'> {
  /** Called when a challenge's time is up without a frame to settle it (the flow settles the open claim). */
  onTimeUp: () => void;
  /** Each fused PAD score a claim sampled, when the claim ends (metrics). */
  onPadScore?: (score: number) => void;
}

/** The door flow's one handle on anti-spoofing: the open claim's ClaimLiveness, its challenge timer, its view. */
export class LivenessHook {
  private current: ClaimLiveness | null = null;
  private timer: unknown = null;
  private shown = '';

  constructor(private readonly opts: LivenessHookOptions) {}

  /** A new claim (badge read, or a face in face mode). */
  open(badgeClaim: boolean): void {
    this.close();
    const layers = layersFor(this.opts.settings.mode, badgeClaim);
    if (!layers.passive && !layers.active) return;
    const { clock } = this.opts;
    this.current = new ClaimLiveness({ ...this.opts, passive: layers.passive, challenge: layers.active });
    const deadline = this.current.challengeDeadline;
    // A challenge that gets no frames still ends on time (the camera was covered, the person walked away).
    if (deadline !== null) {
      this.timer = clock.setTimeout(
        () => {
          this.timer = null;
          this.opts.onTimeUp();
        },
        deadline - clock.now() + 1,
      );
    }
  }

  /** The claim ended (decided or abandoned). */
  close(): void {
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
    for (const score of this.current?.padScores ?? []) this.opts.onPadScore?.(score);
    this.current = null;
    this.shown = '';
  }

  observe(face: LivenessCuesOfFace | null, capturedAt: number): void {
    this.current?.observe(face, capturedAt);
  }

  verdict(): LivenessVerdict {
    return this.current?.verdict() ?? { kind: 'live' };
  }

  get challengeReason(): string | null {
    return this.current?.challengeReason ?? null;
  }

  /** The challenge to show, as `{ challenge }` for a flowState event, or {} without one. */
  view(): { challenge?: ChallengeView } {
    const view = this.current?.view();
    return view ? { challenge: view } : {};
  }

  /** The view when it changed since the last call (step, progress), else null. */
  changedView(): ChallengeView | null {
    const view = this.current?.view() ?? null;
    if (!view) return null;
    const key = `${view.step}|${view.stepIndex}|${view.fraction}`;
    if (key === this.shown) return null;
    this.shown = key;
    return view;
  }
}
