/** A contact on sysfs GPIO through the optional `onoff` package, with edge interrupts, debounced. */
import { errorMessage } from '../../util/errors.ts';
import type { ContactOptions, DoorContactSource } from './contact.ts';

interface OnoffInput {
  readSync(): 0 | 1;
  watch(cb: (err: Error | null | undefined, value: 0 | 1) => void): void;
  unwatchAll(): void;
  unexport(): void;
}

/** sysfs GPIO edge interrupts through `onoff`, debounced (reed switches bounce). */
export class OnoffContact implements DoorContactSource {
  readonly description: string;
  private gpio: OnoffInput | null = null;
  private stopped = false;
  constructor(
    private readonly gpioNumber: number,
    private readonly opts: ContactOptions,
  ) {
    this.description = `onoff GPIO ${gpioNumber} input`;
  }
  start(onChange: (active: boolean) => void): void {
    this.stopped = false;
    import('onoff')
      .then((mod) => {
        if (this.stopped) return;
        const Gpio = (mod as unknown as { Gpio: new (...args: unknown[]) => OnoffInput }).Gpio;
        const gpio = new Gpio(this.gpioNumber, 'in', 'both', {
          debounceTimeout: 20,
          activeLow: this.opts.activeLow ?? false,
        });
        this.gpio = gpio;
        onChange(gpio.readSync() === 1);
        gpio.watch((err, value) => {
          if (err) this.opts.logger?.warn({ event: 'door-contact', error: errorMessage(err) }, 'GPIO input error');
          else onChange(value === 1);
        });
      })
      .catch((err: unknown) => {
        this.opts.logger?.error(
          { event: 'door-contact', error: errorMessage(err) },
          `${this.description} unavailable: use gpiod:<chip>:<line>`,
        );
      });
  }
  async stop(): Promise<void> {
    this.stopped = true;
    this.gpio?.unwatchAll();
    this.gpio?.unexport();
    this.gpio = null;
  }
}
