/**
 * Nonces of accepted commands, remembered for as long as their `ts` could still pass the time window, and
 * persisted (append + fsync before the command acts) so a restart does not reopen a replay window.
 */
import { mkdirSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import { readJournalLines } from '../store/journal-lines.ts';

export class NonceStore {
  private readonly file: string;
  private readonly windowMs: number;
  private readonly now: () => number;
  /** nonce → the command's ts; kept until ts is outside the window (plus margin). */
  private readonly seen = new Map<string, number>();
  private linesOnDisk = 0;
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(file: string, windowMs: number, now: () => number) {
    this.file = file;
    this.windowMs = windowMs;
    this.now = now;
  }

  static async open(dataDir: string, windowMs: number, now: () => number = Date.now): Promise<NonceStore> {
    mkdirSync(dataDir, { recursive: true });
    const store = new NonceStore(path.join(dataDir, 'mqtt-nonces.jsonl'), windowMs, now);
    // A torn last line is skipped: the command it belonged to never acted.
    for (const line of await readJournalLines(store.file)) {
      const entry = (typeof line === 'object' && line !== null ? line : {}) as { n?: unknown; ts?: unknown };
      if (typeof entry.n === 'string' && typeof entry.ts === 'number') store.seen.set(entry.n, entry.ts);
    }
    store.prune();
    await store.rewrite();
    return store;
  }

  /** True if the nonce is new (and now recorded durably); false if it was seen within the window. */
  claim(nonce: string, ts: number): Promise<boolean> {
    const run = this.chain.then(async () => {
      this.prune();
      if (this.seen.has(nonce)) return false;
      this.seen.set(nonce, ts);
      const handle = await open(this.file, 'a');
      try {
        await handle.appendFile(`${JSON.stringify({ n: nonce, ts })}\n`);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      this.linesOnDisk += 1;
      if (this.linesOnDisk > 2 * this.seen.size + 100) await this.rewrite();
      return true;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(): void {
    // Anything with ts further than the window from now is refused on time alone, so it need not be remembered.
    const horizon = this.windowMs * 2;
    const now = this.now();
    for (const [nonce, ts] of this.seen) if (Math.abs(now - ts) > horizon) this.seen.delete(nonce);
  }

  private async rewrite(): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const lines = [...this.seen].map(([n, ts]) => `${JSON.stringify({ n, ts })}\n`).join('');
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(lines);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.file);
    this.linesOnDisk = this.seen.size;
  }
}
