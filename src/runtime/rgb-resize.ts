/**
 * Bilinear resize of a rectangle of an 8-bit RGB image, with cv2.resize(INTER_LINEAR)'s sampling grid
 * (half-pixel centres, source coordinates clamped to the edge, no antialiasing) and 8-bit rounding. A JS loop over
 * the output pixels only, so a small crop of a large frame never copies the frame.
 */
import type { RgbImage } from './image.ts';

/** Inclusive pixel rectangle inside the image. */
export interface PixelRect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

function axis(outSize: number, start: number, length: number): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const f = new Float32Array(outSize);
  const ratio = length / outSize;
  for (let o = 0; o < outSize; o++) {
    let s = (o + 0.5) * ratio - 0.5;
    if (s < 0) s = 0;
    let k = Math.floor(s);
    let frac = s - k;
    if (k >= length - 1) {
      k = length - 1;
      frac = 0;
    }
    i0[o] = start + k;
    i1[o] = start + Math.min(k + 1, length - 1);
    f[o] = frac;
  }
  return { i0, i1, f };
}

export function resizeRgbRegion(image: RgbImage, rect: PixelRect, outWidth: number, outHeight: number): RgbImage {
  const { left, top, right, bottom } = rect;
  if (left < 0 || top < 0 || right >= image.width || bottom >= image.height || right < left || bottom < top) {
    throw new Error(`crop [${left},${top},${right},${bottom}] is outside the ${image.width}x${image.height} image`);
  }
  const xs = axis(outWidth, left, right - left + 1);
  const ys = axis(outHeight, top, bottom - top + 1);
  const src = image.data;
  const stride = image.width * 3;
  const out = new Uint8Array(outWidth * outHeight * 3);
  for (let y = 0; y < outHeight; y++) {
    const r0 = ys.i0[y]! * stride;
    const r1 = ys.i1[y]! * stride;
    const fy = ys.f[y]!;
    for (let x = 0; x < outWidth; x++) {
      const c0 = xs.i0[x]! * 3;
      const c1 = xs.i1[x]! * 3;
      const fx = xs.f[x]!;
      const o = (y * outWidth + x) * 3;
      for (let c = 0; c < 3; c++) {
        const top = src[r0 + c0 + c]! + (src[r0 + c1 + c]! - src[r0 + c0 + c]!) * fx;
        const bot = src[r1 + c0 + c]! + (src[r1 + c1 + c]! - src[r1 + c0 + c]!) * fx;
        out[o + c] = Math.round(top + (bot - top) * fy);
      }
    }
  }
  return { data: out, width: outWidth, height: outHeight };
}
