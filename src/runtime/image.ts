/**
 * Image input through sharp: JPEG, PNG and WebP only, recognised by their first bytes before libvips sees them
 * (libvips also renders SVG, and a 235-byte SVG once rendered for over 120 s while holding the serial admin queue),
 * with a pixel limit and a decode timeout. EXIF orientation applied, alpha dropped, always 8-bit RGB. Every way an
 * input can be bad ends in one FacegateError line.
 */
import { readFile } from 'node:fs/promises';
import type SharpFn from 'sharp';
import { FacegateError } from '../util/errors.ts';

/** Packed 8-bit RGB pixels, row-major, `width * height * 3` bytes. */
let sharpLoaded: Promise<typeof SharpFn> | undefined;

/** sharp (libvips) on first use: commands that decode no image (`--help`, `db list`) never load it. */
function loadSharp(): Promise<typeof SharpFn> {
  sharpLoaded ??= import('sharp').then((m) => m.default);
  return sharpLoaded;
}

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export const DEFAULT_MAX_PIXELS = 40_000_000;
/** A 12 MP JPEG decodes in well under a second on a Raspberry Pi 4; ten times that is a hostile or broken file. */
export const DEFAULT_DECODE_TIMEOUT_S = 10;

export interface DecodeOptions {
  /** Refuse images with more pixels than this (decompression bombs, accidental RAW photos). */
  maxPixels?: number;
  /** Give up decoding after this many seconds (whole seconds, at least 1). */
  timeoutSeconds?: number;
}

export type ImageFormat = 'jpeg' | 'png' | 'webp';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const startsWith = (bytes: Uint8Array, prefix: readonly number[], at = 0) =>
  bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b);

/** The format by magic bytes: JPEG `FF D8 FF`, the PNG signature, or `RIFF....WEBP`; null for anything else. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) return 'webp';
  return null;
}

function describeSharpError(err: unknown, label: string, maxPixels: number, timeoutS: number): FacegateError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(msg)) return new FacegateError(`${label}: image is larger than the ${maxPixels} pixel limit`);
  if (/timeout/i.test(msg)) return new FacegateError(`${label}: decoding took longer than ${timeoutS} s`);
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
  const timeoutS = Math.max(1, Math.round(opts.timeoutSeconds ?? DEFAULT_DECODE_TIMEOUT_S));
  if (bytes.length === 0) throw new FacegateError(`${label}: empty file, not an image`);
  const format = sniffImageFormat(bytes);
  if (format === null) throw new FacegateError(`${label}: not an image (expected JPEG, PNG or WebP)`);
  const sharp = await loadSharp();
  let meta: Awaited<ReturnType<ReturnType<typeof SharpFn>['metadata']>>;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw describeSharpError(err, label, maxPixels, timeoutS);
  }
  // libvips picks its loader by content too; both must agree, so no other loader ever runs.
  if (meta.format !== format) throw new FacegateError(`${label}: not an image (expected JPEG, PNG or WebP)`);
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width === 0 || height === 0) throw new FacegateError(`${label}: image has no pixels (${width}x${height})`);
  if (width * height > maxPixels) {
    throw new FacegateError(`${label}: image is ${width}x${height}, larger than the ${maxPixels} pixel limit`);
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' })
      .timeout({ seconds: timeoutS })
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
    throw describeSharpError(err, label, maxPixels, timeoutS);
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
  const sharp = await loadSharp();
  const pipeline = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  return format === 'png' ? pipeline.png().toBuffer() : pipeline.jpeg({ quality: 90 }).toBuffer();
}
