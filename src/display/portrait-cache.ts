/**
 * The slideshow's cache: welcome cards as JPEG files in `<dataDir>/portraits/`, with an `index.json` naming the
 * identity each card belongs to, so deleting an identity (or withdrawing consent) deletes its cards. Bounded by
 * count and age, oldest first. Only finished cards are stored: never the raw face crop.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

const entrySchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  identityId: z.string(),
  name: z.string(),
  style: z.string(),
  createdAt: z.string(),
});
const indexSchema = z.object({ portraits: z.array(entrySchema) });

export type PortraitEntry = z.infer<typeof entrySchema>;

export interface CacheLimits {
  maxCount: number;
  maxAgeMs: number;
}

const INDEX_FILE = 'index.json';

export class PortraitCache {
  private entries: PortraitEntry[] = [];
  /** Every change is one step of this chain, so concurrent adds and deletes never interleave their writes. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private readonly limits: CacheLimits,
    private readonly now: () => number,
  ) {}

  /** Opens the directory, dropping an unreadable index and any file the index does not name. */
  static async open(dir: string, limits: CacheLimits, now: () => number = Date.now): Promise<PortraitCache> {
    const cache = new PortraitCache(dir, limits, now);
    await mkdir(dir, { recursive: true });
    try {
      const parsed = indexSchema.safeParse(JSON.parse(await readFile(path.join(dir, INDEX_FILE), 'utf8')));
      if (parsed.success) cache.entries = parsed.data.portraits;
    } catch {
      // Missing or corrupt index: start empty; the orphaned files are removed below.
    }
    const files = new Set((await readdir(dir)).filter((f) => f.endsWith('.jpg')));
    cache.entries = cache.entries.filter((e) => files.has(`${e.id}.jpg`));
    const named = new Set(cache.entries.map((e) => `${e.id}.jpg`));
    for (const file of files) if (!named.has(file)) await rm(path.join(dir, file), { force: true });
    await cache.prune();
    return cache;
  }

  /** Newest first. */
  list(): PortraitEntry[] {
    return [...this.entries].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  add(fields: Omit<PortraitEntry, 'id' | 'createdAt'>, jpeg: Buffer): Promise<PortraitEntry> {
    return this.serial(async () => {
      const entry: PortraitEntry = {
        ...fields,
        id: `${this.now().toString(36)}-${randomBytes(4).toString('hex')}`,
        createdAt: new Date(this.now()).toISOString(),
      };
      await writeFile(path.join(this.dir, `${entry.id}.jpg`), jpeg);
      this.entries.push(entry);
      await this.pruneNow();
      await this.writeIndex();
      return entry;
    });
  }

  async read(id: string): Promise<Buffer | null> {
    if (!this.entries.some((e) => e.id === id)) return null;
    try {
      return await readFile(path.join(this.dir, `${id}.jpg`));
    } catch {
      return null;
    }
  }

  /** Deletes every card of an identity; resolves to how many went. */
  removeIdentity(identityId: string): Promise<number> {
    return this.removeWhere((e) => e.identityId === identityId);
  }

  /** Deletes the cards `drop` picks (e.g. identities gone or without consent); resolves to how many went. */
  removeWhere(drop: (entry: PortraitEntry) => boolean): Promise<number> {
    return this.serial(async () => {
      const doomed = this.entries.filter(drop);
      if (doomed.length === 0) return 0;
      await this.removeEntries(doomed);
      await this.writeIndex();
      return doomed.length;
    });
  }

  /** Applies the count and age limits. */
  prune(): Promise<number> {
    return this.serial(async () => {
      const removed = await this.pruneNow();
      await this.writeIndex();
      return removed;
    });
  }

  private async pruneNow(): Promise<number> {
    const oldestAllowed = this.now() - this.limits.maxAgeMs;
    const newestFirst = this.list();
    const doomed = newestFirst.filter((e, i) => i >= this.limits.maxCount || Date.parse(e.createdAt) < oldestAllowed);
    await this.removeEntries(doomed);
    return doomed.length;
  }

  private async removeEntries(doomed: PortraitEntry[]): Promise<void> {
    const ids = new Set(doomed.map((e) => e.id));
    // Index first in memory (nothing serves a card being deleted), then the files.
    this.entries = this.entries.filter((e) => !ids.has(e.id));
    for (const id of ids) await rm(path.join(this.dir, `${id}.jpg`), { force: true });
  }

  private async writeIndex(): Promise<void> {
    const file = path.join(this.dir, INDEX_FILE);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ portraits: this.entries }, null, 2)}\n`);
    await rename(tmp, file);
  }

  private serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => {});
    return run;
  }
}
