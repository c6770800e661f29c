/**
 * The door lock as the daemon sees it: a relay that is LOCKED unless a pulse is running. Fail-secure by default —
 * start-up, every signal, every uncaught error and process exit drive LOCKED first (src/daemon/lifecycle.ts); `failSafe`
 * (maglocks that must release in a fire) drives UNLOCKED on failure paths instead, and says so at start-up.
 * The pulse's end belongs to the driver's unit, a process of its own, so a busy event loop here cannot stretch it;
 * the timer here only brings this object's view (state, `relay` events) up to date and re-locks if the driver failed.
 * A hold (scheduled unlock, issue 14: `doorHold` events on the bus) keeps the relay unlocked until it ends; pulses
 * inside it change nothing, and its end, `lockNow`, `stop` and every exit path lock as before.
 */
import type { Logger } from 'pino';
import type { EventBus } from '../bus/event-bus.ts';
import type { RelayDriver, RelayState } from '../hardware/relay/relay.ts';
import { type Clock, systemClock } from '../util/clock.ts';
import { errorMessage } from '../util/errors.ts';

export { type Clock, systemClock } from '../util/clock.ts';

export interface DoorLockOptions {
  unlockPulseMs?: number;
  failSafe?: boolean;
  clock?: Clock;
  bus?: EventBus;
  logger?: Logger;
}

const RELOCK_RETRY_MS = 1000;

export class DoorLock {
  readonly unlockPulseMs: number;
  readonly failSafe: boolean;
  private readonly clock: Clock;
  private current: RelayState = 'locked';
  private pulseTimer: unknown = null;
  private pulseEndsAt = 0;
  /** Drives are serialised so a lock can never overtake the unlock it follows. */
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  private held = false;
  private offHold: (() => void) | null = null;

  constructor(
    private readonly driver: RelayDriver,
    private readonly opts: DoorLockOptions = {},
  ) {
    this.unlockPulseMs = opts.unlockPulseMs ?? 3000;
    this.failSafe = opts.failSafe ?? false;
    this.clock = opts.clock ?? systemClock;
  }

  get state(): RelayState {
    return this.current;
  }

  /** The state every failure path drives: LOCKED (fail-secure) unless configured fail-safe. */
  get failState(): RelayState {
    return this.failSafe ? 'unlocked' : 'locked';
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.driver.init();
    if (this.failSafe) {
      this.opts.logger?.warn(
        { event: 'relay-config', failSafe: true },
        'relay is FAIL-SAFE: the door UNLOCKS on crash, signal or exit (maglock fire release); use only where required',
      );
    }
    await this.drive('locked', 'start-up');
    this.offHold?.();
    this.offHold =
      this.opts.bus?.on(
        'doorHold',
        ({ active, reason }) => (active ? this.holdUnlocked(reason) : this.endHold(reason)),
        'door-lock',
      ) ?? null;
  }

  /** Whether a hold keeps the relay unlocked. */
  get holding(): boolean {
    return this.held;
  }

  /** Unlocks until `endHold` (or lockNow, stop, any exit path); never rejects. */
  async holdUnlocked(reason: string): Promise<void> {
    if (this.stopped) return;
    this.held = true;
    this.clearPulseTimer();
    await this.drive('unlocked', `hold:${reason}`).catch(() => {});
  }

  /** Ends a hold and locks (a pulse started inside the hold does not outlive it); never rejects. */
  async endHold(reason: string): Promise<void> {
    if (!this.held) return;
    this.held = false;
    await this.lockNow(`hold-end:${reason}`);
  }

  /**
   * Unlocks for `unlockPulseMs`; a pulse during a pulse extends it from now. Never rejects: a relay that cannot be
   * driven is a `relay-error` alarm and log line, and the re-lock timer still runs.
   */
  async pulse(reason: string): Promise<void> {
    if (this.stopped || this.held) return;
    this.clearPulseTimer();
    this.pulseEndsAt = this.clock.now() + this.unlockPulseMs;
    this.pulseTimer = this.clock.setTimeout(() => this.endPulse(), this.unlockPulseMs);
    await this.drive('unlocked', reason, this.unlockPulseMs).catch(() => {});
  }

  /** Ends any pulse and locks; never rejects (a failure is alarmed and retried every second). */
  async lockNow(reason = 'lock-now'): Promise<void> {
    this.held = false;
    this.clearPulseTimer();
    await this.drive('locked', reason).catch(() => this.scheduleRelockRetry());
  }

  /** Epoch ms when the running pulse re-locks, or null. */
  get pulseEndsAtMs(): number | null {
    return this.pulseTimer === null ? null : this.pulseEndsAt;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.held = false;
    this.offHold?.();
    this.offHold = null;
    this.clearPulseTimer();
    await this.drive(this.failState, 'shutdown');
    await this.driver.close();
  }

  /** For exit paths: ends any pulse, drives the fail state synchronously and refuses pulses from now on. */
  failNowSync(): void {
    this.stopped = true;
    this.held = false;
    this.clearPulseTimer();
    this.driver.setSync(this.failState);
    this.current = this.failState;
  }

  private endPulse(): void {
    this.pulseTimer = null;
    if (this.held) return;
    this.drive('locked', 'pulse-end').catch(() => this.scheduleRelockRetry());
  }

  /** drive() already logged and alarmed; keep trying, a door must not stay unlocked on a transient error. */
  private scheduleRelockRetry(): void {
    if (!this.stopped && this.pulseTimer === null) {
      this.pulseTimer = this.clock.setTimeout(() => this.endPulse(), RELOCK_RETRY_MS);
    }
  }

  private clearPulseTimer(): void {
    if (this.pulseTimer !== null) this.clock.clearTimeout(this.pulseTimer);
    this.pulseTimer = null;
  }

  /** Drives `state` (a pulse of `pulseMs` when given) through the queue. */
  private drive(state: RelayState, reason: string, pulseMs?: number): Promise<void> {
    const run = async () => {
      let relockedAt: number | null;
      try {
        relockedAt =
          pulseMs === undefined
            ? await this.driver.set(state, { pulseDue: reason === 'pulse-end' })
            : await this.driver.pulse(pulseMs);
      } catch (err) {
        const detail = `relay could not be driven ${state}: ${errorMessage(err)}`;
        this.opts.logger?.error({ event: 'relay-error', state, reason, error: errorMessage(err) }, detail);
        this.opts.bus?.alarm('relay-error', detail, { time: this.clock.now() });
        throw err;
      }
      // The previous pulse ended by itself while this thread was busy: report that re-lock first, at its time.
      if (relockedAt !== null) this.changed('locked', 'pulse-end', relockedAt);
      this.changed(state, reason, this.clock.now());
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => {});
    return next;
  }

  private changed(state: RelayState, reason: string, time: number): void {
    const changed = state !== this.current;
    this.current = state;
    if (changed || reason === 'start-up') {
      this.opts.logger?.info({ event: 'relay', state, reason }, `relay ${state}`);
      this.opts.bus?.emit('relay', { state, time: new Date(time).toISOString() });
    }
  }
}
