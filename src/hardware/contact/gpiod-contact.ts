/** A contact read with the gpiod tools: `gpioget` once, then `gpiomon` printing one edge per line. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { errorMessage } from '../../util/errors.ts';
import { detectGpiodVersion, type GpiodCliVersion } from '../gpiod-cli.ts';
import type { ContactOptions, DoorContactSource } from './contact.ts';

/** `gpioget` for the initial value, then `gpiomon` printing one edge per line; restarted if it dies. */
export class GpiodContact implements DoorContactSource {
  readonly description: string;
  private child: ChildProcess | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  constructor(
    private readonly chip: string,
    private readonly line: number,
    private readonly opts: ContactOptions,
  ) {
    this.description = `gpiod ${chip} line ${line} input`;
  }

  start(onChange: (active: boolean) => void): void {
    this.stopped = false;
    let version: GpiodCliVersion;
    try {
      version = detectGpiodVersion(this.opts.gpiomonCommand ?? 'gpiomon');
    } catch (err) {
      this.opts.logger?.error({ event: 'door-contact', error: errorMessage(err) }, 'door contact unavailable');
      return;
    }
    const low = this.opts.activeLow ? ['--active-low'] : [];
    const bias = this.opts.pullUp ? ['--bias=pull-up'] : [];
    const chipArgs = version === 1 ? [this.chip, String(this.line)] : ['-c', this.chip, String(this.line)];
    const initial = spawnSync(this.opts.gpiogetCommand ?? 'gpioget', [...low, ...bias, ...chipArgs], {
      encoding: 'utf8',
      timeout: 5000,
    });
    // v1 prints `1`; v2 prints `"17"=active`.
    if (initial.status === 0) onChange(/^1\b|=active/.test(initial.stdout.trim()));
    const args =
      version === 1 ? ['-b', '-F', '%e', ...low, ...bias, ...chipArgs] : ['-F', '%e', ...low, ...bias, ...chipArgs];
    const child = spawn(this.opts.gpiomonCommand ?? 'gpiomon', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (edge) => {
      // %e: 1 = rising (active); falling is 0 in v1 and 2 in v2.
      const value = edge.trim();
      if (value === '1') onChange(true);
      else if (value === '0' || value === '2') onChange(false);
    });
    child.on('error', () => {});
    child.on('exit', (code) => {
      if (this.stopped || this.child !== child) return;
      this.opts.logger?.warn({ event: 'door-contact', code }, 'gpiomon exited: restarting in 5 s');
      this.retryTimer = setTimeout(() => this.start(onChange), 5000);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.child?.kill('SIGTERM');
    this.child = null;
  }
}
