/**
 * The access log on disk: a directory of segment files `seg-<counter>-<first record ms>.jsonl`, one JSON record
 * per line, appended in time order. The counter orders segments (creation order, also across processes: a new
 * segment is created with O_EXCL); the time in the name plus a binary search by byte offset over the time-ordered
 * lines find a time range without reading what lies before it.
 *
 * Time order within a segment holds to CLOCK_SLACK_MS: two processes appending at once can interleave a few ms
 * out of order, and a writer starts a new segment when the clock steps back further. Searches widen by the slack
 * and filter exactly afterwards.
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import path from 'node:path';
import { lineTime } from './audit-record.ts';

export const CLOCK_SLACK_MS = 5 * 60_000;
const SEGMENT_NAME = /^seg-(\d{8})-(\d{1,16})\.jsonl$/;
const BLOCK = 4096;
const NEWLINE = 0x0a;

export interface SegmentInfo {
  counter: number;
  /** Time of the record that opened the segment (epoch ms). */
  firstT: number;
  file: string;
}

export function segmentFile(dir: string, counter: number, firstT: number): SegmentInfo {
  const name = `seg-${String(counter).padStart(8, '0')}-${firstT}.jsonl`;
  return { counter, firstT, file: path.join(dir, name) };
}

/** The segments, oldest first; none when the directory does not exist. Other files are ignored. */
export function listSegments(dir: string): SegmentInfo[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const segments: SegmentInfo[] = [];
  for (const name of names) {
    const m = SEGMENT_NAME.exec(name);
    if (m) segments.push({ counter: Number(m[1]), firstT: Number(m[2]), file: path.join(dir, name) });
  }
  return segments.sort((a, b) => a.counter - b.counter);
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  return buffer.subarray(0, readSync(fd, buffer, 0, length, position));
}

/** Offset of the first `byte` at or after `from`, or -1. */
function findByte(fd: number, from: number, size: number, byte: number): number {
  for (let pos = from; pos < size; pos += BLOCK) {
    const block = readAt(fd, pos, Math.min(BLOCK, size - pos));
    const i = block.indexOf(byte);
    if (i >= 0) return pos + i;
  }
  return -1;
}

interface LineRef {
  start: number;
  /** Offset of the line's newline. */
  end: number;
  t: number | null;
}

/** The first complete line starting at or after `pos` (a line still being written does not count). */
function lineFrom(fd: number, pos: number, size: number): LineRef | null {
  let start = pos;
  if (pos > 0) {
    const newline = findByte(fd, pos - 1, size, NEWLINE);
    if (newline < 0) return null;
    start = newline + 1;
  }
  if (start >= size) return null;
  const end = findByte(fd, start, size, NEWLINE);
  if (end < 0) return null;
  const head = readAt(fd, start, Math.min(32, end - start));
  return { start, end, t: lineTime(head.toString('latin1')) };
}

/**
 * The offset of the first line with time ≥ `target` (lines without a time — damaged, blank — are stepped over),
 * or `size` when there is none: a binary search by byte offset, ~2 reads of 4 KiB per step. Synchronous reads:
 * ~50 small ones per search, where an await per read took 3-18x as long on the loaded dev box.
 */
export function seekTime(fd: number, size: number, target: number): number {
  let lo = 0;
  let hi = size;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    let line = lineFrom(fd, mid, size);
    while (line && line.t === null) line = lineFrom(fd, line.end + 1, size);
    if (!line || line.t! >= target) hi = mid;
    else lo = line.end + 1; // always a line start, so the answer is one too
  }
  return lo;
}

/** The time of the last complete record of a file, reading only its end; null when it has none. */
export function lastRecordTime(file: string): number | null {
  const fd = openSync(file, 'r');
  try {
    const { size } = fstatSync(fd);
    let end = size;
    // Walk back over the tail a window at a time until a complete line with a time turns up. Decoded as latin1
    // so string lengths are byte counts.
    while (end > 0) {
      const from = Math.max(0, end - BLOCK * 4);
      const lines = readAt(fd, from, end - from)
        .toString('latin1')
        .split('\n');
      // The last piece has no newline after it (unfinished, or empty); the first may be cut off unless at 0.
      for (let i = lines.length - 2; i >= (from === 0 ? 0 : 1); i--) {
        const t = lineTime(lines[i]!);
        if (t !== null) return t;
      }
      if (from === 0) return null;
      // Next, the window ending just after the first newline seen, so the cut-off line is read whole; a line
      // longer than the window is stepped over.
      const next = from + lines[0]!.length + 1;
      end = next < end ? next : from;
    }
    return null;
  } finally {
    closeSync(fd);
  }
}
