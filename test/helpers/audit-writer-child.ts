/**
 * An access-log writer process for the kill -9 and concurrent-reader tests. Arguments: the log directory, how many
 * records (empty: until killed), the segment size (empty: default), the first number. Appends numbered records
 * (the number starts `detail`), and writes each number to the file `FACEGATE_CHILD_ACKS` once `append` has
 * returned — a regular file written synchronously, so an acknowledgement is never queued behind the loop the way
 * a pipe write can be. Pauses `FACEGATE_CHILD_PAUSE_MS` between records (default none: a tight loop).
 */
import { openSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuditLog } from '../../src/store/audit-log.ts';

const [dir, limitArg, segmentBytesArg, firstArg] = process.argv.slice(2);
const first = Number(firstArg ?? 0);
const limit = first + (limitArg ? Number(limitArg) : Number.POSITIVE_INFINITY);
const pauseMs = Number(process.env.FACEGATE_CHILD_PAUSE_MS ?? 0);
const acks = openSync(process.env.FACEGATE_CHILD_ACKS!, 'a');
const log = await AuditLog.open({ dir: dir!, segmentBytes: segmentBytesArg ? Number(segmentBytesArg) : undefined });
// Long lines (~600 bytes) make a kill in the middle of a write likelier.
const padding = 'x'.repeat(400);
for (let seq = first; seq < limit; seq++) {
  log.append({
    kind: 'access',
    what: 'badge+face',
    result: seq % 5 === 0 ? 'denied' : 'granted',
    reason: seq % 5 === 0 ? 'no-match' : 'match',
    identityId: `id-${seq % 7}`,
    name: `Person ${seq % 7}`,
    detail: `${seq} ${padding}`,
  });
  writeSync(acks, `${seq}\n`);
  if (pauseMs > 0) await sleep(pauseMs);
}
await log.close();
