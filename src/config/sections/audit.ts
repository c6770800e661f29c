/** `audit`: the local access log in `<data.dir>/audit/` (src/store/audit-log.ts): every decision, alarm, admin action. */
import { z } from 'zod';

export const auditSection = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Records older than this many days are deleted (by whole segment, so they may stay up to a day longer). */
    maxDays: z.number().int().min(1).max(3650).default(90),
    /**
     * The log's size cap; the oldest segments go first. 100 MB hold about 400 000 records (~250 B each), months
     * of a busy door.
     */
    maxMB: z.number().int().min(1).max(100_000).default(100),
  })
  .prefault({});

export type AuditConfig = z.infer<typeof auditSection>;
