/**
 * The Johnson et al. transformer network on tfjs: 9x9 conv 32, 3x3/2 conv 64, 3x3/2 conv 128, five residual blocks,
 * two stride-2 transposed convs (sub-pixel form, see conv-transpose.ts), 9x9 conv 3, instance norm after every
 * conv, `clip(tanh(x)·150 + 127.5, 0, 255)` out. Input is raw 0..255 RGB. The layers themselves are in
 * fast-band.ts, which computes any horizontal band of the image exactly; here the whole image is one band, and
 * fast-split.ts runs two bands on two cores.
 *
 * Memory: the wasm heap never shrinks, so its high-water mark is what counts. Each intermediate is disposed as soon
 * as it is consumed (no tidy holding a layer's temporaries until its end), so at most two or three full-size
 * activations are alive at once, and the two 9x9 convs run in chunks of rows (see convWindow).
 */
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs';
import type { RgbImage } from '../../runtime/image.ts';
import { tf } from '../../runtime/tf.ts';
import { FacegateError } from '../../util/errors.ts';
import { type BandNet, fastBand, runBandsHere } from './band.ts';
import { disposeSubPixel, subPixelKernels } from './conv-transpose.ts';
import type { FastStyleWeights } from './weights.ts';

export interface FastStyleNet extends BandNet {
  dispose(): void;
}

/**
 * A k×k conv (k = 2r + 1, r even) rewritten for the input viewed as column pairs: `[H, W, C]` as `[H, W/2, 2C]`,
 * output `[H, W/2, 2·out]` = `[H, W, out]`. Output column 2x+p reads input columns 2x+p−r .. 2x+p+r, which are
 * the pairs x−r/2 .. x+r/2, so the new kernel is k × (r+1) with tap (ky, j, (q, ci), (p, co)) = the old tap
 * (ky, 2j+q−p, ci, co) where that is inside the kernel, else 0.
 * Why: XNNPACK's wasm GEMM computes 8 output channels at a time, so the 3-channel output conv used 3/8 of it
 * (10 GFLOPS against 27 for the other convs); with 6 outputs per pair it uses 6/8 for 11 % more multiply-adds
 * (45 taps on 2C channels instead of 81 on C, 10 of them zero). Measured on a 48-row band at 640 wide:
 * 54 → 26 ms CPU.
 */
export function pairColumnsFilter(values: Float32Array, [kh, kw, cin, cout]: number[]): Float32Array {
  const r = ((kw as number) - 1) / 2;
  const kp = r + 1;
  const out = new Float32Array((kh as number) * kp * 2 * (cin as number) * 2 * (cout as number));
  const at = (ky: number, j: number, q: number, ci: number, p: number, co: number) =>
    (((ky * kp + j) * 2 + q) * (cin as number) + ci) * 2 * (cout as number) + p * (cout as number) + co;
  for (let ky = 0; ky < (kh as number); ky++)
    for (let j = 0; j < kp; j++)
      for (let q = 0; q < 2; q++)
        for (let p = 0; p < 2; p++) {
          const kx = 2 * j + q - p;
          if (kx < 0 || kx >= (kw as number)) continue;
          for (let ci = 0; ci < (cin as number); ci++)
            for (let co = 0; co < (cout as number); co++)
              out[at(ky, j, q, ci, p, co)] = values[
                ((ky * (kw as number) + kx) * (cin as number) + ci) * (cout as number) + co
              ] as number;
        }
  return out;
}

/** Uploads the weights once; the same net can stylize many images. */
export function buildFastStyleNet(weights: FastStyleWeights): FastStyleNet {
  const layer = (i: number) => {
    const l = weights.layers[i];
    if (!l) throw new FacegateError(`fast style weights: layer ${i} missing`);
    return l;
  };
  const filter = (i: number): Tensor4D =>
    tf.tensor4d(layer(i).filter.values, layer(i).filter.shape as [number, number, number, number]);
  const convs = Array.from({ length: 13 }, (_, i) => filter(i));
  const transposed = [13, 14].map((i) => {
    const f = filter(i);
    const kernels = subPixelKernels(f);
    f.dispose();
    return kernels;
  });
  const last = layer(15).filter;
  const [kh, kw, cin, cout] = last.shape as [number, number, number, number];
  const outPairs = tf.tensor4d(pairColumnsFilter(last.values, last.shape), [kh, (kw + 1) / 2, 2 * cin, 2 * cout]);
  const norms = Array.from({ length: 16 }, (_, i) => ({ shift: layer(i).shift, scale: layer(i).scale }));
  return {
    convs,
    transposed,
    outPairs,
    norms,
    dispose() {
      tf.dispose([...convs, outPairs]);
      for (const t of transposed) disposeSubPixel(t);
    },
  };
}

/**
 * Output rows per chunk of the 9x9 convs: 20480 pixels (32 rows at 640 columns) is ~6.6 MB of indirection buffer
 * per layer. Measured at 640x480 (process max RSS, 400x300 runs first as in the benchmark): untiled 537 MB, 128 rows
 * 596, 64 rows 562, 32 rows 461; the time did not change measurably (the chunks are still large GEMMs).
 */
export const NINE_BY_NINE_BAND_PIXELS = 20480;

export function bandRowsFor(width: number): number {
  return Math.max(8, Math.floor(NINE_BY_NINE_BAND_PIXELS / width));
}

/** Optional hook between layers: the job runner uses it to check for cancellation. */
export type LayerHook = (layerIndex: number) => void;

/**
 * `[1, H, W, 3]` float 0..255 in (not disposed), `[1, H, W, 3]` float 0..255 out (H, W multiples of 4), on this
 * thread as one band. Every intermediate is disposed as soon as it is consumed.
 */
export function runFastStyle(
  net: FastStyleNet,
  input: Tensor4D,
  onLayer?: LayerHook,
  bandRows = bandRowsFor(input.shape[2]),
): Tensor4D {
  const [, height, width] = input.shape;
  const [out] = runBandsHere([fastBand(net, { height, width, start: 0, end: height }, input, bandRows, onLayer)]);
  return out as Tensor4D;
}

/** How a whole padded image is run: on this thread (runFastStyle) or split across workers (fast-split.ts). */
export type FastRunner = (input: Tensor4D, onLayer?: LayerHook) => Promise<Tensor4D> | Tensor4D;

/**
 * Stylizes an image. The network halves the size twice and doubles it twice, so odd sizes are padded by edge
 * replication up to a multiple of 4 and cropped back afterwards.
 */
export async function stylizeFast(
  net: FastStyleNet,
  image: RgbImage,
  onLayer?: LayerHook,
  runner: FastRunner = (x, hook) => runFastStyle(net, x, hook),
): Promise<RgbImage> {
  const { width, height } = image;
  const padH = (4 - (height % 4)) % 4;
  const padW = (4 - (width % 4)) % 4;
  const input = tf.tidy(() => {
    const t = tf.tensor3d(image.data, [height, width, 3], 'int32').toFloat() as Tensor3D;
    const padded =
      padH || padW
        ? tf.mirrorPad(
            t,
            [
              [0, padH],
              [0, padW],
              [0, 0],
            ],
            'symmetric',
          )
        : t;
    return padded.expandDims(0) as Tensor4D;
  });
  let out: Tensor4D;
  try {
    out = await runner(input, onLayer);
  } finally {
    input.dispose();
  }
  const pixels = tf.tidy(() => tf.slice(out, [0, 0, 0, 0], [1, height, width, 3]).round().toInt());
  out.dispose();
  const values = await pixels.data();
  pixels.dispose();
  return { data: Uint8Array.from(values), width, height };
}
