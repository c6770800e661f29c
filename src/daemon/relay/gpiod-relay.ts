/**
 * Relay through the Debian `gpiod` tools (libgpiod character device), for kernels without sysfs GPIO (Pi 5, newer
 * kernels, Bookworm's +512 offsets). A line requested through the character device is only driven while the
 * requesting process lives, so one `gpioset` child holds the line:
 * - libgpiod v1 (Debian 12): `gpioset --mode=wait <chip> <line>=<v>` waits on stdin; a change ends it and starts a new
 *   one with the new value.
 * - libgpiod v2: `gpioset -i -c <chip> <line>=<v>` is interactive; a change is a `set <line>=<v>` line on its stdin.
 * Both read our pipe, so if this process dies (even SIGKILL) the pipe closes, the holder exits and the line is released
 * rather than held unlocked by an orphan. What a released line does is up to the board: wire for "undriven = locked".
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import type { Logger } from 'pino';
import { FacegateError } from '../../util/errors.ts';
import type { RelayDriver, RelayState } from './relay.ts';

export type GpiodCliVersion = 1 | 2;

/** Reads the libgpiod major version from `gpioset --version` ("gpioset (libgpiod) v1.6.3"). */
export function detectGpiodVersion(command: string): GpiodCliVersion {
  const out = spawnSync(command, ['--version'], { encoding: 'utf8', timeout: 5000 });
  if (out.error) {
    const code = (out.error as NodeJS.ErrnoException).code;
    throw new FacegateError(
      code === 'ENOENT'
        ? `gpiod relay: ${command} not found (install the Debian package gpiod)`
        : `gpiod relay: cannot run ${command} (${out.error.message})`,
    );
  }
  const m = /v(\d+)\.\d+/.exec(`${out.stdout}${out.stderr}`);
  return m?.[1] === '1' ? 1 : 2;
}

/**
 * gpioset's argv for libgpiod v1 or v2: `hold` keeps `line` at `value` until the process is told otherwise, `once`
 * sets it and exits (exit paths, when no holder can outlive us anyway).
 */
function gpiosetArgs(
  mode: 'hold' | 'once',
  version: GpiodCliVersion,
  chip: string,
  line: number,
  value: 0 | 1,
  activeLow: boolean,
): string[] {
  const low = activeLow ? ['--active-low'] : [];
  const v1Mode = mode === 'hold' ? '--mode=wait' : '--mode=exit';
  const v2Mode = mode === 'hold' ? '-i' : '-t0';
  return version === 1 ? [v1Mode, ...low, chip, `${line}=${value}`] : [v2Mode, ...low, '-c', chip, `${line}=${value}`];
}

/** Exported for tests of the CLI syntax. */
export const gpiosetHoldArgs = (
  version: GpiodCliVersion,
  chip: string,
  line: number,
  value: 0 | 1,
  activeLow: boolean,
) => gpiosetArgs('hold', version, chip, line, value, activeLow);

export const gpiosetOnceArgs = (
  version: GpiodCliVersion,
  chip: string,
  line: number,
  value: 0 | 1,
  activeLow: boolean,
) => gpiosetArgs('once', version, chip, line, value, activeLow);

const EARLY_EXIT_MS = 150;

export class GpiodRelay implements RelayDriver {
  readonly description: string;
  private version: GpiodCliVersion = 1;
  private holder: ChildProcess | null = null;
  private holderValue: 0 | 1 | null = null;
  private readonly command: string;
  private readonly activeLow: boolean;
  private readonly logger?: Logger;

  constructor(
    private readonly chip: string,
    private readonly line: number,
    opts: { activeLow: boolean; command: string; logger?: Logger },
  ) {
    this.command = opts.command;
    this.activeLow = opts.activeLow;
    this.logger = opts.logger;
    this.description = `gpiod ${chip} line ${line}${opts.activeLow ? ' (active-low)' : ''}`;
  }

  async init(): Promise<void> {
    this.version = detectGpiodVersion(this.command);
  }

  async set(state: RelayState): Promise<void> {
    const value = state === 'unlocked' ? 1 : 0;
    if (this.holder && this.holderValue === value) return;
    if (this.version === 2 && this.holder?.stdin?.writable) {
      this.holder.stdin.write(`set ${this.line}=${value}\n`);
      this.holderValue = value;
      return;
    }
    await this.endHolder();
    await this.startHolder(value);
  }

  setSync(state: RelayState): void {
    const value = state === 'unlocked' ? 1 : 0;
    const holderPid = this.holder?.pid;
    this.holder = null;
    this.holderValue = null;
    if (holderPid) {
      try {
        process.kill(holderPid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // The killed holder releases the line asynchronously; retry briefly while the line is still busy.
    const args = gpiosetOnceArgs(this.version, this.chip, this.line, value, this.activeLow);
    for (let attempt = 0; attempt < 10; attempt++) {
      const out = spawnSync(this.command, args, { timeout: 2000, stdio: 'ignore' });
      if (out.status === 0) return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }

  async close(): Promise<void> {
    await this.endHolder();
  }

  private startHolder(value: 0 | 1): Promise<void> {
    const args = gpiosetHoldArgs(this.version, this.chip, this.line, value, this.activeLow);
    const child = spawn(this.command, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-500);
    });
    child.stdin?.on('error', () => {}); // EPIPE when the holder already exited: reported through 'exit'
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        this.holder = child;
        this.holderValue = value;
        resolve();
      }, EARLY_EXIT_MS);
      const fail = (why: string) => {
        if (settled) {
          if (this.holder === child) {
            this.holder = null;
            this.holderValue = null;
            this.logger?.error({ relayDriver: 'gpiod', why }, 'gpioset holding the relay line exited');
          }
          return;
        }
        settled = true;
        clearTimeout(timer);
        reject(new FacegateError(`gpiod relay ${this.chip}:${this.line}: ${why}`));
      };
      child.on('error', (err) => fail(err.message));
      child.on('exit', (code, signal) => {
        const last = stderr.trim().split('\n').pop() ?? '';
        fail(`gpioset exited (${signal ?? `code ${code}`})${last ? `: ${last}` : ''}`);
      });
    });
  }

  private async endHolder(): Promise<void> {
    const child = this.holder;
    this.holder = null;
    this.holderValue = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // v1 --mode=wait ends on Enter; v2 -i on `exit`; SIGTERM is the fallback for both.
    child.stdin?.end(this.version === 1 ? '\n' : 'exit\n');
    const kill = setTimeout(() => child.kill('SIGTERM'), 1000);
    await exited;
    clearTimeout(kill);
  }
}
