/**
 * The local access log (the installer's "who came in today"): every access decision, alarm and admin action,
 * appended as one JSON line to a segment file in `<data dir>/audit/` (layout and time index: audit-segments.ts;
 * record shape and privacy rules: audit-record.ts; reading: audit-query.ts).
 *
 * Durability: `append` writes the whole line with one write() on an O_APPEND descriptor before it returns, so a
 * crash of the process (kill -9, OOM) loses nothing appended — the kernel has it. fsync is batched: at most
 * `syncIntervalMs` (default 1 s) after a write, so a power cut loses at most the last second of records (plus a
 * torn last line); `sync: 'always'` syncs every line instead. On an SD card batching spares the flash a rewrite
 * of the same block per door event. A torn last line (crash mid-write) is skipped by readers and, on open,
 * closed off with a newline so the next record starts clean — truncating it instead could cut a line another
 * process is writing at that moment.
 *
 * Several processes may append at once (the daemon, and the CLI for admin actions): O_APPEND writes of one line
 * do not interleave, a new segment is created with O_EXCL (the loser of a race appends to the winner's), and a
 * writer notices another's rotation by the directory's mtime (looked at once a second at most).
 *
 * Rotation and retention: a new segment when the current one would pass `segmentBytes` (default maxMB/8, 64 KiB
 * to 16 MiB), is a day old, or the clock stepped back more than CLOCK_SLACK_MS; rotation only starts a new file,
 * so nothing is copied and nothing lost. After each rotation (and on open) segments whose newest record is older
 * than `maxDays` (default 90), then the oldest while the total passes `maxMB` (default 100), are deleted — never
 * the newest. Records older than maxDays therefore stay at most a day longer (the segment they share).
 */
import { closeSync, fstatSync, fsync, fsyncSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { type Clock, systemClock } from '../util/clock.ts';
import { errorMessage, FacegateError } from '../util/errors.ts';
import { type AuditEntry, recordLine } from './audit-record.ts';
import { pendingRedactions, redactAll, setPendingRedactions } from './audit-redact.ts';
import { CLOCK_SLACK_MS, lastRecordTime, listSegments, type SegmentInfo, segmentFile } from './audit-segments.ts';

const DAY_MS = 86_400_000;
const MB = 1024 * 1024;

export interface AuditLogOptions {
  /** The log's directory, `<data dir>/audit`; created (mode 0700) if missing. */
  dir: string;
  clock?: Clock;
  maxDays?: number;
  maxMB?: number;
  segmentBytes?: number;
  /** 'batch' (default): fsync at most `syncIntervalMs` after a write; 'always': after every line. */
  sync?: 'batch' | 'always';
  syncIntervalMs?: number;
  /** Failures of background work (batched fsync, retention); the daemon logs them. Default: ignored. */
  onError?: (err: unknown) => void;
}

/** An open segment; closed only when no fsync is in flight on its descriptor (a reused fd number is never synced). */
class OpenSegment {
  dirty = false;
  /** Bytes in the file as far as this process knows (refreshed from the file once a second). */
  size: number;
  /** The time of the last record this process wrote (or found at its end): a clock step back starts a new one. */
  lastT: number;
  private inFlight = 0;
  private retired = false;
  private closed = false;

  constructor(
    readonly fd: number,
    readonly info: SegmentInfo,
  ) {
    this.lastT = info.firstT;
    this.size = fstatSync(fd).size;
  }

  sync(): Promise<void> {
    if (!this.dirty || this.closed) return Promise.resolve();
    this.dirty = false;
    this.inFlight++;
    return new Promise((resolve, reject) => {
      fsync(this.fd, (err) => {
        this.inFlight--;
        this.closeIfIdle();
        if (err) reject(err);
        else resolve();
      });
    });
  }

  retire(): Promise<void> {
    this.retired = true;
    const synced = this.sync();
    this.closeIfIdle();
    return synced;
  }

  private closeIfIdle(): void {
    if (this.retired && this.inFlight === 0 && !this.closed) {
      this.closed = true;
      closeSync(this.fd);
    }
  }
}

function writeAll(fd: number, bytes: Buffer): void {
  // A regular file takes the whole line in one write; a short write (disk full) is finished or throws.
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}

/** The file's last byte (undefined when empty), through a short-lived read-only descriptor. */
function lastByte(file: string): number | undefined {
  const fd = openSync(file, 'r');
  try {
    const { size } = fstatSync(fd);
    const byte = Buffer.alloc(1);
    return size > 0 && readSync(fd, byte, 0, 1, size - 1) === 1 ? byte[0] : undefined;
  } finally {
    closeSync(fd);
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the file itself is still synced.
  } finally {
    closeSync(fd);
  }
}

export class AuditLog {
  readonly dir: string;
  private readonly clock: Clock;
  private readonly maxDays: number;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly syncAlways: boolean;
  private readonly syncIntervalMs: number;
  private readonly onError: (err: unknown) => void;
  private current: OpenSegment | null = null;
  private dirMtime = -1;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private syncTimer: unknown = null;
  private background = new Set<Promise<unknown>>();
  private redactions: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(opts: AuditLogOptions) {
    this.dir = opts.dir;
    this.clock = opts.clock ?? systemClock;
    this.maxDays = opts.maxDays ?? 90;
    this.maxBytes = (opts.maxMB ?? 100) * MB;
    this.segmentBytes = opts.segmentBytes ?? Math.min(16 * MB, Math.max(64 * 1024, Math.floor(this.maxBytes / 8)));
    this.syncAlways = opts.sync === 'always';
    this.syncIntervalMs = opts.syncIntervalMs ?? 1000;
    this.onError = opts.onError ?? (() => undefined);
  }

  /** Opens (creating) the log: closes off a torn last line, finishes pending redactions, applies retention. */
  static async open(opts: AuditLogOptions): Promise<AuditLog> {
    const log = new AuditLog(opts);
    try {
      mkdirSync(log.dir, { recursive: true, mode: 0o700 });
      const newest = listSegments(log.dir).at(-1);
      if (newest) {
        const segment = log.adopt(newest);
        const last = lastByte(newest.file);
        if (last !== undefined && last !== 0x0a) writeAll(segment.fd, Buffer.from('\n')); // a torn last line
        segment.lastT = lastRecordTime(newest.file) ?? newest.firstT;
      }
      const pending = pendingRedactions(log.dir);
      if (pending !== 'unreadable') for (const id of pending) await log.redactIdentity(id);
      await log.applyRetention();
    } catch (err) {
      await log.close().catch(() => undefined);
      throw new FacegateError(`access log ${log.dir}: ${errorMessage(err)}`);
    }
    return log;
  }

  /**
   * Appends one record; returns its time. Throws (one line, nothing written) for an entry that breaks the
   * record rules: an unknown field, an unmasked badge, an overlong string.
   */
  append(entry: AuditEntry): number {
    if (this.closed) throw new FacegateError('the access log is closed');
    const { t, line } = recordLine(entry, this.clock.now());
    const bytes = Buffer.from(line);
    const segment = this.segmentFor(t, bytes.length);
    writeAll(segment.fd, bytes);
    segment.size += bytes.length;
    segment.lastT = t;
    if (this.syncAlways) fsyncSync(segment.fd);
    else {
      segment.dirty = true;
      this.syncTimer ??= this.clock.setTimeout(() => {
        this.syncTimer = null;
        this.track(this.current?.sync());
      }, this.syncIntervalMs);
    }
    return t;
  }

  /** fsync now (the CLI calls it before exiting; `close` does too). */
  async flush(): Promise<void> {
    await this.current?.sync();
  }

  /**
   * Removes an identity's id, name and badge from every record of theirs (the records stay, marked redacted).
   * Readers hide them from the moment this starts; returns how many records were changed.
   */
  redactIdentity(identityId: string): Promise<number> {
    if (typeof identityId !== 'string' || identityId.length === 0 || identityId.length > 128) {
      return Promise.reject(new FacegateError('redaction needs an identity id (1-128 characters)'));
    }
    const run = this.redactions.then(async () => {
      const before = pendingRedactions(this.dir);
      const pending = before === 'unreadable' ? new Set<string>() : before;
      await setPendingRedactions(this.dir, pending.add(identityId));
      const count = await redactAll(this.dir, identityId);
      pending.delete(identityId);
      await setPendingRedactions(this.dir, pending);
      return count;
    });
    this.redactions = run.catch(() => undefined);
    return run;
  }

  /** Deletes expired segments, then the oldest while over maxMB (never the newest); returns their paths. */
  async applyRetention(): Promise<string[]> {
    const segments = listSegments(this.dir);
    const cutoff = this.clock.now() - this.maxDays * DAY_MS;
    const keep: Array<{ segment: SegmentInfo; size: number }> = [];
    const deleted: string[] = [];
    const remove = async (segment: SegmentInfo) => {
      await unlink(segment.file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      deleted.push(segment.file);
    };
    for (const [i, segment] of segments.entries()) {
      const size = await stat(segment.file).then(
        (s) => s.size,
        () => -1,
      );
      if (size < 0) continue; // another process removed it
      const newest = i === segments.length - 1;
      if (!newest && segment.firstT < cutoff + CLOCK_SLACK_MS) {
        let last: number | null;
        try {
          last = lastRecordTime(segment.file);
        } catch {
          last = Number.POSITIVE_INFINITY; // unreadable: never deleted for its age on a guess
        }
        if (last === null || last < cutoff) {
          await remove(segment);
          continue;
        }
      }
      keep.push({ segment, size });
    }
    let total = keep.reduce((sum, k) => sum + k.size, 0);
    for (const k of keep.slice(0, -1)) {
      if (total <= this.maxBytes) break;
      await remove(k.segment);
      total -= k.size;
    }
    return deleted;
  }

  /** Syncs and closes; waits for background work. Appending afterwards throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.syncTimer !== null) this.clock.clearTimeout(this.syncTimer);
    this.syncTimer = null;
    const current = this.current;
    this.current = null;
    await current?.retire();
    await this.redactions;
    await Promise.allSettled([...this.background]);
  }

  /** The segment to write a record of time `t` and `length` bytes to, rotating when due. */
  private segmentFor(t: number, length: number): OpenSegment {
    // What other processes did (a rotation, their appends' size) is looked at once a second at most: two stat
    // calls cost ~30 µs on the shared dev box, twice the rest of an append. A record that lands in the previous
    // segment meanwhile is still within CLOCK_SLACK_MS of it, where readers look.
    const now = this.clock.now();
    if (Math.abs(now - this.checkedAt) >= 1000) {
      this.checkedAt = now;
      this.followOthers();
    }
    const segment = this.current;
    if (!segment) return this.rotate(t);
    const due =
      (segment.size > 0 && segment.size + length > this.segmentBytes) ||
      t - segment.info.firstT >= DAY_MS ||
      t < segment.lastT - CLOCK_SLACK_MS;
    return due ? this.rotate(t) : segment;
  }

  /** Follows a segment another process created; refreshes the current one's size (others append to it too). */
  private followOthers(): void {
    const mtime = statSync(this.dir).mtimeMs;
    if (mtime !== this.dirMtime) {
      this.dirMtime = mtime;
      const newest = listSegments(this.dir).at(-1);
      if (newest && newest.counter > (this.current?.info.counter ?? 0)) this.adopt(newest);
      if (!newest && this.current) {
        // The directory was emptied under us: start afresh rather than append to a deleted file.
        this.track(this.current.retire());
        this.current = null;
      }
    }
    if (this.current) this.current.size = fstatSync(this.current.fd).size;
  }

  private adopt(info: SegmentInfo): OpenSegment {
    const next = new OpenSegment(openSync(info.file, 'a', 0o600), info);
    if (this.current) this.track(this.current.retire());
    this.current = next;
    return next;
  }

  private rotate(t: number): OpenSegment {
    const counter = (listSegments(this.dir).at(-1)?.counter ?? 0) + 1;
    const info = segmentFile(this.dir, counter, t);
    let fd: number;
    try {
      fd = openSync(info.file, 'ax', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Another process rotated at the same moment: append to its segment.
      return this.adopt(listSegments(this.dir).find((s) => s.counter === counter) ?? info);
    }
    syncDirectory(this.dir);
    this.dirMtime = statSync(this.dir).mtimeMs;
    if (this.current) this.track(this.current.retire());
    this.current = new OpenSegment(fd, info);
    if (counter > 1) this.track(this.applyRetention());
    return this.current;
  }

  private track(work: Promise<unknown> | undefined): void {
    if (!work) return;
    const tracked = work.catch((err) => this.onError(err)).finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }
}
