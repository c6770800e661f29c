/**
 * Nothing lost: access events and alarms go into a JSON-lines journal, fsynced, before they are published with
 * QoS 1; a PUBACK appends a delivered marker. After a reconnect or a restart the undelivered entries go out again
 * with their original event ids, so consumers de-duplicate on `eventId`.
 *
 * Entries travel in lanes, each with its own budget, published in this order: `alert` (overflow reports), `event`
 * (access events, door alarms, portraits) and `audit` (refusal summaries). A full lane drops its own oldest entry,
 * never another lane's: 20 000 refused commands once pushed 4 of 10 real access events out of a shared 10 000-entry
 * journal. Drops are counted per lane until reported (the module announces them within a second while connected).
 *
 * Journal lines: `{"e":{id,topic,payload,lane?,subject?}}` an entry, `{"d":id}` delivered, `{"x":id,"l":lane}`
 * dropped, `{"r":1}` drops reported, `{"u":{"event":n,"audit":m}}` unreported drops carried over a rewrite.
 */
import { mkdirSync } from 'node:fs';
import { type FileHandle, open, rename } from 'node:fs/promises';
import path from 'node:path';
import { readJournalLines } from '../store/journal-lines.ts';

export type OutboxLane = 'alert' | 'event' | 'audit';
const LANES: readonly OutboxLane[] = ['alert', 'event', 'audit'];

export interface OutboxEntry {
  id: string;
  topic: string;
  /** The JSON text to publish, as journaled. */
  payload: string;
  /** Default `event`. */
  lane?: OutboxLane;
  /** The identity the entry names, so a deletion can scrub it from the journal. */
  subject?: string;
}

export interface OutboxOptions {
  /** Budget of the `event` lane (and of `alert`). */
  maxEvents: number;
  /** Budget of the `audit` lane; default a tenth of maxEvents. */
  maxAudit?: number;
  compactAfter: number;
  onDrop?: (entry: OutboxEntry) => void;
}

/** Undelivered entries dropped per lane and not yet reported; `alert` drops count as `event`. */
export interface DropCounts {
  event: number;
  audit: number;
}

export interface OutboxStats {
  pending: number;
  delivered: number;
  dropped: number;
  droppedUnreported: number;
  droppedEvents: number;
  droppedAudit: number;
}

type Waiter = { entry: OutboxEntry; resolve: () => void; reject: (err: unknown) => void };
type JournalLine = {
  e?: OutboxEntry;
  d?: string;
  x?: string;
  l?: string;
  r?: number;
  u?: Partial<DropCounts>;
};

const laneOf = (entry: OutboxEntry): OutboxLane => entry.lane ?? 'event';
const dropKey = (lane: OutboxLane | string | undefined): keyof DropCounts => (lane === 'audit' ? 'audit' : 'event');

export class Outbox {
  readonly file: string;
  private readonly opts: OutboxOptions;
  private handle: FileHandle | null = null;
  /** One insertion-ordered map per lane: the publish order within the lane. */
  private readonly lanes = new Map<OutboxLane, Map<string, OutboxEntry>>(LANES.map((l) => [l, new Map()]));
  private waiting: Waiter[] = [];
  private markers: string[] = [];
  private io: Promise<void> = Promise.resolve();
  private ioScheduled = false;
  private deliveredSinceCompact = 0;
  private deliveredTotal = 0;
  private readonly droppedTotal: DropCounts = { event: 0, audit: 0 };
  private droppedUnreported: DropCounts = { event: 0, audit: 0 };
  /** Deleted identities with entries still pending: once one of those is delivered, the journal is rewritten. */
  private readonly scrubSubjects = new Set<string>();
  private rewriteDue = false;
  private readonly readyListeners = new Set<() => void>();

  private constructor(file: string, opts: OutboxOptions) {
    this.file = file;
    this.opts = opts;
  }

  static async open(dataDir: string, opts: OutboxOptions, name = 'mqtt-outbox.jsonl'): Promise<Outbox> {
    mkdirSync(dataDir, { recursive: true });
    const outbox = new Outbox(path.join(dataDir, name), opts);
    // A torn last line is skipped: that entry was never fsynced, so it was never published either.
    for (const line of await readJournalLines(outbox.file)) {
      if (typeof line === 'object' && line !== null) outbox.replay(line as JournalLine);
    }
    await outbox.rewrite();
    return outbox;
  }

  private replay(rec: JournalLine): void {
    const e = rec.e;
    if (e && typeof e.id === 'string' && typeof e.topic === 'string' && typeof e.payload === 'string') {
      const lane = LANES.includes(e.lane as OutboxLane) ? (e.lane as OutboxLane) : 'event';
      const entry: OutboxEntry = { id: e.id, topic: e.topic, payload: e.payload, lane };
      if (typeof e.subject === 'string') entry.subject = e.subject;
      this.lane(lane).set(e.id, entry);
    } else if (typeof rec.d === 'string') {
      this.forget(rec.d);
    } else if (typeof rec.x === 'string') {
      this.forget(rec.x);
      this.droppedUnreported[dropKey(rec.l)] += 1;
      this.droppedTotal[dropKey(rec.l)] += 1;
    } else if (rec.r !== undefined) {
      this.droppedUnreported = { event: 0, audit: 0 };
    } else if (rec.u) {
      for (const key of ['event', 'audit'] as const) {
        const n = rec.u[key];
        if (typeof n === 'number' && Number.isInteger(n) && n > 0) {
          this.droppedUnreported[key] += n;
          this.droppedTotal[key] += n;
        }
      }
    }
  }

  private lane(lane: OutboxLane): Map<string, OutboxEntry> {
    return this.lanes.get(lane) as Map<string, OutboxEntry>;
  }

  private find(id: string): OutboxEntry | undefined {
    for (const entries of this.lanes.values()) {
      const entry = entries.get(id);
      if (entry) return entry;
    }
    return undefined;
  }

  private forget(id: string): OutboxEntry | undefined {
    for (const entries of this.lanes.values()) {
      const entry = entries.get(id);
      if (entry) {
        entries.delete(id);
        return entry;
      }
    }
    return undefined;
  }

  /** Resolves once the entry is on disk (fsync); only then may it be published. */
  append(entry: OutboxEntry): Promise<void> {
    if (!this.handle) return Promise.reject(new Error('outbox closed'));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ entry, resolve, reject });
      this.schedule();
    });
  }

  /** Undelivered entries in publish order: alerts, then events, then audit entries. */
  *pending(): IterableIterator<OutboxEntry> {
    for (const lane of LANES) yield* this.lane(lane).values();
  }

  has(id: string): boolean {
    return this.find(id) !== undefined;
  }

  get size(): number {
    let n = 0;
    for (const entries of this.lanes.values()) n += entries.size;
    return n;
  }

  markDelivered(id: string): void {
    const entry = this.forget(id);
    if (!entry) return;
    this.deliveredTotal += 1;
    this.deliveredSinceCompact += 1;
    if (entry.subject !== undefined && this.scrubSubjects.has(entry.subject)) this.rewriteDue = true;
    this.markers.push(`${JSON.stringify({ d: id })}\n`);
    this.schedule();
  }

  /** Drops counted since the last report, per lane, and resets them (journaled); null when there were none. */
  takeDropReport(): DropCounts | null {
    const counts = this.droppedUnreported;
    if (counts.event + counts.audit === 0) return null;
    this.droppedUnreported = { event: 0, audit: 0 };
    this.markers.push(`${JSON.stringify({ r: 1 })}\n`);
    this.schedule();
    return counts;
  }

  /**
   * A deleted identity: delivered entries naming it leave the file now (atomic rewrite); pending ones are still
   * published — they record decisions already made — and leave the file as soon as they are delivered.
   */
  scrub(subject: string): Promise<void> {
    for (const entry of this.pending()) {
      if (entry.subject === subject) {
        this.scrubSubjects.add(subject);
        break;
      }
    }
    const run = this.io.then(() => this.rewrite());
    this.io = run.catch(() => undefined);
    return run;
  }

  onReady(listener: () => void): () => void {
    this.readyListeners.add(listener);
    return () => this.readyListeners.delete(listener);
  }

  stats(): OutboxStats {
    return {
      pending: this.size,
      delivered: this.deliveredTotal,
      dropped: this.droppedTotal.event + this.droppedTotal.audit,
      droppedUnreported: this.droppedUnreported.event + this.droppedUnreported.audit,
      droppedEvents: this.droppedTotal.event,
      droppedAudit: this.droppedTotal.audit,
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

  private budget(lane: OutboxLane): number {
    return lane === 'audit'
      ? (this.opts.maxAudit ?? Math.max(1, Math.floor(this.opts.maxEvents / 10)))
      : this.opts.maxEvents;
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
      const lane = laneOf(entry);
      const entries = this.lane(lane);
      entries.set(entry.id, entry);
      while (entries.size > this.budget(lane)) {
        const oldest = entries.values().next().value as OutboxEntry;
        entries.delete(oldest.id);
        dropped.push(oldest);
        markers.push(`${JSON.stringify({ x: oldest.id, l: lane })}\n`);
      }
    }
    const text = batch.map((w) => `${JSON.stringify({ e: w.entry })}\n`).join('') + markers.join('');
    try {
      if (!this.handle) throw new Error('outbox closed');
      if (text) await this.handle.appendFile(text);
      if (batch.length > 0) await this.handle.datasync();
    } catch (err) {
      for (const w of batch) {
        this.lane(laneOf(w.entry)).delete(w.entry.id);
        w.reject(err);
      }
      return;
    }
    for (const entry of dropped) {
      this.droppedTotal[dropKey(laneOf(entry))] += 1;
      this.droppedUnreported[dropKey(laneOf(entry))] += 1;
      this.opts.onDrop?.(entry);
    }
    for (const w of batch) w.resolve();
    if (this.rewriteDue || this.deliveredSinceCompact >= this.opts.compactAfter) await this.rewrite();
    if (batch.length > 0) for (const listener of this.readyListeners) listener();
  }

  /** Rewrites the journal as just the pending entries (temp file, fsync, rename). */
  private async rewrite(): Promise<void> {
    await this.handle?.close();
    const tmp = `${this.file}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      let text = [...this.pending()].map((e) => `${JSON.stringify({ e })}\n`).join('');
      // Keep the unreported-drop counts across the rewrite.
      if (this.droppedUnreported.event + this.droppedUnreported.audit > 0)
        text += `${JSON.stringify({ u: this.droppedUnreported })}\n`;
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.file);
    this.handle = await open(this.file, 'a');
    this.deliveredSinceCompact = 0;
    this.rewriteDue = false;
    const named = new Set<string>();
    for (const entry of this.pending()) if (entry.subject !== undefined) named.add(entry.subject);
    for (const subject of this.scrubSubjects) if (!named.has(subject)) this.scrubSubjects.delete(subject);
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
