/**
 * Loading an append-only JSON-lines journal (the MQTT nonce store and outbox): each line one JSON value, appended
 * and fsynced as it happens. A missing file is an empty journal; a line that does not parse is a torn last line from
 * a crash mid-append — it was never fsynced, so what it held never took effect — and is skipped.
 */
import { readFile } from 'node:fs/promises';

/** The journal's parsed lines in order; the caller checks each one's shape (the file is as hostile as any input). */
export async function readJournalLines(file: string): Promise<unknown[]> {
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const lines: unknown[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      lines.push(JSON.parse(line));
    } catch {
      // A torn last line: see the header.
    }
  }
  return lines;
}
