/**
 * The door lock as the daemon sees it: a relay that is LOCKED unless a pulse is running. Fail-secure by default —
 * start-up, every signal, every uncaught error and process exit drive LOCKED first; `failSafe` (maglocks that must
 * release in a fire) drives UNLOCKED on failure paths instead, and says so at start-up.
 * The pulse is timed here on the main thread, so it ends the same way however the rest of the daemon is doing.
 */
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../../util/clock.ts';
import { errorMessage } from '../../util/errors.ts';
import type { EventBus } from '../event-bus.ts';
import type { RelayDriver, RelayState } from './relay.ts';

export { type Clock, systemClock } from '../../util/clock.ts';

export interface DoorLockOptions {
  unlockPulseMs?: number;
  failSafe?: boolean;
  clock?: Clock;
  bus?: EventBus;
  logger?: Logger;
}

/** The parts of `process` the exit guards use (a fake in tests). */
export interface GuardedProcess {
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
  exit(code?: number): never | undefined;
}

export interface ExitGuardOptions {
  /**
   * Called once after the relay was driven to its exit state on SIGTERM/SIGINT; finishes shutdown (flush the database,
   * stop modules) and exits. Without it the guard stops the lock and exits 0 itself.
   */
  onSignal?: (signal: 'SIGTERM' | 'SIGINT') => void | Promise<void>;
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
  }

  /**
   * Unlocks for `unlockPulseMs`; a pulse during a pulse extends it from now. Never rejects: a relay that cannot be
   * driven is a `relay-error` alarm and log line, and the re-lock timer still runs.
   */
  async pulse(reason: string): Promise<void> {
    if (this.stopped) return;
    this.clearPulseTimer();
    this.pulseEndsAt = this.clock.now() + this.unlockPulseMs;
    this.pulseTimer = this.clock.setTimeout(() => this.endPulse(), this.unlockPulseMs);
    if (this.current !== 'unlocked') await this.drive('unlocked', reason).catch(() => {});
  }

  /** Ends any pulse and locks; never rejects (a failure is alarmed and retried every second). */
  async lockNow(reason = 'lock-now'): Promise<void> {
    this.clearPulseTimer();
    await this.drive('locked', reason).catch(() => this.scheduleRelockRetry());
  }

  /** Epoch ms when the running pulse re-locks, or null. */
  get pulseEndsAtMs(): number | null {
    return this.pulseTimer === null ? null : this.pulseEndsAt;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearPulseTimer();
    await this.drive(this.failState, 'shutdown');
    await this.driver.close();
  }

  /**
   * Makes every way out of the process leave the door in its fail state. Returns a function that removes the guards.
   * Signals: drive synchronously, then hand over to `onSignal` (or stop and exit 0). A second signal while shutting
   * down drives again and exits at once (non-zero).
   */
  installExitGuards(proc: GuardedProcess = process as unknown as GuardedProcess, guardOpts: ExitGuardOptions = {}) {
    let shuttingDown = false;
    const driveFailStateSync = () => {
      this.clearPulseTimer();
      try {
        this.driver.setSync(this.failState);
        this.current = this.failState;
      } catch (err) {
        this.opts.logger?.error({ event: 'relay', error: errorMessage(err) }, 'could not drive the relay on exit');
      }
    };
    const onSignal = (signal: 'SIGTERM' | 'SIGINT') => {
      driveFailStateSync();
      if (shuttingDown) {
        this.opts.logger?.warn({ signal }, 'second signal during shutdown: exiting now');
        proc.exit(1);
        return;
      }
      shuttingDown = true;
      this.stopped = true;
      this.opts.logger?.info({ signal, state: this.failState }, 'signal received: relay driven, shutting down');
      const finish = guardOpts.onSignal
        ? Promise.resolve().then(() => guardOpts.onSignal?.(signal))
        : this.stop().then(() => proc.exit(0));
      finish.catch((err: unknown) => {
        this.opts.logger?.error({ error: errorMessage(err) }, 'shutdown failed');
        driveFailStateSync();
        proc.exit(1);
      });
    };
    const onFatal = (err: unknown) => {
      driveFailStateSync();
      this.opts.logger?.fatal(
        { event: 'crash', error: errorMessage(err), state: this.failState },
        'uncaught error: relay driven to its fail state, exiting',
      );
      proc.exit(2);
    };
    const onTerm = () => onSignal('SIGTERM');
    const onInt = () => onSignal('SIGINT');
    const onExit = () => driveFailStateSync();
    proc.on('SIGTERM', onTerm);
    proc.on('SIGINT', onInt);
    proc.on('uncaughtException', onFatal);
    proc.on('unhandledRejection', onFatal);
    proc.on('exit', onExit);
    return () => {
      proc.off('SIGTERM', onTerm);
      proc.off('SIGINT', onInt);
      proc.off('uncaughtException', onFatal);
      proc.off('unhandledRejection', onFatal);
      proc.off('exit', onExit);
    };
  }

  private endPulse(): void {
    this.pulseTimer = null;
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

  private drive(state: RelayState, reason: string): Promise<void> {
    const run = async () => {
      try {
        await this.driver.set(state);
      } catch (err) {
        const detail = `relay could not be driven ${state}: ${errorMessage(err)}`;
        this.opts.logger?.error({ event: 'relay-error', state, reason, error: errorMessage(err) }, detail);
        this.opts.bus?.alarm('relay-error', detail, { time: this.clock.now() });
        throw err;
      }
      const changed = state !== this.current;
      this.current = state;
      if (changed || reason === 'start-up') {
        const time = new Date(this.clock.now()).toISOString();
        this.opts.logger?.info({ event: 'relay', state, reason }, `relay ${state}`);
        this.opts.bus?.emit('relay', { state, time });
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => {});
    return next;
  }
}
