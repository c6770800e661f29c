/**
 * Removing a deleted person from the access log: the record of the door opening stays, their id, name and badge
 * go. Each of their lines is overwritten in place by the same record without them, padded with spaces to the same
 * length — no segment is rewritten or renamed, so a writer in another process appending to it loses nothing, and
 * the cost is the matching lines, not the log's size. Before the pass the id goes into `redactions.json` (written
 * atomically), which readers apply on read, so a crash mid-pass hides the name anyway and the next open finishes
 * the pass; the id leaves the list once every segment is done and synced.
 */
import { readFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { AtomicJsonFile } from './atomic-file.ts';
import { redactedLine } from './audit-record.ts';
import { listSegments } from './audit-segments.ts';

export const REDACTIONS_FILE = 'redactions.json';
const NEWLINE = 0x0a;

interface RedactionsFile {
  pending: string[];
}

/**
 * Identities whose redaction is pending; 'unreadable' when the list exists but is damaged (readers then hide every
 * name: a privacy list that cannot be read fails private).
 */
export function pendingRedactions(dir: string): Set<string> | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path.join(dir, REDACTIONS_FILE), 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? new Set() : 'unreadable';
  }
  try {
    const data = JSON.parse(text) as Partial<RedactionsFile> | null;
    const pending = data?.pending;
    if (!Array.isArray(pending) || !pending.every((id) => typeof id === 'string')) return 'unreadable';
    return new Set(pending);
  } catch {
    return 'unreadable';
  }
}

export async function setPendingRedactions(dir: string, ids: ReadonlySet<string>): Promise<void> {
  await new AtomicJsonFile<RedactionsFile>(path.join(dir, REDACTIONS_FILE)).write({ pending: [...ids].sort() });
}

/** Overwrites one segment's lines of `identityId`; returns how many. An unfinished last line is left alone. */
async function redactSegment(file: string, identityId: string): Promise<number> {
  const needle = Buffer.from(`"identityId":${JSON.stringify(identityId)}`);
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0; // removed by retention meanwhile
    throw err;
  }
  if (data.indexOf(needle) < 0) return 0;
  const fh = await open(file, 'r+');
  let count = 0;
  try {
    for (let i = data.indexOf(needle); i >= 0; i = data.indexOf(needle, i + 1)) {
      const start = data.lastIndexOf(NEWLINE, i) + 1;
      const end = data.indexOf(NEWLINE, i);
      if (end < 0) break;
      const replacement = redactedLine(data.toString('utf8', start, end), identityId);
      if (replacement === null) continue;
      // Exactly the line's bytes, never shifting the lines after it (a line that was not valid UTF-8 decodes to
      // a different length: it is padded, or blanked whole if the record no longer fits).
      const bytes = Buffer.alloc(end - start, ' ');
      const record = Buffer.from(replacement.trimEnd());
      if (record.length <= bytes.length) record.copy(bytes);
      await fh.write(bytes, 0, bytes.length, start);
      count++;
      i = end;
    }
    if (count > 0) await fh.sync();
  } finally {
    await fh.close();
  }
  return count;
}

/** Redacts `identityId` from every segment; returns the number of records changed. */
export async function redactAll(dir: string, identityId: string): Promise<number> {
  let count = 0;
  for (const segment of listSegments(dir)) count += await redactSegment(segment.file, identityId);
  return count;
}
