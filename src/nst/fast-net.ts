/**
 * The Johnson et al. transformer network on tfjs: 9x9 conv 32, 3x3/2 conv 64, 3x3/2 conv 128, five residual blocks,
 * two stride-2 transposed convs (sub-pixel form, see conv-transpose.ts), 9x9 conv 3, instance norm after every
 * conv, `clip(tanh(x)·150 + 127.5, 0, 255)` out. Input is raw 0..255 RGB.
 *
 * Memory: the wasm heap never shrinks, so its high-water mark is what counts. Each intermediate is disposed as soon
 * as it is consumed (no tidy holding a layer's temporaries until its end), so at most two or three full-size
 * activations are alive at once, and the two 9x9 convs run in row bands (see convSameBanded).
 */
import type { Tensor1D, Tensor3D, Tensor4D } from '@tensorflow/tfjs';
import type { RgbImage } from '../runtime/image.ts';
import { tf } from '../runtime/tf.ts';
import { FacegateError } from '../util/errors.ts';
import { conv2dTransposeSubPixel, disposeSubPixel, type SubPixelKernels, subPixelKernels } from './conv-transpose.ts';
import type { FastStyleWeights } from './fast-weights.ts';

const INSTANCE_NORM_EPSILON = 1e-3;

interface NormParams {
  shift: Tensor1D;
  scale: Tensor1D;
}

export interface FastStyleNet {
  convs: { filter: Tensor4D; norm: NormParams }[];
  transposed: { kernels: SubPixelKernels; norm: NormParams }[];
  dispose(): void;
}

/** Uploads the weights once; the same net can stylize many images. */
export function buildFastStyleNet(weights: FastStyleWeights): FastStyleNet {
  const norm = (i: number): NormParams => {
    const l = weights.layers[i];
    if (!l) throw new FacegateError(`fast style weights: layer ${i} missing`);
    return { shift: tf.tensor1d(l.shift), scale: tf.tensor1d(l.scale) };
  };
  const filter = (i: number): Tensor4D => {
    const f = weights.layers[i]?.filter;
    if (!f) throw new FacegateError(`fast style weights: layer ${i} missing`);
    return tf.tensor4d(f.values, f.shape as [number, number, number, number]);
  };
  const convIndices = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15];
  const convs = convIndices.map((i) => ({ filter: filter(i), norm: norm(i) }));
  const transposed = [13, 14].map((i) => {
    const f = filter(i);
    const kernels = subPixelKernels(f);
    f.dispose();
    return { kernels, norm: norm(i) };
  });
  return {
    convs,
    transposed,
    dispose() {
      for (const c of convs) tf.dispose([c.filter, c.norm.shift, c.norm.scale]);
      for (const t of transposed) {
        disposeSubPixel(t.kernels);
        tf.dispose([t.norm.shift, t.norm.scale]);
      }
    },
  };
}

/**
 * Instance norm over height and width with the learned scale/shift and an optional relu, consuming `x`.
 *
 * Why not `tf.moments` + mul/add/relu: on wasm, reducing over H and W of an NHWC tensor transposes it first
 * (~0.4 s and a full copy at 640x480x32), and each elementwise op is another full pass and another live copy.
 * Here the statistics come from a global average pool (XNNPACK, one pass, no copy): the mean, then the mean of
 * the squared deviations (two-pass, as precise as moments); the normalisation `relu(x·a + b)` is one fused 1x1
 * depthwise conv with bias. At most two full-size tensors are alive at once (`x` and the deviations, then `x`
 * and the output).
 */
export function instanceNorm(x: Tensor4D, p: NormParams, relu: boolean): Tensor4D {
  const [, h, w, c] = x.shape;
  const mean = tf.avgPool(x, [h, w], [h, w], 'valid');
  const dev = tf.squaredDifference(x, mean);
  const variance = tf.avgPool(dev as Tensor4D, [h, w], [h, w], 'valid');
  dev.dispose();
  const [a, b] = tf.tidy(() => {
    const scale = tf.mul(p.scale, tf.rsqrt(tf.add(variance.reshape([c]), INSTANCE_NORM_EPSILON)));
    return [scale.reshape([1, 1, c, 1]) as Tensor4D, tf.sub(p.shift, tf.mul(mean.reshape([c]), scale)) as Tensor1D];
  });
  tf.dispose([mean, variance]);
  const y = tf.fused.depthwiseConv2d({
    x,
    filter: a,
    strides: 1,
    pad: 'valid',
    bias: b,
    activation: relu ? 'relu' : 'linear',
  });
  tf.dispose([a, b, x]);
  return y;
}

/**
 * A stride-1 SAME conv computed in horizontal bands of at most `bandRows` output rows (each band reads its
 * `k >> 1` neighbour rows, zero padding only at the real image edges, so the result is exactly the full conv).
 * Why: XNNPACK keeps an indirection buffer of one pointer per output pixel and kernel tap inside the cached conv
 * operator; for the 9x9 convs at 640x480 that is 640·480·81·4 B ≈ 100 MB per layer, held for the life of the
 * weights. Banding caps it at bandRows·W·81·4 B; the bands are concatenated (cheap: whole rows are contiguous).
 */
export function convSameBanded(x: Tensor4D, filter: Tensor4D, bandRows: number): Tensor4D {
  const [, h, w, cin] = x.shape;
  if (h <= bandRows) return tf.conv2d(x, filter, 1, 'same');
  const half = filter.shape[0] >> 1;
  const halfW = filter.shape[1] >> 1;
  // Equal bands (the last one may be shorter) so the cached operator is set up for at most two sizes.
  const bands = Math.ceil(h / bandRows);
  const rows = Math.ceil(h / bands);
  const outs: Tensor4D[] = [];
  for (let r0 = 0; r0 < h; r0 += rows) {
    const r1 = Math.min(h, r0 + rows);
    const i0 = Math.max(0, r0 - half);
    const i1 = Math.min(h, r1 + half);
    const band = tf.slice(x, [0, i0, 0, 0], [1, i1 - i0, w, cin]);
    outs.push(
      tf.conv2d(band, filter, 1, [
        [0, 0],
        [half - (r0 - i0), half - (i1 - r1)],
        [halfW, halfW],
        [0, 0],
      ]),
    );
    band.dispose();
  }
  const y = tf.concat(outs, 1) as Tensor4D;
  tf.dispose(outs);
  return y;
}

/**
 * Output pixels per band for the 9x9 convs: 20480 (32 rows at 640 columns) is ~6.6 MB of indirection buffer per
 * layer. Measured at 640x480 (process max RSS, 400x300 runs first as in the benchmark): untiled 537 MB, 128 rows
 * 596, 64 rows 562, 32 rows 461; the time did not change measurably (the bands are still large GEMMs).
 */
export const NINE_BY_NINE_BAND_PIXELS = 20480;

function bandRowsFor(width: number): number {
  return Math.max(8, Math.floor(NINE_BY_NINE_BAND_PIXELS / width));
}

type ConvParams = FastStyleNet['convs'][number];

function convLayer(x: Tensor4D, layer: ConvParams, stride: 1 | 2, relu: boolean, bandRows: number): Tensor4D {
  const y =
    stride === 1 && layer.filter.shape[0] > 3
      ? convSameBanded(x, layer.filter, bandRows)
      : tf.conv2d(x, layer.filter, stride, 'same');
  return instanceNorm(y, layer.norm, relu);
}

/** Runs `step` on `x` and disposes `x` afterwards, so activations do not pile up. */
function consume(x: Tensor4D, step: (t: Tensor4D) => Tensor4D): Tensor4D {
  const y = step(x);
  x.dispose();
  return y;
}

/** Optional hook between layers: the job runner uses it to check for cancellation. */
export type LayerHook = (layerIndex: number) => void;

/**
 * `[1, H, W, 3]` float 0..255 in (not disposed), `[1, H, W, 3]` float 0..255 out (H, W multiples of 4 keep
 * shapes exact). Every intermediate is disposed as soon as it is consumed.
 */
export function runFastStyle(
  net: FastStyleNet,
  input: Tensor4D,
  onLayer?: LayerHook,
  bandRows = bandRowsFor(input.shape[2]),
): Tensor4D {
  const at = (i: number) => net.convs[i] as ConvParams;
  let x = convLayer(input, at(0), 1, true, bandRows);
  onLayer?.(0);
  x = consume(x, (t) => convLayer(t, at(1), 2, true, bandRows));
  x = consume(x, (t) => convLayer(t, at(2), 2, true, bandRows));
  onLayer?.(2);
  for (let r = 0; r < 5; r++) {
    const inner = convLayer(x, at(3 + 2 * r), 1, true, bandRows);
    const outer = consume(inner, (t) => convLayer(t, at(4 + 2 * r), 1, false, bandRows));
    x = consume(x, (t) => consume(outer, (o) => tf.add(t, o) as Tensor4D));
    onLayer?.(3 + r);
  }
  for (const t of net.transposed) x = instanceNorm(conv2dTransposeSubPixel(x, t.kernels, true), t.norm, true);
  onLayer?.(9);
  const pre = consume(x, (v) => convLayer(v, at(13), 1, false, bandRows));
  return consume(pre, (v) => tf.tidy(() => tf.clipByValue(tf.add(tf.mul(tf.tanh(v), 150), 127.5), 0, 255) as Tensor4D));
}

/**
 * Stylizes an image. The network halves the size twice and doubles it twice, so odd sizes are padded by edge
 * replication up to a multiple of 4 and cropped back afterwards.
 */
export async function stylizeFast(net: FastStyleNet, image: RgbImage, onLayer?: LayerHook): Promise<RgbImage> {
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
  const out = runFastStyle(net, input, onLayer);
  input.dispose();
  const pixels = tf.tidy(() => tf.slice(out, [0, 0, 0, 0], [1, height, width, 3]).round().toInt());
  out.dispose();
  const values = await pixels.data();
  pixels.dispose();
  return { data: Uint8Array.from(values), width, height };
}
