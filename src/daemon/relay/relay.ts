/**
 * Door relay drivers behind one interface. Logical "unlocked" always means "relay energised": wire the lock so that a
 * de-energised relay keeps the door locked (fail-secure strike) or, for maglocks, through the relay's NC contact.
 * `activeLow` only flips the electrical level for relay boards that switch on a LOW input.
 */
import { appendFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { ExitCode, errorMessage, FacegateError } from '../../util/errors.ts';
import { GpiodRelay } from './gpiod-relay.ts';

export type RelayState = 'locked' | 'unlocked';

export interface RelayDriver {
  readonly description: string;
  init(): Promise<void>;
  set(state: RelayState): Promise<void>;
  /** Synchronous best effort, for exit paths (signal handlers, uncaught errors, process 'exit'). */
  setSync(state: RelayState): void;
  close(): Promise<void>;
}

export interface RelayDriverOptions {
  /** The relay board switches on when its input is LOW (most cheap opto-isolated boards). */
  activeLow?: boolean;
  logger?: Logger;
  /** The `gpioset` binary (tests point this at a fake). */
  gpiosetCommand?: string;
}

/** Logs and, with a record file, appends `{"t":epochMs,"state":...}` per change: synchronously, so a crash keeps it. */
export class SimulatedRelay implements RelayDriver {
  readonly description: string;
  private current: RelayState | null = null;

  constructor(
    private readonly recordFile: string | null,
    private readonly logger?: Logger,
  ) {
    this.description = recordFile ? `simulated relay (recording to ${recordFile})` : 'simulated relay';
  }

  async init(): Promise<void> {}

  async set(state: RelayState): Promise<void> {
    this.setSync(state);
  }

  setSync(state: RelayState): void {
    if (state === this.current) return;
    this.current = state;
    this.logger?.debug({ relayDriver: 'simulated', state }, 'simulated relay driven');
    if (this.recordFile) appendFileSync(this.recordFile, `${JSON.stringify({ t: Date.now(), state })}\n`);
  }

  get state(): RelayState | null {
    return this.current;
  }

  async close(): Promise<void> {}
}

interface OnoffGpio {
  writeSync(value: 0 | 1): void;
  write(value: 0 | 1): Promise<void>;
}
interface OnoffModule {
  Gpio: {
    new (gpio: number, direction: 'high' | 'low', edge?: 'none', options?: { activeLow?: boolean }): OnoffGpio;
    accessible: boolean;
  };
}

/**
 * sysfs GPIO through the `onoff` package (what the original card asked for). On Raspberry Pi OS Bookworm the sysfs
 * numbers are the BCM number + the gpiochip base (512+ on recent kernels): see README; newer kernels drop sysfs.
 */
export class OnoffRelay implements RelayDriver {
  readonly description: string;
  private gpio: OnoffGpio | null = null;

  constructor(
    private readonly gpioNumber: number,
    private readonly activeLow: boolean,
  ) {
    this.description = `onoff sysfs GPIO ${gpioNumber}${activeLow ? ' (active-low)' : ''}`;
  }

  async init(): Promise<void> {
    let mod: OnoffModule;
    try {
      mod = (await import('onoff')) as unknown as OnoffModule;
    } catch (err) {
      throw new FacegateError(`onoff not available: use gpiod:<chip>:<line> (${errorMessage(err)})`, ExitCode.config);
    }
    if (!mod.Gpio.accessible) {
      throw new FacegateError(
        `onoff: sysfs GPIO is not accessible on this machine (no /sys/class/gpio): use gpiod:<chip>:<line>`,
        ExitCode.config,
      );
    }
    try {
      // 'low' = output, initially logical 0 = relay off = locked, so opening the pin never pulses the door.
      this.gpio = new mod.Gpio(this.gpioNumber, 'low', 'none', { activeLow: this.activeLow });
    } catch (err) {
      throw new FacegateError(`onoff: cannot open GPIO ${this.gpioNumber}: ${errorMessage(err)}`, ExitCode.config);
    }
  }

  async set(state: RelayState): Promise<void> {
    if (!this.gpio) throw new FacegateError('onoff relay used before init()');
    await this.gpio.write(state === 'unlocked' ? 1 : 0);
  }

  setSync(state: RelayState): void {
    this.gpio?.writeSync(state === 'unlocked' ? 1 : 0);
  }

  /** Leaves the pin exported and driven: unexporting would float it, and the door must stay as last driven. */
  async close(): Promise<void> {
    this.gpio = null;
  }
}

/** Parses `simulated`, `simulated:<file>`, `onoff:<gpio>`, `gpiod:<chip>:<line>`; a bad spec is a config error. */
export function createRelayDriver(spec: string, opts: RelayDriverOptions = {}): RelayDriver {
  const [kind, ...rest] = spec.split(':');
  const arg = rest.join(':');
  switch (kind) {
    case 'simulated':
      return new SimulatedRelay(arg || null, opts.logger);
    case 'onoff': {
      if (!/^\d+$/.test(arg)) throw badSpec(spec, 'onoff:<gpio number>, e.g. onoff:529');
      return new OnoffRelay(Number(arg), opts.activeLow ?? false);
    }
    case 'gpiod': {
      const m = /^([^:]+):(\d+)$/.exec(arg);
      if (!m?.[1] || !m[2]) throw badSpec(spec, 'gpiod:<chip>:<line>, e.g. gpiod:gpiochip0:17');
      return new GpiodRelay(m[1], Number(m[2]), {
        activeLow: opts.activeLow ?? false,
        command: opts.gpiosetCommand ?? 'gpioset',
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
