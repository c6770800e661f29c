/**
 * Where badge numbers come from: a keyboard-wedge reader on stdin (digits + Enter), a reader's evdev device read
 * directly (see evdev-source.ts), or MQTT (the MQTT module emits `badgeRead` itself, so that source is a no-op here).
 * Every source normalises before handing a badge on, and never logs a full badge number. Sources: stdin-source.ts,
 * evdev-source.ts; create.ts picks one from a spec string. Types only.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { InputSource } from '../input-source.ts';
import type { BadgeFormat } from './normalise.ts';

/** Reports each read as its normalised badge number. */
export type BadgeSource = InputSource<string>;

export interface BadgeSourceOptions {
  /** stdin source: the stream to read lines from (default process.stdin). */
  input?: Readable;
  format?: BadgeFormat;
  logger?: Logger;
  /** evdev source: use `evtest --grab` for an exclusive grab when installed (default true). */
  grab?: boolean;
}
