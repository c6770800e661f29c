/**
 * The daemon's logger: pino JSON lines on stdout (journald keeps them; one event per line, greppable by `event`),
 * pretty-printed when a person is watching a terminal. Never log a face vector, an image or a full badge number.
 */
import { type Logger, pino } from 'pino';
import type { LoggingConfig } from '../config/sections/logging.ts';

export interface LoggerOptions {
  level: LoggingConfig['level'];
  /** Force pretty output on or off; default: pretty when stdout is a TTY. */
  pretty?: boolean;
  /** Extra fields on every line (e.g. the kiosk id). */
  base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions): Logger {
  const pretty = opts.pretty ?? process.stdout.isTTY === true;
  const base = { ...opts.base };
  if (!pretty) return pino({ level: opts.level, base, timestamp: pino.stdTimeFunctions.isoTime });
  return pino({
    level: opts.level,
    base,
    transport: {
      target: 'pino-pretty',
      options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
    },
  });
}
