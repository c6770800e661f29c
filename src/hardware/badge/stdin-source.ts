/** Badge reads as lines of text: a keyboard-wedge reader typing into stdin (or any stream, in tests). */
import { createInterface, type Interface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { BadgeSource, BadgeSourceOptions } from './badge-source.ts';
import { normaliseBadge } from './normalise.ts';

/** Lines from a stream; EOF or a closed stdin (as under systemd) just means no more badges from here. */
export class LineBadgeSource implements BadgeSource {
  readonly description: string;
  private rl: Interface | null = null;

  constructor(
    private readonly input: Readable,
    private readonly opts: BadgeSourceOptions,
    name = 'stdin',
  ) {
    this.description = `${name} lines (keyboard-wedge reader)`;
  }

  start(onBadge: (badge: string) => void): void {
    if (this.rl) return;
    // A stdin that is already gone (closed fd, /dev/null) must not take the daemon down.
    this.input.on('error', (err: NodeJS.ErrnoException) => {
      this.opts.logger?.warn(
        { event: 'badge-source', source: 'stdin', error: err.code ?? err.message },
        'badge input error: ignoring that input',
      );
    });
    const rl = createInterface({ input: this.input, crlfDelay: Number.POSITIVE_INFINITY, terminal: false });
    this.rl = rl;
    rl.on('line', (line) => {
      if (line.trim() === '') return;
      const badge = normaliseBadge(line, this.opts.format);
      if (badge === null) {
        this.opts.logger?.warn(
          { event: 'badge-rejected', source: 'stdin', length: line.trim().length },
          'badge read does not match the badge format',
        );
        return;
      }
      onBadge(badge);
    });
    rl.on('close', () => {
      if (this.rl === rl)
        this.opts.logger?.info(
          { event: 'badge-source', source: 'stdin' },
          'badge input closed: no more badges from stdin',
        );
    });
  }

  async stop(): Promise<void> {
    const rl = this.rl;
    this.rl = null;
    rl?.close();
  }
}

/** For `mqtt` (badges arrive on the bus from the MQTT module) and `none`. */
export class NoBadgeSource implements BadgeSource {
  constructor(readonly description: string) {}
  start(): void {}
  async stop(): Promise<void> {}
}
