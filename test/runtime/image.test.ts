import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { decodeImage, loadImage } from '../../src/runtime/image.ts';
import { FacegateError } from '../../src/util/errors.ts';
import { errorLines, facegate } from '../helpers/cli.ts';

let dir = '';
let goodJpeg: Buffer;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facegate-img-'));
  goodJpeg = await sharp({ create: { width: 64, height: 32, channels: 3, background: { r: 200, g: 10, b: 10 } } })
    .jpeg()
    .toBuffer();
});
after(() => rm(dir, { recursive: true, force: true }));

async function rejectsWith(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof FacegateError, `expected FacegateError, got ${String(err)}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  });
}

test('decodes JPEG, PNG with alpha and WebP to 8-bit RGB', async () => {
  const jpeg = await decodeImage(goodJpeg);
  assert.deepEqual([jpeg.width, jpeg.height, jpeg.data.length], [64, 32, 64 * 32 * 3]);
  assert.ok(jpeg.data[0]! > 150 && jpeg.data[1]! < 60, 'red stays red');
  const rgba = await sharp({
    create: { width: 5, height: 4, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0.5 } },
  })
    .png()
    .toBuffer();
  const png = await decodeImage(rgba);
  assert.equal(png.data.length, 5 * 4 * 3, 'alpha dropped');
  const webp = await decodeImage(await sharp(goodJpeg).webp().toBuffer());
  assert.deepEqual([webp.width, webp.height], [64, 32]);
});

test('EXIF orientation is applied', async () => {
  const rotated = await sharp(goodJpeg).withMetadata({ orientation: 6 }).jpeg().toBuffer();
  const img = await decodeImage(rotated);
  assert.deepEqual([img.width, img.height], [32, 64]);
});

test('bad inputs are one-line errors', async () => {
  await rejectsWith(decodeImage(Buffer.from('hello, not an image')), /not an image/);
  await rejectsWith(decodeImage(goodJpeg.subarray(0, goodJpeg.length / 2)), /truncated or corrupt/);
  await rejectsWith(decodeImage(Buffer.alloc(0)), /empty file/);
  await rejectsWith(decodeImage(goodJpeg, 'big', { maxPixels: 1000 }), /larger than the 1000 pixel limit/);
  await rejectsWith(loadImage(path.join(dir, 'missing.jpg')), /no such file/);
  await rejectsWith(loadImage(dir), /is a directory/);
});

test('a PNG header claiming 0x0 pixels is refused', async () => {
  const png = await sharp(goodJpeg).png().toBuffer();
  const zero = Buffer.from(png);
  zero.writeUInt32BE(0, 16); // IHDR width
  zero.writeUInt32BE(0, 20); // IHDR height
  await rejectsWith(decodeImage(zero), /no pixels|not an image|corrupt|cannot decode/);
});

test('the CLI turns each bad image into one line on stderr and exit code 2, never a stack trace', async () => {
  const notImage = path.join(dir, 'notes.jpg');
  await writeFile(notImage, 'plain text');
  const truncated = path.join(dir, 'half.jpg');
  await writeFile(truncated, goodJpeg.subarray(0, goodJpeg.length / 2));
  const cases = [notImage, truncated, path.join(dir, 'nope.jpg')];
  for (const file of cases) {
    const r = await facegate(['identify', file, '--db', path.join(dir, 'db.json')]);
    assert.equal(r.code, 2, file);
    const lines = errorLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  }
});
