/** The door contact (or exit button) a spec string names: `simulated`, `onoff:<gpio>` or `gpiod:<chip>:<line>`. */
import { ExitCode, FacegateError } from '../../util/errors.ts';
import type { ContactOptions, DoorContactSource } from './contact.ts';
import { GpiodContact } from './gpiod-contact.ts';
import { OnoffContact } from './onoff-contact.ts';
import { SimulatedContact } from './simulated-contact.ts';

export function createDoorContact(spec: string, opts: ContactOptions = {}): DoorContactSource {
  const [kind, ...rest] = spec.split(':');
  const arg = rest.join(':');
  if (kind === 'simulated' && !arg) return new SimulatedContact();
  if (kind === 'onoff' && /^\d+$/.test(arg)) return new OnoffContact(Number(arg), opts);
  const m = /^([^:]+):(\d+)$/.exec(arg);
  if (kind === 'gpiod' && m?.[1] && m[2]) return new GpiodContact(m[1], Number(m[2]), opts);
  throw new FacegateError(
    `door contact "${spec}": expected simulated | onoff:<gpio> | gpiod:<chip>:<line>`,
    ExitCode.config,
  );
}
