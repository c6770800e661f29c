/**
 * Image input through sharp: JPEG/PNG/WebP (and whatever else libvips reads), EXIF orientation applied, alpha
 * dropped, always 8-bit RGB. Every way an input can be bad ends in one FacegateError line.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { FacegateError } from '../util/errors.ts';

/** Packed 8-bit RGB pixels, row-major, `width * height * 3` bytes. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export const DEFAULT_MAX_PIXELS = 40_000_000;

export interface DecodeOptions {
  /** Refuse images with more pixels than this (decompression bombs, accidental RAW photos). */
  maxPixels?: number;
}

function describeSharpError(err: unknown, label: string, maxPixels: number): FacegateError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(msg)) return new FacegateError(`${label}: image is larger than the ${maxPixels} pixel limit`);
  if (/unsupported image format|bad seek|not a known file format/i.test(msg)) {
    return new FacegateError(`${label}: not an image (expected JPEG, PNG or WebP)`);
  }
  if (/premature end|truncated|corrupt|unexpected end|read error|VipsJpeg|pngload|webpload|out of order/i.test(msg)) {
    return new FacegateError(`${label}: image data is truncated or corrupt`);
  }
  return new FacegateError(`${label}: cannot decode image (${msg.split('\n')[0]})`);
}

/** Decodes an encoded image held in memory (file contents, an MQTT payload, a camera frame). */
export async function decodeImage(bytes: Uint8Array, label = 'image', opts: DecodeOptions = {}): Promise<RgbImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (bytes.length === 0) throw new FacegateError(`${label}: empty file, not an image`);
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw describeSharpError(err, label, maxPixels);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width === 0 || height === 0) throw new FacegateError(`${label}: image has no pixels (${width}x${height})`);
  if (width * height > maxPixels) {
    throw new FacegateError(`${label}: image is ${width}x${height}, larger than the ${maxPixels} pixel limit`);
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new FacegateError(`${label}: unexpected ${info.channels}-channel decode`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
    };
  } catch (err) {
    if (err instanceof FacegateError) throw err;
    throw describeSharpError(err, label, maxPixels);
  }
}

/** Reads and decodes an image file; an unreadable path is a one-line error like every other bad input. */
export async function loadImage(file: string, opts: DecodeOptions = {}): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (code ?? 'unreadable');
    throw new FacegateError(`${file}: cannot read image (${why})`);
  }
  return decodeImage(bytes, file, opts);
}

/** Encodes RGB pixels as PNG or JPEG (by extension of `format`). */
export async function encodeImage(image: RgbImage, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const pipeline = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  return format === 'png' ? pipeline.png().toBuffer() : pipeline.jpeg({ quality: 90 }).toBuffer();
}
