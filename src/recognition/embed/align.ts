/**
 * Five-point face alignment: the least-squares similarity transform (rotation, uniform scale, translation — no
 * reflection: Umeyama's solution, which in 2-D is a complex-number linear regression) from detected keypoints to a
 * template, and a bilinear warp of the full-resolution frame through it, as cv2.warpAffine(INTER_LINEAR,
 * BORDER_CONSTANT 0) with its 8-bit rounding. The warp is a plain JS loop over the output pixels only: measured
 * cheaper than uploading the whole frame for tf.image.transform (see bench/graph.ts).
 */
import type { RgbImage } from '../../runtime/image.ts';
import type { Point } from '../detect/yunet.ts';

/** dst = [[a, -b], [b, a]] · src + (tx, ty). */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

export function similarityTransform(src: readonly Point[], dst: readonly Point[]): Similarity {
  const n = src.length;
  if (n < 2 || dst.length !== n) throw new Error(`alignment needs matching point lists (got ${n} and ${dst.length})`);
  let msx = 0;
  let msy = 0;
  let mdx = 0;
  let mdy = 0;
  for (let i = 0; i < n; i++) {
    msx += src[i]!.x / n;
    msy += src[i]!.y / n;
    mdx += dst[i]!.x / n;
    mdy += dst[i]!.y / n;
  }
  let num = 0;
  let cross = 0;
  let norm = 0;
  for (let i = 0; i < n; i++) {
    const sx = src[i]!.x - msx;
    const sy = src[i]!.y - msy;
    const dx = dst[i]!.x - mdx;
    const dy = dst[i]!.y - mdy;
    num += sx * dx + sy * dy;
    cross += sx * dy - sy * dx;
    norm += sx * sx + sy * sy;
  }
  if (!(norm > 1e-12)) throw new Error('alignment keypoints coincide');
  const a = num / norm;
  const b = cross / norm;
  return { a, b, tx: mdx - (a * msx - b * msy), ty: mdy - (b * msx + a * msy) };
}

export function applySimilarity(t: Similarity, p: Point): Point {
  return { x: t.a * p.x - t.b * p.y + t.tx, y: t.b * p.x + t.a * p.y + t.ty };
}

/**
 * The inverse map as the 8 coefficients tf.image.transform takes (output pixel → input pixel), for callers that
 * already hold the frame as a tensor.
 */
export function inverseProjective(t: Similarity): number[] {
  const d = t.a * t.a + t.b * t.b;
  const ia = t.a / d;
  const ib = t.b / d;
  return [ia, ib, -(ia * t.tx + ib * t.ty), -ib, ia, ib * t.tx - ia * t.ty, 0, 0];
}

/**
 * Warps `frame` (RGB) through `t` into a size x size RGB image: each output pixel samples the frame bilinearly at
 * the inverse-mapped point; neighbours outside the frame count as black.
 */
export function warpSimilarity(frame: RgbImage, t: Similarity, size: number): RgbImage {
  const [ia, ib, c0, , , c1] = inverseProjective(t) as [number, number, number, number, number, number];
  const { width, height, data } = frame;
  const out = new Uint8Array(size * size * 3);
  const px = (x: number, y: number, c: number) =>
    x >= 0 && y >= 0 && x < width && y < height ? data[(y * width + x) * 3 + c]! : 0;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const sx = ia * u + ib * v + c0;
      const sy = -ib * u + ia * v + c1;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const o = (v * size + u) * 3;
      if (x0 < -1 || y0 < -1 || x0 >= width || y0 >= height) continue;
      for (let c = 0; c < 3; c++) {
        const top = px(x0, y0, c) * (1 - fx) + px(x0 + 1, y0, c) * fx;
        const bottom = px(x0, y0 + 1, c) * (1 - fx) + px(x0 + 1, y0 + 1, c) * fx;
        out[o + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return { data: out, width: size, height: size };
}
