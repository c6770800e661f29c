/**
 * Noticing that another process replaced the database file. Writers rename a new file over the old one, so the
 * file's inode changes: watching the file itself would follow the old inode, hence a watch on the directory
 * (inotify: milliseconds) plus a stat poll (default 1 s) for filesystems where watching fails or is silent.
 * Both only say "maybe changed"; the file's stamp (inode, size, mtime, ctime in ns) decides.
 */
import { type FSWatcher, watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';

/** Identifies one version of the file; null when it does not exist. */
export async function stampOf(file: string): Promise<string | null> {
  try {
    const s = await stat(file, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Calls `maybeChanged` on every directory event naming the file and every `pollMs`; returns the stop function. */
export function watchFile(file: string, maybeChanged: () => void, pollMs = 1000): () => void {
  const name = path.basename(file);
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(path.dirname(file), { persistent: false }, (_event, changed) => {
      if (!changed || changed === name) maybeChanged();
    });
    // ENOSPC (inotify limits) and the like: the poll still runs.
    watcher.on('error', () => {
      watcher?.close();
      watcher = null;
    });
  } catch {
    watcher = null;
  }
  const poll = setInterval(maybeChanged, pollMs);
  poll.unref();
  return () => {
    clearInterval(poll);
    watcher?.close();
    watcher = null;
  };
}
