/**
 * A lowdb adapter that writes JSON atomically and durably: temp file, fsync, rename, fsync of the directory.
 * Writes are serialised, so two quick updates can never interleave. A crash (or a failed rename) at any point
 * leaves either the old file or the new one, never a half-written one; a stale temp file is simply overwritten.
 */
import { rename as fsRename, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Adapter } from 'lowdb';

export interface AtomicJsonFileOptions {
  /** Replaceable for tests that simulate a crash between the temp write and the rename. */
  rename?: (from: string, to: string) => Promise<void>;
}

export class AtomicJsonFile<T> implements Adapter<T> {
  readonly file: string;
  readonly tempFile: string;
  private readonly rename: (from: string, to: string) => Promise<void>;
  private queue: Promise<void> = Promise.resolve();

  constructor(file: string, opts: AtomicJsonFileOptions = {}) {
    this.file = file;
    this.tempFile = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
    this.rename = opts.rename ?? fsRename;
  }

  /** Returns null when the file does not exist; throws (raw SyntaxError) when it does not parse. */
  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return JSON.parse(text) as T;
  }

  write(data: T): Promise<void> {
    const text = `${JSON.stringify(data, null, 1)}\n`;
    const next = this.queue.then(() => this.writeNow(text));
    // Keep the chain alive after a failure so later writes still run; the caller sees this write's error.
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async writeNow(text: string): Promise<void> {
    const handle = await open(this.tempFile, 'w', 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await this.rename(this.tempFile, this.file);
    const dir = await open(path.dirname(this.file), 'r');
    try {
      await dir.sync();
    } catch {
      // Some filesystems refuse fsync on a directory; the rename is still atomic.
    } finally {
      await dir.close();
    }
  }
}
