/**
 * Reading the access log for `facegate log`: filters by time, identity, decision, reason, kind and kiosk, newest
 * first, with a summary over everything that matched (not just the records shown). Read-only, so it works while
 * the daemon appends from another process: a line still being written is not yet a line, and a segment removed by
 * retention mid-read is skipped. Only the segments that overlap the time range are opened, and in each a binary
 * search by byte offset (audit-segments.ts) skips what lies before it, so `--since 1h` reads about an hour of
 * records whatever the log's size (bench/audit-log.ts measures it on 1 M records).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { FacegateError } from '../util/errors.ts';
import { type AuditKind, type AuditRecord, lineTime, MAX_LINE_BYTES, parseRecordLine } from './audit-record.ts';
import { pendingRedactions } from './audit-redact.ts';
import { CLOCK_SLACK_MS, lastRecordTime, listSegments, type SegmentInfo, seekTime } from './audit-segments.ts';

export interface AuditQuery {
  /** Only the last `since` ms before `now` (`--since 1h`: `parseDuration('1h')`); combines with `from` (the later wins). */
  since?: number;
  /** For `since`; default Date.now(). */
  now?: number;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
  identity?: string;
  decision?: 'granted' | 'denied';
  reason?: string;
  kind?: AuditKind;
  kiosk?: string;
  /** Most records returned (newest first); default 100. The summary counts every match regardless. */
  limit?: number;
}

export interface AuditSummary {
  matched: number;
  granted: number;
  denied: number;
  alarms: number;
  admin: number;
}

export interface AuditQueryResult {
  records: AuditRecord[];
  summary: AuditSummary;
  /** Damaged lines stepped over (a torn last line after a crash, a hand-edited file). */
  skippedLines: number;
  warnings: string[];
}

export const DEFAULT_LIMIT = 100;
const CHUNK = 256 * 1024;
const NEWLINE = 0x0a;

interface Found {
  record: AuditRecord;
  counter: number;
  offset: number;
}

const newestFirst = (a: Found, b: Found) => b.record.t - a.record.t || b.counter - a.counter || b.offset - a.offset;

/** Parses `--since` durations: `90s`, `15m`, `2h`, `7d`, `2w`. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,6})(s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new FacegateError(`bad duration ${JSON.stringify(text.slice(0, 32))} (like 90s, 15m, 2h, 7d, 2w)`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

/** Parses `--from`/`--to`: an ISO 8601 date or date-time (`2025-06-04`, `2025-06-04T08:00`, with a zone or not). */
export function parseTimeArg(text: string): number {
  const t = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())
    ? Date.parse(text.trim())
    : Number.NaN;
  if (!Number.isFinite(t))
    throw new FacegateError(`bad time ${JSON.stringify(text.slice(0, 40))} (like 2025-06-04T08:00)`);
  return t;
}

function matches(record: AuditRecord, q: AuditQuery, from: number, to: number): boolean {
  return (
    record.t >= from &&
    record.t < to &&
    (q.identity === undefined || record.identityId === q.identity) &&
    (q.decision === undefined || record.result === q.decision) &&
    (q.reason === undefined || record.reason === q.reason) &&
    (q.kind === undefined || record.kind === q.kind) &&
    (q.kiosk === undefined || record.kiosk === q.kiosk)
  );
}

/** Segments whose records can fall in [from, to): the next segment's first time bounds a segment's last one. */
function lastTimeOrNone(file: string): number {
  try {
    return lastRecordTime(file) ?? Number.NEGATIVE_INFINITY;
  } catch {
    return Number.NEGATIVE_INFINITY; // removed by retention meanwhile
  }
}

function overlapping(segments: SegmentInfo[], from: number, to: number): SegmentInfo[] {
  const chosen: SegmentInfo[] = [];
  for (const [i, segment] of segments.entries()) {
    if (segment.firstT - CLOCK_SLACK_MS >= to) continue;
    const next = segments[i + 1];
    let last = Number.POSITIVE_INFINITY;
    if (next && next.firstT >= segment.firstT) last = next.firstT;
    else if (next) last = lastTimeOrNone(segment.file);
    if (last + CLOCK_SLACK_MS >= from) chosen.push(segment);
  }
  return chosen;
}

/** Reads one segment from the first line that can be in range, handing every record in range to `visit`. */
function scanSegment(
  segment: SegmentInfo,
  from: number,
  to: number,
  visit: (record: AuditRecord, offset: number) => void,
): number {
  let fd: number;
  try {
    fd = openSync(segment.file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0; // removed by retention meanwhile
    throw err;
  }
  let skipped = 0;
  try {
    const { size } = fstatSync(fd);
    let offset = from - CLOCK_SLACK_MS > segment.firstT ? seekTime(fd, size, from - CLOCK_SLACK_MS) : 0;
    // Split on newline bytes and decode whole lines, so a character cut by a chunk boundary stays whole.
    let carry = Buffer.alloc(0);
    let carryAt = offset;
    let dropping = false;
    const buffer = Buffer.alloc(CHUNK);
    while (offset < size) {
      const bytesRead = readSync(fd, buffer, 0, Math.min(CHUNK, size - offset), offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      const data = Buffer.concat([carry, buffer.subarray(0, bytesRead)]);
      let start = 0;
      for (let newline = data.indexOf(NEWLINE); newline >= 0; newline = data.indexOf(NEWLINE, start)) {
        const line = data.toString('utf8', start, newline);
        const at = carryAt + start;
        start = newline + 1;
        if (dropping) {
          dropping = false; // the rest of an overlong line, already counted
          continue;
        }
        const t = lineTime(line);
        if (t === null) {
          if (line.trim() !== '') skipped++;
          continue;
        }
        if (t >= to + CLOCK_SLACK_MS) return skipped; // time-ordered within the slack: nothing later is in range
        if (t < from || t >= to) continue;
        const record = parseRecordLine(line);
        if (record) visit(record, at);
        else skipped++;
      }
      carry = Buffer.from(data.subarray(start));
      carryAt += start;
      // A line longer than any record is garbage: drop it rather than buffer without bound.
      if (carry.length > MAX_LINE_BYTES) {
        if (!dropping) skipped++;
        dropping = true;
        carry = Buffer.alloc(0);
        carryAt = offset;
      }
    }
    return skipped; // a trailing piece without its newline is a line still being written (or torn): not counted
  } finally {
    closeSync(fd);
  }
}

function hidePerson(record: AuditRecord): AuditRecord {
  return { ...record, identityId: null, name: null, badge: null, redacted: true };
}

/**
 * Runs a query. The reads are synchronous (a small query is a few ms of them; see seekTime), the Promise leaves
 * room to move a wide query off the daemon's event loop later.
 */
export async function queryAuditLog(dir: string, query: AuditQuery = {}): Promise<AuditQueryResult> {
  const sinceFrom = query.since === undefined ? 0 : (query.now ?? Date.now()) - query.since;
  const from = Math.max(query.from ?? 0, sinceFrom);
  const to = query.to ?? Number.MAX_SAFE_INTEGER;
  const limit = Math.max(0, Math.floor(query.limit ?? DEFAULT_LIMIT));
  const warnings: string[] = [];
  const pending = pendingRedactions(dir);
  if (pending === 'unreadable') warnings.push('the redaction list is unreadable: every name is hidden');
  const summary: AuditSummary = { matched: 0, granted: 0, denied: 0, alarms: 0, admin: 0 };
  let kept: Found[] = [];
  let skippedLines = 0;
  for (const segment of overlapping(listSegments(dir), from, to)) {
    skippedLines += scanSegment(segment, from, to, (raw, offset) => {
      // A person being deleted is hidden before the filters, so `--identity <their id>` finds nothing.
      const record =
        pending === 'unreadable' || (raw.identityId !== null && pending.has(raw.identityId)) ? hidePerson(raw) : raw;
      if (!matches(record, query, from, to)) return;
      summary.matched++;
      if (record.result === 'granted') summary.granted++;
      else if (record.result === 'denied') summary.denied++;
      else if (record.kind === 'alarm') summary.alarms++;
      else summary.admin++;
      kept.push({ record, counter: segment.counter, offset });
      // Keep memory bounded on wide ranges: only the newest `limit` can be shown.
      if (kept.length > Math.max(2 * limit, 1024)) kept = kept.sort(newestFirst).slice(0, limit);
    });
  }
  const records = kept
    .sort(newestFirst)
    .slice(0, limit)
    .map((f) => f.record);
  return { records, summary, skippedLines, warnings };
}
