/**
 * A relay unit: one small POSIX `sh` process per pulse (and, for gpiod, per held line) that owns the timing the main
 * thread must not. It ends the pulse on its own clock, so a stalled event loop cannot stretch it (before units, a
 * 10 s JSON parse on the main thread kept a 3.0 s pulse unlocked for 11.2 s), and it drives the fail state as soon
 * as facegate dies, even by SIGKILL: it reads a pipe from us, and end of input means we are gone.
 *
 * The script runs the driver's pre-quoted shell commands in phases:
 *   FG_TIMED  holds "unlocked" for the pulse and returns at its end (`sleep`, or gpiod's own timed `gpioset`); with
 *             FG_DUE (epoch ms) it gets `$secs` left until then, so the time the unit took to start is not added;
 *   FG_LOCK   then drives locked once, and the unit prints `locked <epoch ms>`;
 *   FG_HOLD   then keeps running while the line must stay driven (gpiod: a character-device line is driven only
 *             while a process holds it);
 *   FG_FAIL   on SIGTERM/SIGHUP/SIGINT or end of input: everything else in the unit is ended, then the fail state
 *             is driven once (`failed <epoch ms>`).
 * Each unit is its own process group (spawned detached, so a Ctrl-C in our terminal is ours to handle): the driver
 * ends it with SIGKILL to the group, which skips FG_FAIL because the driver drives the next state itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { FacegateError } from '../../util/errors.ts';

/** argv[0] of every unit's script, followed by the relay's ids: how the start-up scan recognises our leftovers. */
export const UNIT_MARKER = 'facegate-relay';

/** Sets shell variable `name` to the epoch ms (one `date`; whole seconds where `date` has no %N). */
const now = (name: string) =>
  `${name}=$(date +%s%3N); case $${name} in *[!0-9]*) ${name}=$(($(date +%s) * 1000));; esac`;

const SCRIPT = `trap '' PIPE
exec 3<&0 </dev/null
{ cat <&3 >/dev/null; kill -TERM $$; } 2>/dev/null &
exec 3<&-
quit() { trap '' TERM HUP INT; kill -TERM 0 2>/dev/null; exit "$1"; }
fail() {
  trap '' TERM HUP INT
  kill -TERM 0 2>/dev/null
  wait
  trap - TERM HUP INT
  ${now('t')}
  eval "$FG_FAIL"
  echo "failed $t"
  exit 6
}
trap fail TERM HUP INT
if [ -n "$FG_DUE" ]; then
  ${now('n')}
  ms=$((FG_DUE - n))
  [ "$ms" -gt 0 ] || ms=0
  r=$((ms % 1000)); case \${#r} in 1) r=00$r;; 2) r=0$r;; esac
  secs=$((ms / 1000)).$r
fi
if [ -n "$FG_TIMED" ]; then
  eval "$FG_TIMED" &
  wait $! || quit 3
  ${now('t')}
  eval "$FG_LOCK" || quit 4
  echo "locked $t"
fi
if [ -n "$FG_HOLD" ]; then
  eval "$FG_HOLD" &
  wait $!
  quit 5
fi
quit 0
`;

/** Exit codes of the script, for messages. */
const EXIT_REASONS: Record<number, string> = {
  0: 'pulse ended',
  3: 'the timed unlock failed',
  4: 'the re-lock failed',
  5: 'the holder exited',
  6: 'terminated from outside: fail state driven',
};

/** One shell word. */
export function shQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command line for `eval`, every word quoted. */
export function shJoin(argv: readonly string[]): string {
  return argv.map(shQuote).join(' ');
}

export interface UnitSpec {
  /** The relay's ids after the marker, e.g. ['gpiod', 'gpiochip0', '17']. */
  ids: string[];
  /**
   * A pulse: FG_TIMED returns after `ms` (or at `dueAt`, epoch ms, when given: FG_TIMED then sleeps "$secs");
   * FG_LOCK drives locked (`$t` holds the epoch ms).
   */
  pulse?: { ms: number; timed: string; lock: string; dueAt?: number };
  /** FG_HOLD. */
  hold?: string;
  /** FG_FAIL (`$t` holds the epoch ms). */
  fail: string;
}

export interface UnitExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class RelayUnit {
  /** performance.now() at which the pulse phase is due to end; null without a pulse. */
  readonly pulseDueAt: number | null;
  /** Epoch ms at which the unit re-locked after its pulse (reported by the unit), or null. */
  relockedAt: number | null = null;
  private readonly child: ChildProcess;
  private stderr = '';
  private exitInfo: UnitExit | null = null;
  private readonly closed: Promise<UnitExit>;
  private readonly phaseListeners = new Set<() => void>();

  constructor(spec: UnitSpec) {
    this.pulseDueAt = spec.pulse ? performance.now() + spec.pulse.ms : null;
    this.child = spawn('/bin/sh', ['-c', SCRIPT, UNIT_MARKER, ...spec.ids], {
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      // Only what the commands need: the daemon's environment may hold secrets (FACEGATE_* from the unit's env file).
      env: {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        FG_DUE: spec.pulse?.dueAt === undefined ? '' : String(Math.round(spec.pulse.dueAt)),
        FG_TIMED: spec.pulse?.timed ?? '',
        FG_LOCK: spec.pulse?.lock ?? '',
        FG_HOLD: spec.hold ?? '',
        FG_FAIL: spec.fail,
      },
    });
    this.child.stdin?.on('error', () => {});
    let out = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
        this.onLine(out.slice(0, nl));
        out = out.slice(nl + 1);
      }
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-500);
    });
    this.closed = new Promise((resolve) => {
      this.child.on('error', (err) => {
        this.stderr = err.message;
        this.exitInfo ??= { code: null, signal: null };
        this.notifyPhase();
        resolve(this.exitInfo);
      });
      // 'close' comes after the stdio streams ended, so every line the unit printed has been read.
      this.child.on('close', (code, signal) => {
        this.exitInfo = { code, signal };
        this.child.stdin?.destroy();
        this.notifyPhase();
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** A pulse is running: the unit has not re-locked yet. */
  get pulsing(): boolean {
    return this.running && !this.pulseOver;
  }

  /** The pulse phase is over: re-locked by the unit (or there was none). */
  get pulseOver(): boolean {
    return this.pulseDueAt === null || this.relockedAt !== null;
  }

  /** ms until the pulse phase is due to end (negative when overdue); 0 without a pulse. */
  remainingMs(): number {
    return this.pulseDueAt === null ? 0 : this.pulseDueAt - performance.now();
  }

  /** Resolves on exit (after its output was read). */
  exited(): Promise<UnitExit> {
    return this.closed;
  }

  /** One line on what ended the unit, for errors and logs. */
  describeExit(): string {
    const info = this.exitInfo;
    const why = !info
      ? 'still running'
      : info.signal
        ? `killed by ${info.signal}`
        : (EXIT_REASONS[info.code ?? -1] ?? `exit code ${info.code}`);
    const last = this.stderr.trim().split('\n').pop() ?? '';
    return last ? `${why}: ${last}` : why;
  }

  /**
   * Resolves once the unit has run `settleMs` without exiting (a gpioset that cannot take the line exits at once);
   * rejects with its stderr otherwise. With 0 it only checks that the process was created (no event-loop turn).
   */
  async started(settleMs: number): Promise<void> {
    if (this.child.pid === undefined) throw new FacegateError('cannot start /bin/sh for the relay unit');
    if (settleMs <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    const settled = new Promise<'running'>((resolve) => {
      timer = setTimeout(() => resolve('running'), settleMs);
    });
    const result = await Promise.race([settled, this.closed]);
    clearTimeout(timer);
    if (result !== 'running' && this.exitInfo?.code !== 0) throw new FacegateError(this.describeExit());
  }

  /** Waits up to `timeoutMs` for the pulse phase to end by itself; true when it re-locked. */
  async awaitPulseEnd(timeoutMs: number): Promise<boolean> {
    if (this.pulseOver || !this.running) return this.pulseOver;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.phaseListeners.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.phaseListeners.add(done);
    });
    return this.pulseOver;
  }

  /** Ends the whole unit at once (SIGKILL to its group: no fail-state action) and waits for it. */
  async kill(): Promise<UnitExit> {
    this.killSync();
    return this.closed;
  }

  /** Synchronous kill for exit paths; the processes are gone (and their lines released) within milliseconds. */
  killSync(): void {
    const pid = this.child.pid;
    if (!pid || !this.running) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  private onLine(line: string): void {
    const [word, ms] = line.trim().split(' ');
    if (word !== 'locked') return;
    const t = Number(ms);
    this.relockedAt = Number.isFinite(t) && t > 1e12 ? t : Date.now();
    this.notifyPhase();
  }

  private notifyPhase(): void {
    for (const listener of [...this.phaseListeners]) listener();
  }
}

/** How long set() lets a pulse that is about to end finish by itself rather than cutting it short. */
const FINISH_GRACE_MS = 250;

/** The one unit a driver runs at a time, and whether its self-re-lock was already reported. */
export class UnitSlot {
  unit: RelayUnit | null = null;
  private reported: RelayUnit | null = null;

  /** Epoch ms at which `unit` (default: the current one) re-locked after its pulse, reported once. */
  takeRelock(unit: RelayUnit | null = this.unit): number | null {
    if (!unit || unit.relockedAt === null || this.reported === unit) return null;
    this.reported = unit;
    return unit.relockedAt;
  }

  /**
   * Starts the pulse unit of a driver that drove "unlocked" itself: if the unit cannot start, `relock()` runs and the
   * error is thrown. `onRelocked` runs when the unit exits after re-locking while still current; an early end is
   * logged.
   */
  async startPulse(
    unit: RelayUnit,
    opts: { driver: string; relock: () => void; onRelocked?: () => void; logger?: Logger },
  ): Promise<void> {
    try {
      await this.start(unit, 0, (ended) => {
        if (ended.relockedAt !== null) opts.onRelocked?.();
        else opts.logger?.error({ relayDriver: opts.driver, why: ended.describeExit() }, 'relay unit ended early');
      });
    } catch (err) {
      opts.relock();
      throw err;
    }
  }

  /** Waits (bounded) for a pulse that is due within the grace to end by itself: one re-lock, from the unit. */
  async letPulseFinish(): Promise<void> {
    const unit = this.unit;
    if (unit?.running && !unit.pulseOver && unit.remainingMs() <= FINISH_GRACE_MS) {
      await unit.awaitPulseEnd(Math.max(0, unit.remainingMs()) + FINISH_GRACE_MS);
    }
  }

  /**
   * Ends the current unit — with `letFinish`, after letting a nearly finished pulse end by itself — and resolves to
   * the epoch ms at which it had re-locked by itself (not yet reported), or null.
   */
  async end(letFinish: boolean): Promise<number | null> {
    if (letFinish) await this.letPulseFinish();
    const unit = this.unit;
    this.unit = null;
    if (unit?.running) await unit.kill();
    return this.takeRelock(unit);
  }

  endSync(): void {
    this.unit?.killSync();
    this.unit = null;
  }

  /**
   * Makes `unit` the current one once it has run `settleMs` (see RelayUnit.started; rejects, leaving the slot empty,
   * if it ended first); `onEnd` runs if it exits later on its own while still current.
   */
  async start(unit: RelayUnit, settleMs: number, onEnd: (unit: RelayUnit) => void): Promise<void> {
    this.unit = unit;
    try {
      await unit.started(settleMs);
    } catch (err) {
      if (this.unit === unit) this.unit = null;
      throw err;
    }
    void unit.exited().then(() => {
      if (this.unit === unit) onEnd(unit);
    });
  }
}

/** FG_TIMED for a unit with `dueAt`: sleeps until then (GNU and busybox sleep take fractions). */
export const SLEEP_UNTIL_DUE = 'sleep "$secs"';
