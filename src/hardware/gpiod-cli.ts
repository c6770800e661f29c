/**
 * The Debian `gpiod` command-line tools (gpioset, gpioget, gpiomon), shared by the relay and the door-contact
 * drivers: their arguments differ between libgpiod 1.x (Debian 12) and 2.x, so each driver asks once which it has.
 */
import { spawnSync } from 'node:child_process';
import { FacegateError } from '../util/errors.ts';

export type GpiodCliVersion = 1 | 2;

/** Reads the libgpiod major version from `gpioset --version` ("gpioset (libgpiod) v1.6.3"). */
export function detectGpiodVersion(command: string): GpiodCliVersion {
  const out = spawnSync(command, ['--version'], { encoding: 'utf8', timeout: 5000 });
  if (out.error) {
    const code = (out.error as NodeJS.ErrnoException).code;
    throw new FacegateError(
      code === 'ENOENT'
        ? `gpiod: ${command} not found (install the Debian package gpiod)`
        : `gpiod: cannot run ${command} (${out.error.message})`,
    );
  }
  const m = /v(\d+)\.\d+/.exec(`${out.stdout}${out.stderr}`);
  return m?.[1] === '1' ? 1 : 2;
}
