/** `logging`: pino level (JSON lines on stdout, pretty on a terminal). */
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const loggingSection = z
  .strictObject({
    level: z.enum(LOG_LEVELS).default('info'),
  })
  .prefault({});

export type LoggingConfig = z.infer<typeof loggingSection>;
