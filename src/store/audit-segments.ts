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
import { readdirSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
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

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** Offset of the first `byte` at or after `from`, or -1. */
async function findByte(fh: FileHandle, from: number, size: number, byte: number): Promise<number> {
  for (let pos = from; pos < size; pos += BLOCK) {
    const block = await readAt(fh, pos, Math.min(BLOCK, size - pos));
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
async function lineFrom(fh: FileHandle, pos: number, size: number): Promise<LineRef | null> {
  let start = pos;
  if (pos > 0) {
    const newline = await findByte(fh, pos - 1, size, NEWLINE);
    if (newline < 0) return null;
    start = newline + 1;
  }
  if (start >= size) return null;
  const end = await findByte(fh, start, size, NEWLINE);
  if (end < 0) return null;
  const head = await readAt(fh, start, Math.min(32, end - start));
  return { start, end, t: lineTime(head.toString('latin1')) };
}

/**
 * The offset of the first line with time ≥ `target` (lines without a time — damaged, blank — are stepped over),
 * or `size` when there is none: a binary search by byte offset, ~2 reads of 4 KiB per step.
 */
export async function seekTime(fh: FileHandle, size: number, target: number): Promise<number> {
  let lo = 0;
  let hi = size;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    let line = await lineFrom(fh, mid, size);
    while (line && line.t === null) line = await lineFrom(fh, line.end + 1, size);
    if (!line || line.t! >= target) hi = mid;
    else lo = line.end + 1; // always a line start, so the answer is one too
  }
  return lo;
}

/** The time of the last complete record of a file, reading only its end; null when it has none. */
export async function lastRecordTime(file: string): Promise<number | null> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    let end = size;
    // Walk back over the tail a window at a time until a complete line with a time turns up. Decoded as latin1
    // so string lengths are byte counts.
    while (end > 0) {
      const from = Math.max(0, end - BLOCK * 4);
      const lines = (await readAt(fh, from, end - from)).toString('latin1').split('\n');
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
    await fh.close();
  }
}
