/** The relay driver a spec string names: `simulated[:<file>]`, `onoff:<gpio>` or `gpiod:<chip>:<line>`. */
import type { Logger } from 'pino';
import { ExitCode, FacegateError } from '../../util/errors.ts';
import { GpiodRelay } from './gpiod-relay.ts';
import { type OnoffGpioFactory, OnoffRelay } from './onoff-relay.ts';
import type { RelayDriver, RelayState } from './relay.ts';
import { SimulatedRelay } from './simulated-relay.ts';

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
