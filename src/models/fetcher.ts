/**
 * Downloads one file over HTTP(S) with a sha256 check while streaming. The bytes go to `<dest>.part`; only a
 * complete download whose hash matches is renamed to `dest`, so an interrupted or tampered transfer never leaves
 * a file that looks finished. Shared by every model kind that fetches weights.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FacegateError } from '../util/errors.ts';

export interface FetchOptions {
  /** Lower-case hex sha256 the file must have; required, because an unchecked model is never used. */
  sha256: string;
  /** Redirects followed before giving up (GitHub raw and vlfeat both redirect). */
  maxRedirects?: number;
  /** Refuse bodies larger than this many bytes (a wrong URL serving an endless stream). */
  maxBytes?: number;
  signal?: AbortSignal;
  /** Called with bytes received so far and the announced total (0 when unknown). */
  onProgress?: (received: number, total: number) => void;
  /** Socket inactivity timeout. */
  timeoutMs?: number;
}

export interface FetchResult {
  file: string;
  bytes: number;
  sha256: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function get(url: URL, signal: AbortSignal | undefined, timeoutMs: number): Promise<http.IncomingMessage> {
  const client = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
  if (!client)
    return Promise.reject(new FacegateError(`cannot download ${url.href}: only http and https are supported`));
  return new Promise((resolve, reject) => {
    const req = client.get(url, { signal, timeout: timeoutMs, headers: { 'user-agent': 'facegate' } }, resolve);
    req.on('timeout', () => req.destroy(new Error(`no data for ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

async function openFollowingRedirects(start: string, opts: FetchOptions): Promise<http.IncomingMessage> {
  let url = new URL(start);
  const maxRedirects = opts.maxRedirects ?? 5;
  for (let hop = 0; ; hop++) {
    const res = await get(url, opts.signal, opts.timeoutMs ?? 30_000);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      if (hop >= maxRedirects) throw new FacegateError(`cannot download ${start}: more than ${maxRedirects} redirects`);
      url = new URL(res.headers.location, url);
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw new FacegateError(`cannot download ${url.href}: HTTP ${status}`);
    }
    return res;
  }
}

function describeNetworkError(err: unknown, url: string): FacegateError {
  if (err instanceof FacegateError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.name === 'AbortError') return new FacegateError(`download of ${url} cancelled`);
  const why = e.code ? `${e.code}${e.message && !e.message.includes(e.code) ? ` ${e.message}` : ''}` : e.message;
  return new FacegateError(
    `cannot download ${url}: ${String(why).split('\n')[0]} (no network? copy the file by hand and import it)`,
  );
}

/** Downloads `url` to `dest`; throws a one-line FacegateError and leaves no `dest` (and no `.part`) on failure. */
export async function fetchToFile(url: string, dest: string, opts: FetchOptions): Promise<FetchResult> {
  const expected = opts.sha256.toLowerCase();
  if (!SHA256_HEX.test(expected)) throw new FacegateError(`refusing to download ${url}: no valid pinned sha256`);
  await mkdir(path.dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const hash = createHash('sha256');
  let received = 0;
  try {
    const res = await openFollowingRedirects(url, opts);
    const total = Number(res.headers['content-length'] ?? 0);
    const maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    if (total > maxBytes)
      throw new FacegateError(`cannot download ${url}: ${total} bytes exceeds the ${maxBytes} byte limit`);
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (received > maxBytes) return done(new FacegateError(`cannot download ${url}: more than ${maxBytes} bytes`));
        hash.update(chunk);
        opts.onProgress?.(received, total);
        done(null, chunk);
      },
    });
    // A connection that closes early ends the response without error in some Node versions; the length check
    // below catches that case, the 'aborted' listener the rest.
    let aborted = false;
    res.on('aborted', () => {
      aborted = true;
    });
    await pipeline(res, meter, createWriteStream(part), { signal: opts.signal });
    if (aborted || !res.complete || (total > 0 && received !== total)) {
      throw new FacegateError(`download of ${url} was interrupted after ${received} of ${total || '?'} bytes`);
    }
    const actual = hash.digest('hex');
    if (actual !== expected) {
      throw new FacegateError(`download of ${url} refused: sha256 ${actual} does not match the pinned ${expected}`);
    }
    await rename(part, dest);
    return { file: dest, bytes: received, sha256: actual };
  } catch (err) {
    await rm(part, { force: true });
    throw describeNetworkError(err, url);
  }
}
