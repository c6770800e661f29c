/**
 * Where badge numbers come from: a keyboard-wedge reader on stdin (digits + Enter), a reader's evdev device read
 * directly (see evdev-source.ts), or MQTT (the MQTT module emits `badgeRead` itself, so that source is a no-op here).
 * Every source normalises before handing a badge on, and never logs a full badge number.
 */
import { createInterface, type Interface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { ExitCode, FacegateError } from '../../util/errors.ts';
import { EvdevBadgeSource } from './evdev-source.ts';
import { type BadgeFormat, normaliseBadge } from './normalise.ts';

export { type BadgeFormat, normaliseBadge } from './normalise.ts';

export interface BadgeSource {
  readonly description: string;
  start(onBadge: (badge: string) => void): void;
  stop(): Promise<void>;
}

export interface BadgeSourceOptions {
  /** stdin source: the stream to read lines from (default process.stdin). */
  input?: Readable;
  format?: BadgeFormat;
  logger?: Logger;
  /** evdev source: use `evtest --grab` for an exclusive grab when installed (default true). */
  grab?: boolean;
}

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

export function createBadgeSource(spec: string, opts: BadgeSourceOptions = {}): BadgeSource {
  if (spec === 'stdin') return new LineBadgeSource(opts.input ?? process.stdin, opts);
  if (spec === 'mqtt') return new NoBadgeSource('MQTT topic (read by the MQTT module)');
  if (spec === 'none') return new NoBadgeSource('no badge reader');
  if (spec.startsWith('evdev:') && spec.length > 'evdev:'.length) {
    return new EvdevBadgeSource(spec.slice('evdev:'.length), opts);
  }
  throw new FacegateError(`badge "${spec}": expected stdin | evdev:/dev/input/eventN | mqtt | none`, ExitCode.config);
}
