/**
 * Nothing lost: access events and alarms go into a JSON-lines journal, fsynced, before they are published with
 * QoS 1; a PUBACK appends a delivered marker. After a reconnect or a restart the undelivered entries go out again
 * in order with their original event ids, so consumers de-duplicate on `eventId`. The journal is bounded: past
 * `maxEvents` undelivered entries the oldest are dropped, and the drop is itself reported once connected.
 *
 * Journal lines: `{"e":{id,topic,payload}}` an entry, `{"d":id}` delivered, `{"x":id}` dropped, `{"r":1}` drops reported.
 */
import { mkdirSync } from 'node:fs';
import { type FileHandle, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';

export interface OutboxEntry {
  id: string;
  topic: string;
  /** The JSON text to publish, as journaled. */
  payload: string;
}

export interface OutboxOptions {
  maxEvents: number;
  compactAfter: number;
  onDrop?: (entry: OutboxEntry) => void;
}

export interface OutboxStats {
  pending: number;
  delivered: number;
  dropped: number;
  droppedUnreported: number;
}

type Waiter = { entry: OutboxEntry; resolve: () => void; reject: (err: unknown) => void };

export class Outbox {
  readonly file: string;
  private readonly opts: OutboxOptions;
  private handle: FileHandle | null = null;
  /** Insertion-ordered: the publish order. */
  private readonly pendingEntries = new Map<string, OutboxEntry>();
  private waiting: Waiter[] = [];
  private markers: string[] = [];
  private io: Promise<void> = Promise.resolve();
  private ioScheduled = false;
  private deliveredSinceCompact = 0;
  private deliveredTotal = 0;
  private droppedTotal = 0;
  private droppedUnreported = 0;
  private readonly readyListeners = new Set<() => void>();

  private constructor(file: string, opts: OutboxOptions) {
    this.file = file;
    this.opts = opts;
  }

  static async open(dataDir: string, opts: OutboxOptions, name = 'mqtt-outbox.jsonl'): Promise<Outbox> {
    mkdirSync(dataDir, { recursive: true });
    const outbox = new Outbox(path.join(dataDir, name), opts);
    let text = '';
    try {
      text = await readFile(outbox.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      let rec: { e?: OutboxEntry; d?: string; x?: string; r?: number };
      try {
        rec = JSON.parse(line);
      } catch {
        continue; // a torn last line: that entry was never fsynced, so it was never published either
      }
      if (
        rec.e &&
        typeof rec.e.id === 'string' &&
        typeof rec.e.topic === 'string' &&
        typeof rec.e.payload === 'string'
      ) {
        outbox.pendingEntries.set(rec.e.id, { id: rec.e.id, topic: rec.e.topic, payload: rec.e.payload });
      } else if (typeof rec.d === 'string') {
        outbox.pendingEntries.delete(rec.d);
      } else if (typeof rec.x === 'string') {
        outbox.pendingEntries.delete(rec.x);
        outbox.droppedUnreported += 1;
        outbox.droppedTotal += 1;
      } else if (rec.r !== undefined) {
        outbox.droppedUnreported = 0;
      }
    }
    await outbox.rewrite();
    return outbox;
  }

  /** Resolves once the entry is on disk (fsync); only then may it be published. */
  append(entry: OutboxEntry): Promise<void> {
    if (!this.handle) return Promise.reject(new Error('outbox closed'));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ entry, resolve, reject });
      this.schedule();
    });
  }

  /** Undelivered entries in publish order. */
  pending(): IterableIterator<OutboxEntry> {
    return this.pendingEntries.values();
  }

  has(id: string): boolean {
    return this.pendingEntries.has(id);
  }

  markDelivered(id: string): void {
    if (!this.pendingEntries.delete(id)) return;
    this.deliveredTotal += 1;
    this.deliveredSinceCompact += 1;
    this.markers.push(`${JSON.stringify({ d: id })}\n`);
    this.schedule();
  }

  /** Number of entries dropped since the last report, and resets it (journaled). */
  takeDropReport(): number {
    const count = this.droppedUnreported;
    if (count === 0) return 0;
    this.droppedUnreported = 0;
    this.markers.push(`${JSON.stringify({ r: 1 })}\n`);
    this.schedule();
    return count;
  }

  onReady(listener: () => void): () => void {
    this.readyListeners.add(listener);
    return () => this.readyListeners.delete(listener);
  }

  stats(): OutboxStats {
    return {
      pending: this.pendingEntries.size,
      delivered: this.deliveredTotal,
      dropped: this.droppedTotal,
      droppedUnreported: this.droppedUnreported,
    };
  }

  async close(): Promise<void> {
    await this.flushIo();
    await this.handle?.close();
    this.handle = null;
  }

  /** Waits until every queued write has reached the file. */
  async flushIo(): Promise<void> {
    while (this.ioScheduled || this.waiting.length > 0 || this.markers.length > 0) await this.io;
    await this.io;
  }

  private schedule(): void {
    if (this.ioScheduled) return;
    this.ioScheduled = true;
    this.io = this.io.then(() => this.writeBatch());
  }

  /** Group commit: everything queued since the last write goes out in one write + one fsync. */
  private async writeBatch(): Promise<void> {
    this.ioScheduled = false;
    const batch = this.waiting;
    this.waiting = [];
    const markers = this.markers;
    this.markers = [];
    const dropped: OutboxEntry[] = [];
    for (const { entry } of batch) {
      this.pendingEntries.set(entry.id, entry);
      while (this.pendingEntries.size > this.opts.maxEvents) {
        const oldest = this.pendingEntries.values().next().value as OutboxEntry;
        this.pendingEntries.delete(oldest.id);
        dropped.push(oldest);
        markers.push(`${JSON.stringify({ x: oldest.id })}\n`);
      }
    }
    const text = batch.map((w) => `${JSON.stringify({ e: w.entry })}\n`).join('') + markers.join('');
    try {
      if (!this.handle) throw new Error('outbox closed');
      if (text) await this.handle.appendFile(text);
      if (batch.length > 0) await this.handle.datasync();
    } catch (err) {
      for (const w of batch) {
        this.pendingEntries.delete(w.entry.id);
        w.reject(err);
      }
      return;
    }
    this.droppedTotal += dropped.length;
    this.droppedUnreported += dropped.length;
    for (const entry of dropped) this.opts.onDrop?.(entry);
    for (const w of batch) w.resolve();
    if (this.deliveredSinceCompact >= this.opts.compactAfter) await this.rewrite();
    if (batch.length > 0) for (const listener of this.readyListeners) listener();
  }

  /** Rewrites the journal as just the pending entries (temp file, fsync, rename). */
  private async rewrite(): Promise<void> {
    await this.handle?.close();
    const tmp = `${this.file}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      let text = [...this.pendingEntries.values()].map((e) => `${JSON.stringify({ e })}\n`).join('');
      // Keep the unreported-drop count across the rewrite.
      for (let i = 0; i < this.droppedUnreported; i += 1) text += `${JSON.stringify({ x: `compacted-${i}` })}\n`;
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.file);
    this.handle = await open(this.file, 'a');
    this.deliveredSinceCompact = 0;
  }
}

/**
 * Feeds the outbox to an MQTT client: at most `inflight` entries handed over at once, in order, only while
 * connected. MQTT.js keeps handed QoS 1 packets across a reconnect and resends them first, so an entry is handed
 * once per process; the journal covers restarts.
 */
export class OutboxPublisher {
  private readonly outbox: Outbox;
  private readonly inflightLimit: number;
  private readonly publish: (entry: OutboxEntry, done: (err?: Error) => void) => void;
  private readonly handed = new Set<string>();
  private connected = false;
  private stopped = false;

  constructor(
    outbox: Outbox,
    inflightLimit: number,
    publish: (entry: OutboxEntry, done: (err?: Error) => void) => void,
  ) {
    this.outbox = outbox;
    this.inflightLimit = inflightLimit;
    this.publish = publish;
    outbox.onReady(() => this.pump());
  }

  setConnected(connected: boolean): void {
    this.connected = connected;
    if (connected) this.pump();
  }

  stop(): void {
    this.stopped = true;
  }

  get inflight(): number {
    return this.handed.size;
  }

  pump(): void {
    if (!this.connected || this.stopped) return;
    for (const entry of this.outbox.pending()) {
      if (this.handed.size >= this.inflightLimit) return;
      if (this.handed.has(entry.id)) continue;
      this.handed.add(entry.id);
      this.publish(entry, (err) => {
        if (err) {
          // Closed before the ack and not kept by the client: hand it over again after the next connect.
          this.handed.delete(entry.id);
          return;
        }
        this.handed.delete(entry.id);
        this.outbox.markDelivered(entry.id);
        this.pump();
      });
    }
  }
}
