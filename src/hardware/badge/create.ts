/** The badge source a spec string names: `stdin`, `evdev:<device>`, `mqtt` (read by the MQTT module) or `none`. */
import { ExitCode, FacegateError } from '../../util/errors.ts';
import type { BadgeSource, BadgeSourceOptions } from './badge-source.ts';
import { EvdevBadgeSource } from './evdev-source.ts';
import { LineBadgeSource, NoBadgeSource } from './stdin-source.ts';

export function createBadgeSource(spec: string, opts: BadgeSourceOptions = {}): BadgeSource {
  if (spec === 'stdin') return new LineBadgeSource(opts.input ?? process.stdin, opts);
  if (spec === 'mqtt') return new NoBadgeSource('MQTT topic (read by the MQTT module)');
  if (spec === 'none') return new NoBadgeSource('no badge reader');
  if (spec.startsWith('evdev:') && spec.length > 'evdev:'.length) {
    return new EvdevBadgeSource(spec.slice('evdev:'.length), opts);
  }
  throw new FacegateError(`badge "${spec}": expected stdin | evdev:/dev/input/eventN | mqtt | none`, ExitCode.config);
}
