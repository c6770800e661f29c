/** `data`: where the daemon writes (face database, journals, caches). */
import { z } from 'zod';

export const dataSection = z
  .strictObject({
    /** Writable directory (systemd: the unit's ReadWritePaths). Relative paths are from the working directory. */
    dir: z.string().min(1).default('data'),
    /** Face database file; null = `<dir>/faces.json`. */
    dbFile: z.string().min(1).nullable().default(null),
  })
  .prefault({});

export type DataConfig = z.infer<typeof dataSection>;
