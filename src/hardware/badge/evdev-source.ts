/**
 * A USB badge reader read as the input device it is (`/dev/input/eventN`), so reads do not depend on a focused
 * terminal. Exclusive access needs the EVIOCGRAB ioctl, which Node cannot issue without a native addon; the Debian
 * `evtest` tool can (`evtest --grab`), so when it is installed we run it (line-buffered through coreutils `stdbuf`)
 * and parse its text. Without it we read the raw input_event structs ourselves: that works, but the keystrokes also
 * reach whatever else reads the keyboard (a console login), which the start-up warning says.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream, type ReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Backoff } from '../../util/backoff.ts';
import { commandExists } from '../../util/command-exists.ts';
import { errorMessage } from '../../util/errors.ts';
import type { BadgeSource, BadgeSourceOptions } from './badge-source.ts';
import { normaliseBadge } from './normalise.ts';

const EV_KEY = 1;
const KEY_PRESS = 1;
const ENTER_CODES = new Set([28, 96]); // KEY_ENTER, KEY_KPENTER
const MAX_PENDING_CHARS = 64;

/** Linux key codes → characters a badge reader types (top-row digits, keypad digits, letters for hex ids). */
const KEY_CHARS: ReadonlyMap<number, string> = new Map([
  ...'1234567890'.split('').map((c, i) => [2 + i, c] as [number, string]),
  ...[
    [71, '7'],
    [72, '8'],
    [73, '9'],
    [75, '4'],
    [76, '5'],
    [77, '6'],
    [79, '1'],
    [80, '2'],
    [81, '3'],
    [82, '0'],
  ].map(([code, c]) => [code, c] as [number, string]),
  ...'QWERTYUIOP'.split('').map((c, i) => [16 + i, c] as [number, string]),
  ...'ASDFGHJKL'.split('').map((c, i) => [30 + i, c] as [number, string]),
  ...'ZXCVBNM'.split('').map((c, i) => [44 + i, c] as [number, string]),
]);

/** Turns key presses into completed reads (a read ends with Enter). */
export class KeyAccumulator {
  private pending = '';

  /** Returns the raw read when this key completed one. */
  key(code: number, value: number): string | null {
    if (value !== KEY_PRESS) return null;
    if (ENTER_CODES.has(code)) {
      const read = this.pending;
      this.pending = '';
      return read.length > 0 ? read : null;
    }
    const char = KEY_CHARS.get(code);
    if (char === undefined) return null;
    // A reader that never sends Enter must not grow this forever.
    this.pending = (this.pending + char).slice(-MAX_PENDING_CHARS);
    return null;
  }
}

/**
 * `struct input_event` is a timeval then u16 type, u16 code, s32 value: 24 bytes on 64-bit userspace (x86_64,
 * aarch64), 16 bytes on 32-bit (armhf Raspberry Pi OS). Partial structs across chunks are kept for the next chunk.
 */
export class InputEventParser {
  private carry = Buffer.alloc(0);
  private readonly keys = new KeyAccumulator();

  constructor(readonly eventSize: 16 | 24 = defaultEventSize()) {}

  push(chunk: Buffer): string[] {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const reads: string[] = [];
    const whole = data.length - (data.length % this.eventSize);
    const timeBytes = this.eventSize - 8;
    for (let offset = 0; offset < whole; offset += this.eventSize) {
      const type = data.readUInt16LE(offset + timeBytes);
      if (type !== EV_KEY) continue;
      const read = this.keys.key(data.readUInt16LE(offset + timeBytes + 2), data.readInt32LE(offset + timeBytes + 4));
      if (read !== null) reads.push(read);
    }
    this.carry = Buffer.from(data.subarray(whole));
    return reads;
  }
}

export function defaultEventSize(): 16 | 24 {
  return process.arch === 'arm' || process.arch === 'ia32' ? 16 : 24;
}

/** Parses one line of `evtest` output: `Event: time 1.000001, type 1 (EV_KEY), code 2 (KEY_1), value 1`. */
export function parseEvtestLine(line: string): { code: number; value: number } | null {
  const m = /type 1 \(EV_KEY\), code (\d+) \([^)]*\), value (-?\d+)/.exec(line);
  return m ? { code: Number(m[1]), value: Number(m[2]) } : null;
}

export class EvdevBadgeSource implements BadgeSource {
  readonly description: string;
  private running = false;
  private child: ChildProcess | null = null;
  private stream: ReadStream | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly backoff = new Backoff({ initialMs: 1000 });
  private onBadge: (badge: string) => void = () => {};

  constructor(
    private readonly device: string,
    private readonly opts: BadgeSourceOptions,
  ) {
    this.description = `evdev ${device}`;
  }

  start(onBadge: (badge: string) => void): void {
    if (this.running) return;
    this.running = true;
    this.onBadge = onBadge;
    const canGrab = this.opts.grab !== false && commandExists('evtest') && commandExists('stdbuf');
    if (!canGrab) {
      this.opts.logger?.warn(
        { event: 'badge-source', device: this.device },
        'evdev badge reader without exclusive grab (install the Debian package evtest): keystrokes also reach the console',
      );
    }
    this.open(canGrab);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.child?.kill('SIGTERM');
    this.child = null;
    this.stream?.destroy();
    this.stream = null;
  }

  private deliver(raw: string): void {
    const badge = normaliseBadge(raw, this.opts.format);
    if (badge === null) {
      this.opts.logger?.warn(
        { event: 'badge-rejected', source: 'evdev', length: raw.length },
        'badge read does not match the badge format',
      );
      return;
    }
    this.backoff.markHealthy();
    this.onBadge(badge);
  }

  private open(grab: boolean): void {
    if (!this.running) return;
    if (grab) this.openEvtest();
    else this.openRaw();
  }

  private openEvtest(): void {
    const child = spawn('stdbuf', ['-oL', 'evtest', '--grab', this.device], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keys = new KeyAccumulator();
    let stderrTail = '';
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const event = parseEvtestLine(line);
      if (!event) return;
      const read = keys.key(event.code, event.value);
      if (read !== null) this.deliver(read);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-500);
    });
    child.on('error', (err) => this.failed(true, `cannot run evtest: ${err.message}`));
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      const last = stderrTail.trim().split('\n').pop() ?? '';
      this.failed(true, `evtest exited (${signal ?? `code ${code}`})${last ? `: ${last}` : ''}`);
    });
  }

  /** A blocking read on a character device holds one libuv pool thread while waiting: acceptable for one reader. */
  private openRaw(): void {
    const parser = new InputEventParser();
    const stream = createReadStream(this.device, { highWaterMark: parser.eventSize * 64 });
    this.stream = stream;
    stream.on('data', (chunk) => {
      for (const read of parser.push(chunk as Buffer)) this.deliver(read);
    });
    stream.on('error', (err) => {
      if (this.stream === stream) this.failed(false, errorMessage(err));
    });
    stream.on('end', () => {
      if (this.stream === stream) this.failed(false, 'device closed');
    });
  }

  private failed(grab: boolean, why: string): void {
    this.child = null;
    this.stream = null;
    if (!this.running) return;
    const delay = this.backoff.nextDelayMs();
    this.opts.logger?.warn(
      { event: 'badge-source', device: this.device, why, retryInMs: delay },
      'badge reader unavailable',
    );
    this.retryTimer = setTimeout(() => this.open(grab), delay);
  }
}
