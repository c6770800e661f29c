import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fetchToFile } from '../../src/models/fetcher.ts';
import { FacegateError } from '../../src/util/errors.ts';

const body = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31) % 251));
const goodSha = createHash('sha256').update(body).digest('hex');
let server: http.Server;
let base = '';
let dir = '';

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-fetch-'));
  server = http.createServer((req, res) => {
    if (req.url === '/file') {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    } else if (req.url === '/redirect') {
      res.writeHead(302, { location: '/file' });
      res.end();
    } else if (req.url === '/cut') {
      // Announce the full length, send half, then drop the connection.
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, body.length / 2), () => res.socket?.destroy());
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

test('downloads, follows a redirect and checks the sha256', async () => {
  const dest = path.join(dir, 'ok.bin');
  const got = await fetchToFile(`${base}/redirect`, dest, { sha256: goodSha });
  assert.equal(got.bytes, body.length);
  assert.deepEqual(await readFile(dest), body);
  assert.equal(existsSync(`${dest}.part`), false);
});

test('a wrong sha256 is refused and nothing is left behind', async () => {
  const dest = path.join(dir, 'bad.bin');
  await assert.rejects(fetchToFile(`${base}/file`, dest, { sha256: 'a'.repeat(64) }), (e: unknown) => {
    assert.ok(e instanceof FacegateError);
    assert.match(e.message, /does not match the pinned/);
    return true;
  });
  assert.equal(existsSync(dest), false);
  assert.equal(existsSync(`${dest}.part`), false);
});

test('an interrupted download leaves no file that looks complete', async () => {
  const dest = path.join(dir, 'cut.bin');
  await assert.rejects(fetchToFile(`${base}/cut`, dest, { sha256: goodSha }), FacegateError);
  const left = await readdir(dir);
  assert.ok(!left.includes('cut.bin') && !left.includes('cut.bin.part'), `left: ${left.join(', ')}`);
});

test('HTTP errors and missing hashes are one-line errors', async () => {
  await assert.rejects(fetchToFile(`${base}/nope`, path.join(dir, 'x'), { sha256: goodSha }), /HTTP 404/);
  await assert.rejects(fetchToFile(`${base}/file`, path.join(dir, 'y'), { sha256: '' }), /no valid pinned sha256/);
  await assert.rejects(
    fetchToFile('ftp://127.0.0.1/x', path.join(dir, 'z'), { sha256: goodSha }),
    /only http and https/,
  );
});
