/**
 * Relay through the Debian `gpiod` tools (libgpiod character device), for kernels without sysfs GPIO (Pi 5, newer
 * kernels, Bookworm's +512 offsets). A character-device line is driven only while a process holds it, so a relay unit
 * (relay-unit.ts) always runs a `gpioset` holding the line:
 * - locked (or a fail-safe unlock): a holder, v1 `gpioset --mode=signal <chip> <line>=0`, v2 `gpioset -c <chip>
 *   <line>=0` (v2 holds until signalled without reading stdin, unlike `-i`, which ignores end of input and spins);
 * - a pulse: gpioset's own timed one-shot first — v2 `-t <ms>,0` sets 1, toggles to 0 after <ms> and exits; v1
 *   `--mode=time --sec/--usec` holds 1 for the time — then the locked holder, all inside the unit, so the re-lock
 *   never waits for this process's event loop.
 * The unit dies with us: when facegate ends, even by SIGKILL, it ends its gpioset and sets the fail state with a
 * one-shot `gpioset` (v1 `--mode=exit`, v2 `-t0`), leaving the line free for the restarted daemon. At start-up any
 * leftover holder of our line (an older facegate's orphaned `gpioset -i`) is ended first.
 * What a released line does is up to the board and kernel: wire for "undriven = locked".
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Logger } from 'pino';
import { errorMessage, FacegateError } from '../../util/errors.ts';
import { detectGpiodVersion, type GpiodCliVersion } from '../gpiod-cli.ts';
import type { RelayDriver, RelayState, SetOptions } from './relay.ts';
import { RelayUnit, shJoin, UNIT_MARKER, UnitSlot } from './relay-unit.ts';
import { endStaleHolders, unitMatcher } from './stale-holders.ts';

export interface GpiosetCall {
  /** hold: drive `value` until signalled; once: set and exit; timed: `value` for `ms`, then (v2) toggle and exit. */
  mode: 'hold' | 'once' | 'timed';
  version: GpiodCliVersion;
  chip: string;
  line: number;
  value: 0 | 1;
  activeLow: boolean;
  ms?: number;
}

/** gpioset's argv for libgpiod v1 or v2 (exported for tests of the CLI syntax). */
export function gpiosetArgs(call: GpiosetCall): string[] {
  const { version, chip, line, value, ms = 0 } = call;
  const low = call.activeLow ? ['--active-low'] : [];
  const lineValue = `${line}=${value}`;
  if (version === 1) {
    const mode = {
      hold: ['--mode=signal'],
      once: ['--mode=exit'],
      timed: ['--mode=time', `--sec=${Math.floor(ms / 1000)}`, `--usec=${(ms % 1000) * 1000}`],
    }[call.mode];
    return [...mode, ...low, chip, lineValue];
  }
  // v2 periods without a unit are milliseconds; a last period of 0 makes gpioset exit after the toggles.
  const mode = { hold: [], once: ['-t0'], timed: ['-t', `${ms},0`] }[call.mode];
  return [...mode, ...low, '-c', chip, lineValue];
}

/** A unit's gpioset that exits within this long could not take the line (EBUSY, bad chip...). */
const EARLY_EXIT_MS = 150;
const ONCE_ATTEMPTS = 10;

const level = (state: RelayState): 0 | 1 => (state === 'unlocked' ? 1 : 0);

export class GpiodRelay implements RelayDriver {
  readonly description: string;
  private version: GpiodCliVersion = 1;
  private readonly slot = new UnitSlot();
  /** What the current unit's holder drives once its pulse (if any) is over. */
  private holdValue: 0 | 1 | null = null;
  private readonly command: string;
  private readonly activeLow: boolean;
  private readonly failState: RelayState;
  private readonly logger?: Logger;

  constructor(
    private readonly chip: string,
    private readonly line: number,
    opts: { activeLow: boolean; command: string; failState?: RelayState; logger?: Logger },
  ) {
    this.command = opts.command;
    this.activeLow = opts.activeLow;
    this.failState = opts.failState ?? 'locked';
    this.logger = opts.logger;
    this.description = `gpiod ${chip} line ${line}${opts.activeLow ? ' (active-low)' : ''}`;
  }

  async init(): Promise<void> {
    this.version = detectGpiodVersion(this.command);
    const ours = unitMatcher(UNIT_MARKER, this.ids);
    const gpioset = path.basename(this.command);
    const drivesOurLine = (argv: readonly string[]) =>
      // argv[1]: a gpioset that is a script runs as `<interpreter> <script> args...`.
      (path.basename(argv[0] ?? '') === gpioset || path.basename(argv[1] ?? '') === gpioset) &&
      argv.includes(this.chip) &&
      argv.some((arg) => arg.startsWith(`${this.line}=`));
    await endStaleHolders((argv) => ours(argv) || drivesOurLine(argv), this.description, this.logger);
  }

  async pulse(ms: number): Promise<number | null> {
    const relockedAt = await this.slot.end(false);
    await this.startUnit(0, { ms, timed: this.shell('timed', 1, ms), lock: ':' });
    return relockedAt;
  }

  async set(state: RelayState, opts: SetOptions = {}): Promise<number | null> {
    const value = level(state);
    if (opts.pulseDue) await this.slot.letPulseFinish();
    const unit = this.slot.unit;
    if (unit?.running && unit.pulseOver && this.holdValue === value) return this.slot.takeRelock();
    const relockedAt = await this.slot.end(false);
    await this.startUnit(value);
    return relockedAt;
  }

  setSync(state: RelayState): void {
    this.slot.endSync();
    this.holdValue = null;
    // The killed holder releases the line within milliseconds; retry briefly while the line is still busy.
    const args = this.args('once', level(state));
    for (let attempt = 0; attempt < ONCE_ATTEMPTS; attempt++) {
      const out = spawnSync(this.command, args, { timeout: 2000, stdio: 'ignore' });
      if (out.status === 0) return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
    this.logger?.error({ relayDriver: 'gpiod', state }, `gpioset could not drive ${this.description} ${state}`);
  }

  /** Releases the line at its last driven value; a pulse still running is ended with the fail state first. */
  async close(): Promise<void> {
    if (this.slot.unit?.pulsing) this.setSync(this.failState);
    else await this.slot.end(false);
    this.holdValue = null;
  }

  private get ids(): string[] {
    return ['gpiod', this.chip, String(this.line)];
  }

  private args(mode: GpiosetCall['mode'], value: 0 | 1, ms?: number): string[] {
    const { version, chip, line, activeLow } = this;
    return gpiosetArgs({ mode, version, chip, line, value, activeLow, ms });
  }

  /** The same call as a command line for a unit. */
  private shell(mode: GpiosetCall['mode'], value: 0 | 1, ms?: number): string {
    return shJoin([this.command, ...this.args(mode, value, ms)]);
  }

  private async startUnit(holdValue: 0 | 1, pulse?: { ms: number; timed: string; lock: string }): Promise<void> {
    const unit = new RelayUnit({
      ids: this.ids,
      pulse,
      hold: this.shell('hold', holdValue),
      fail: this.shell('once', level(this.failState)),
    });
    this.holdValue = holdValue;
    try {
      await this.slot.start(unit, EARLY_EXIT_MS, (ended) => {
        this.holdValue = null;
        this.logger?.error(
          { relayDriver: 'gpiod', why: ended.describeExit() },
          'gpioset holding the relay line exited',
        );
      });
    } catch (err) {
      this.holdValue = null;
      throw new FacegateError(`gpiod relay ${this.chip}:${this.line}: ${errorMessage(err)}`);
    }
  }
}
