/**
 * Door relay drivers behind one interface. Logical "unlocked" always means "relay energised": wire the lock so that a
 * de-energised relay keeps the door locked (fail-secure strike) or, for maglocks, through the relay's NC contact.
 * `activeLow` only flips the electrical level for relay boards that switch on a LOW input.
 * Every driver ends a pulse from a relay unit (relay-unit.ts), a process of its own, never from this thread's
 * event loop, and the unit drives the fail state if facegate dies mid-pulse, even by SIGKILL.
 */
import { appendFileSync, closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { ExitCode, FacegateError } from '../../util/errors.ts';
import { GpiodRelay } from './gpiod-relay.ts';
import { type OnoffGpioFactory, OnoffRelay } from './onoff-relay.ts';
import { RelayUnit, SLEEP_UNTIL_DUE, shQuote, UNIT_MARKER, UnitSlot } from './relay-unit.ts';
import { endStaleHolders, unitMatcher } from './stale-holders.ts';

export type RelayState = 'locked' | 'unlocked';

export interface RelayDriver {
  readonly description: string;
  /** Ends leftovers of a previous run on this relay and opens it; drives nothing yet. */
  init(): Promise<void>;
  /**
   * Unlocks now and re-locks after `ms` by the driver's own timer, outside this thread's event loop; a pulse during a
   * pulse restarts it from now. Resolves to the epoch ms at which the previous pulse had re-locked by itself, when it
   * did so since the last call (the caller's view may lag behind while its event loop is busy), else null.
   */
  pulse(ms: number): Promise<number | null>;
  /**
   * Drives `state`, ending any pulse at once — except with `pulseDue` (the caller's own timer says the pulse is due),
   * which first lets a pulse about to end re-lock by itself; resolves like pulse().
   */
  set(state: RelayState, opts?: SetOptions): Promise<number | null>;
  /** Synchronous best effort, for exit paths (signal handlers, uncaught errors, process 'exit'): ends any pulse. */
  setSync(state: RelayState): void;
  /** Lets go of the relay, leaving it as last driven; a pulse still running is ended with the fail state. */
  close(): Promise<void>;
}

export interface SetOptions {
  pulseDue?: boolean;
}

export interface RelayDriverOptions {
  /** The relay board switches on when its input is LOW (most cheap opto-isolated boards). */
  activeLow?: boolean;
  /** What a unit drives when facegate dies mid-pulse and what close() leaves: unlocked only for fail-safe doors. */
  failState?: RelayState;
  logger?: Logger;
  /** The `gpioset` binary (tests point this at a fake). */
  gpiosetCommand?: string;
  /** Opens a sysfs GPIO (tests inject a fake; default: the `onoff` package). */
  gpioFactory?: OnoffGpioFactory;
  /** Where the sysfs GPIO tree is (tests point this at a fake tree); default /sys/class/gpio. */
  sysfsRoot?: string;
}

const RECORD_TAIL_BYTES = 256;

/** The state in the last line of a record file, or null. */
function lastRecordedState(file: string): RelayState | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, RECORD_TAIL_BYTES));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    const match = /"state":"(locked|unlocked)"\}\s*$/.exec(buf.toString('utf8'));
    return (match?.[1] as RelayState | undefined) ?? null;
  } finally {
    closeSync(fd);
  }
}

/**
 * Logs and, with a record file, appends `{"t":epochMs,"state":...}` per change, synchronously so a crash keeps it.
 * With a file the pulse's re-lock line is written by its unit, like real hardware re-locked by its own timer; without
 * one the relay is purely in memory and re-locks on its own clock.
 */
export class SimulatedRelay implements RelayDriver {
  readonly description: string;
  private current: RelayState | null = null;
  private readonly slot = new UnitSlot();
  private readonly failState: RelayState;
  /** In-memory relay: performance.now() at which the running pulse re-locks. */
  private virtualDueAt: number | null = null;

  constructor(
    private readonly recordFile: string | null,
    private readonly logger?: Logger,
    opts: { failState?: RelayState } = {},
  ) {
    this.description = recordFile ? `simulated relay (recording to ${recordFile})` : 'simulated relay';
    this.failState = opts.failState ?? 'locked';
  }

  private get ids(): string[] {
    return ['simulated', this.recordFile ?? ''];
  }

  async init(): Promise<void> {
    if (this.recordFile) await endStaleHolders(unitMatcher(UNIT_MARKER, this.ids), this.description, this.logger);
  }

  async pulse(ms: number): Promise<number | null> {
    const relockedAt = await this.settle(false);
    this.write('unlocked');
    if (!this.recordFile) {
      this.virtualDueAt = performance.now() + ms;
      return relockedAt;
    }
    const unit = new RelayUnit({
      ids: this.ids,
      pulse: { ms, dueAt: Date.now() + ms, timed: SLEEP_UNTIL_DUE, lock: this.appendCommand('locked') },
      fail: this.appendCommand(this.failState),
    });
    await this.slot.startPulse(unit, {
      driver: 'simulated',
      relock: () => this.setSync('locked'),
      onRelocked: () => {
        this.current = 'locked';
      },
      logger: this.logger,
    });
    return relockedAt;
  }

  async set(state: RelayState, opts: SetOptions = {}): Promise<number | null> {
    const relockedAt = await this.settle(opts.pulseDue ?? false);
    this.write(state);
    return relockedAt;
  }

  setSync(state: RelayState): void {
    this.slot.endSync();
    this.virtualDueAt = null;
    this.write(state);
  }

  get state(): RelayState | null {
    this.settleVirtual();
    return this.current;
  }

  async close(): Promise<void> {
    if (this.slot.unit?.pulsing || this.virtualDueAt !== null) await this.set(this.failState);
  }

  /** Ends the unit and takes its re-lock, if any, as the current state. */
  private async settle(letFinish: boolean): Promise<number | null> {
    const virtual = this.settleVirtual();
    if (!this.slot.unit) return virtual;
    return this.slot.end(letFinish);
  }

  private settleVirtual(): number | null {
    const due = this.virtualDueAt;
    if (due === null || performance.now() < due) return null;
    this.virtualDueAt = null;
    this.current = 'locked';
    return Math.round(performance.timeOrigin + due);
  }

  /** The unit's shell command appending a `state` line stamped with its `$t`. */
  private appendCommand(state: RelayState): string {
    const line = shQuote(`{"t":%s,"state":"${state}"}\\n`);
    return `printf ${line} "$t" >> ${shQuote(this.recordFile ?? '/dev/null')}`;
  }

  private write(state: RelayState): void {
    // The record is the relay: a unit may have re-locked it (or been killed while it wrote) since we last looked.
    if (this.recordFile) this.current = lastRecordedState(this.recordFile);
    if (state === this.current) return;
    this.current = state;
    this.logger?.debug({ relayDriver: 'simulated', state }, 'simulated relay driven');
    if (this.recordFile) appendFileSync(this.recordFile, `${JSON.stringify({ t: Date.now(), state })}\n`);
  }
}

/** Parses `simulated`, `simulated:<file>`, `onoff:<gpio>`, `gpiod:<chip>:<line>`; a bad spec is a config error. */
export function createRelayDriver(spec: string, opts: RelayDriverOptions = {}): RelayDriver {
  const [kind, ...rest] = spec.split(':');
  const arg = rest.join(':');
  const failState = opts.failState ?? 'locked';
  switch (kind) {
    case 'simulated':
      return new SimulatedRelay(arg || null, opts.logger, { failState });
    case 'onoff': {
      if (!/^\d+$/.test(arg)) throw badSpec(spec, 'onoff:<gpio number>, e.g. onoff:529');
      return new OnoffRelay(Number(arg), {
        activeLow: opts.activeLow ?? false,
        failState,
        logger: opts.logger,
        gpioFactory: opts.gpioFactory,
        sysfsRoot: opts.sysfsRoot,
      });
    }
    case 'gpiod': {
      const m = /^([^:]+):(\d+)$/.exec(arg);
      if (!m?.[1] || !m[2]) throw badSpec(spec, 'gpiod:<chip>:<line>, e.g. gpiod:gpiochip0:17');
      return new GpiodRelay(m[1], Number(m[2]), {
        activeLow: opts.activeLow ?? false,
        command: opts.gpiosetCommand ?? 'gpioset',
        failState,
        logger: opts.logger,
      });
    }
    default:
      throw badSpec(spec, 'simulated | simulated:<file> | onoff:<gpio> | gpiod:<chip>:<line>');
  }
}

function badSpec(spec: string, expected: string): FacegateError {
  return new FacegateError(`relay "${spec}": expected ${expected}`, ExitCode.config);
}
