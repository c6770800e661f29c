/**
 * The daemon's logger: pino JSON lines on stdout (journald keeps them; one event per line, greppable by `event`),
 * pretty-printed when a person is watching a terminal — still one line per event, with the event's fields on it.
 * Never log a face vector, an image or a full badge number.
 */
import type { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';
import type { LoggingConfig } from '../config/sections/logging.ts';

export interface LoggerOptions {
  level: LoggingConfig['level'];
  /** Force pretty output on or off; default: pretty when stdout is a TTY. */
  pretty?: boolean;
  /** Extra fields on every line (e.g. the kiosk id). */
  base?: Record<string, unknown>;
  /** Pretty output written in-process to this stream instead of stdout (tests). */
  destination?: Writable;
}

/**
 * Terminal format: time, level, message, then the remaining fields as compact JSON on the same line (pino-pretty
 * prints each field on its own line by default: 5-12 lines per event). The kiosk id is on every line of JSON
 * output; on a terminal it is said once, in the `started` line's message.
 */
export const PRETTY_OPTIONS = {
  colorize: true,
  translateTime: 'SYS:HH:MM:ss.l',
  ignore: 'pid,hostname,kioskId',
  singleLine: true,
} as const;

export function createLogger(opts: LoggerOptions): Logger {
  const isPretty = opts.pretty ?? process.stdout.isTTY === true;
  const base = { ...opts.base };
  if (!isPretty) return pino({ level: opts.level, base, timestamp: pino.stdTimeFunctions.isoTime });
  if (opts.destination)
    return pino(
      { level: opts.level, base },
      pretty({ ...PRETTY_OPTIONS, colorize: false, destination: opts.destination, sync: true }),
    );
  return pino({ level: opts.level, base, transport: { target: 'pino-pretty', options: { ...PRETTY_OPTIONS } } });
}
