/**
 * The door's own sensors: a contact (reed switch) that says open/closed and an optional request-to-exit button,
 * each an input of true/false (true = open / pressed). Drivers: simulated-contact.ts, onoff-contact.ts,
 * gpiod-contact.ts; create.ts picks one from a spec string. The door monitor (src/door/door-monitor.ts) turns them
 * into door states and alarms. Types only.
 */
import type { Logger } from 'pino';
import type { InputSource } from '../input-source.ts';

/** A binary input: the door contact (true = open) or a request-to-exit button (true = pressed). */
export type DoorContactSource = InputSource<boolean>;

export interface ContactOptions {
  /** The input reads LOW when the door is open / the button pressed. */
  activeLow?: boolean;
  /** gpiod: enable the SoC pull-up (a reed switch to ground needs one). */
  pullUp?: boolean;
  logger?: Logger;
  /** The gpiod tools (tests point these at fakes). */
  gpiomonCommand?: string;
  gpiogetCommand?: string;
}
