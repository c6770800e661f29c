/**
 * How split Gatys cuts the image into two bands that each core can process independently and still get exact
 * costs and gradients.
 *
 * Along the longer side (less halo per kept pixel), the split point S is a multiple of 16 so every band starts
 * on the 2x2 average-pool grid of all four pools before conv5_1. A band's SAME zero padding at its artificial
 * edge makes the activations wrong near that edge: one more row per 3x3 conv, halved (rounded up) by each pool;
 * that is 5 rows of conv5_1 (80 pixels) and 5 rows of conv4_2 (40 pixels). Each band therefore carries a halo of
 * 80 pixels beyond S, and keeps, at every used layer, only its side of S: those outputs are exact, every position
 * is kept by exactly one band, so content sums and Gram matrices add up, and the bands' input gradients (each
 * from its kept outputs only) overlap-add to the whole image's gradient.
 */
import { FacegateError } from '../../../util/errors.ts';
import type { VggConv } from '../vgg.ts';
import { type BandSpec, convsUpToUsed, USED_LAYERS } from './vgg-half.ts';

export interface LayerGeometry {
  name: string;
  /** Downsampling factor at this layer (1, 2, 4, 8, 16). */
  scale: number;
  channels: number;
  /** Rows next to an artificial band edge whose values are wrong (from SAME padding there). */
  invalid: number;
}

export function layerGeometry(convs: readonly VggConv[]): LayerGeometry[] {
  const out: LayerGeometry[] = [];
  let invalid = 0;
  let block = 1;
  for (const c of convsUpToUsed(convs)) {
    const b = Number(c.name.slice(4, 5));
    if (b !== block) {
      invalid = Math.ceil(invalid / 2);
      block = b;
    }
    invalid += 1;
    out.push({ name: c.name, scale: 2 ** (b - 1), channels: c.shape[3], invalid });
  }
  return out;
}

/** Output length of `n` after `k` average pools 2x2/2 'same' (ceil each time). */
function pooled(n: number, scale: number): number {
  let m = n;
  for (let s = 1; s < scale; s *= 2) m = Math.ceil(m / 2);
  return m;
}

/**
 * One band per part (1 or 2). With one part, or a side too short to split, the single band is the whole image.
 * `splitAt` (pixels along the split axis) is rounded to the pool grid; by default the bands are equal.
 */
export function planBands(
  convs: readonly VggConv[],
  height: number,
  width: number,
  parts: number,
  splitAt?: number,
): BandSpec[] {
  if (parts !== 1 && parts !== 2) throw new FacegateError(`split Gatys supports 1 or 2 parts, got ${parts}`);
  const geo = layerGeometry(convs).filter((g) => USED_LAYERS.includes(g.name));
  const axis: 1 | 2 = height >= width ? 1 : 2;
  const length = axis === 1 ? height : width;
  const align = Math.max(...geo.map((g) => g.scale));
  const halo = Math.ceil(Math.max(...geo.map((g) => g.invalid * g.scale)) / align) * align;
  const fullShape: BandSpec['fullShape'] = {};
  for (const g of geo) fullShape[g.name] = [pooled(height, g.scale), pooled(width, g.scale), g.channels];
  const band = (start: number, end: number, from: number, to: number): BandSpec => {
    const keep: BandSpec['keep'] = {};
    for (const g of geo) {
      // `from`/`to` are multiples of `align` (or the image end), so these divisions are exact or hit the end.
      const f = from / g.scale;
      const t = to === length ? pooled(length, g.scale) : to / g.scale;
      keep[g.name] = [f - start / g.scale, t - start / g.scale];
    }
    return { axis, start, end, keep, fullShape };
  };
  if (parts === 1 || length < 2 * align) return [band(0, length, 0, length)];
  const wanted = splitAt ?? length / 2;
  const split = Math.min(Math.max(align, Math.round(wanted / align) * align), Math.floor((length - 1) / align) * align);
  const bands = [
    band(0, Math.min(length, split + halo), 0, split),
    band(Math.max(0, split - halo), length, split, length),
  ];
  for (const b of bands) {
    for (const g of geo) {
      const [f, t] = b.keep[g.name] as [number, number];
      const bandLength = pooled(b.end - b.start, g.scale);
      // A kept output must be `invalid` rows away from any artificial edge (one that is not the image's own).
      if ((b.start > 0 && f < g.invalid) || (b.end < length && t + g.invalid > bandLength)) {
        throw new FacegateError(`internal: band ${b.start}..${b.end} too narrow for ${g.name}`);
      }
    }
  }
  return bands;
}
