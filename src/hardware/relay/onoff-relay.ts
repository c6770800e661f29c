/**
 * sysfs GPIO through the `onoff` package (what the original card asked for). On Raspberry Pi OS Bookworm the sysfs
 * numbers are the BCM number + the gpiochip base (512+ on recent kernels): see README; newer kernels drop sysfs.
 * A pulse writes 1, and its unit writes 0 to the pin's `value` file at the pulse's end (or the fail state at once
 * if facegate dies first). Every exit path drives the pin; the pin stays exported: unexporting hands it back to the
 * kernel, which on mainline kernels turns it into an input, and the relay then follows whatever pulls on the line.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { ExitCode, errorMessage, FacegateError } from '../../util/errors.ts';
import type { RelayDriver, RelayState, SetOptions } from './relay.ts';
import { RelayUnit, SLEEP_UNTIL_DUE, shQuote, UNIT_MARKER, UnitSlot } from './relay-unit.ts';
import { endStaleHolders, unitMatcher } from './stale-holders.ts';

/** The part of onoff's Gpio the relay uses. */
export interface OnoffGpio {
  writeSync(value: 0 | 1): void;
  write(value: 0 | 1): Promise<void>;
}

/** Opens GPIO `gpio` as an output at `initial` (onoff's `new Gpio(gpio, 'low', 'none', { activeLow })`). */
export type OnoffGpioFactory = (gpio: number, initial: 'low', opts: { activeLow: boolean }) => OnoffGpio;

interface OnoffModule {
  Gpio: {
    new (gpio: number, direction: 'high' | 'low', edge?: 'none', options?: { activeLow?: boolean }): OnoffGpio;
    accessible: boolean;
  };
}

async function onoffFactory(): Promise<OnoffGpioFactory> {
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
  return (gpio, initial, opts) => new mod.Gpio(gpio, initial, 'none', opts);
}

export interface OnoffRelayOptions {
  activeLow: boolean;
  failState: RelayState;
  logger?: Logger;
  gpioFactory?: OnoffGpioFactory;
  sysfsRoot?: string;
}

const level = (state: RelayState): 0 | 1 => (state === 'unlocked' ? 1 : 0);

export class OnoffRelay implements RelayDriver {
  readonly description: string;
  private gpio: OnoffGpio | null = null;
  private readonly slot = new UnitSlot();
  private readonly valueFile: string;

  constructor(
    private readonly gpioNumber: number,
    private readonly opts: OnoffRelayOptions,
  ) {
    this.description = `onoff sysfs GPIO ${gpioNumber}${opts.activeLow ? ' (active-low)' : ''}`;
    // onoff sets the pin's active_low attribute, so `value` holds the logical level.
    this.valueFile = path.join(opts.sysfsRoot ?? '/sys/class/gpio', `gpio${gpioNumber}`, 'value');
  }

  async init(): Promise<void> {
    await endStaleHolders(
      unitMatcher(UNIT_MARKER, ['onoff', String(this.gpioNumber)]),
      this.description,
      this.opts.logger,
    );
    const factory = this.opts.gpioFactory ?? (await onoffFactory());
    try {
      // 'low' = output, initially logical 0 = relay off = locked, so opening the pin never pulses the door.
      this.gpio = factory(this.gpioNumber, 'low', { activeLow: this.opts.activeLow });
    } catch (err) {
      throw new FacegateError(`onoff: cannot open GPIO ${this.gpioNumber}: ${errorMessage(err)}`, ExitCode.config);
    }
  }

  async pulse(ms: number): Promise<number | null> {
    const gpio = this.opened();
    const relockedAt = await this.slot.end(false);
    await gpio.write(1);
    const unit = new RelayUnit({
      ids: ['onoff', String(this.gpioNumber)],
      pulse: { ms, dueAt: Date.now() + ms, timed: SLEEP_UNTIL_DUE, lock: this.writeCommand('locked') },
      fail: this.writeCommand(this.opts.failState),
    });
    await this.slot.startPulse(unit, {
      driver: 'onoff',
      relock: () => this.setSync('locked'),
      logger: this.opts.logger,
    });
    return relockedAt;
  }

  async set(state: RelayState, opts: SetOptions = {}): Promise<number | null> {
    const gpio = this.opened();
    const relockedAt = await this.slot.end(opts.pulseDue ?? false);
    await gpio.write(level(state));
    return relockedAt;
  }

  setSync(state: RelayState): void {
    this.slot.endSync();
    this.gpio?.writeSync(level(state));
  }

  /** Ends a running pulse with the fail state; keeps the Gpio, so the exit guards can still drive the pin. */
  async close(): Promise<void> {
    if (this.gpio && this.slot.unit?.pulsing) await this.set(this.opts.failState);
  }

  private opened(): OnoffGpio {
    if (!this.gpio) throw new FacegateError('onoff relay used before init()');
    return this.gpio;
  }

  private writeCommand(state: RelayState): string {
    return `printf ${level(state)} > ${shQuote(this.valueFile)}`;
  }
}
