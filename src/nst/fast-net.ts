/**
 * The Johnson et al. transformer network on tfjs: 9x9 conv 32, 3x3/2 conv 64, 3x3/2 conv 128, five residual blocks,
 * two stride-2 transposed convs (sub-pixel form, see conv-transpose.ts), 9x9 conv 3, instance norm after every
 * conv, `clip(tanh(x)·150 + 127.5, 0, 255)` out. Input is raw 0..255 RGB.
 *
 * Memory: each layer runs in its own tidy and the previous activation is disposed as soon as it is consumed, so
 * at most two full activations (plus a layer's scratch) are alive; the wasm heap only grows to that high-water mark.
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

/** Instance norm over height and width, folded into one multiply-add per element: x·a + b. */
function instanceNorm(x: Tensor4D, p: NormParams, relu: boolean): Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    const a = tf.mul(p.scale, tf.rsqrt(tf.add(variance, INSTANCE_NORM_EPSILON)));
    const b = tf.sub(p.shift, tf.mul(mean, a));
    const y = tf.add(tf.mul(x, a), b) as Tensor4D;
    return relu ? tf.relu(y) : y;
  });
}

function convLayer(x: Tensor4D, layer: FastStyleNet['convs'][number], stride: 1 | 2, relu: boolean): Tensor4D {
  return tf.tidy(() => instanceNorm(tf.conv2d(x, layer.filter, stride, 'same'), layer.norm, relu));
}

/** Runs `step` on `x` and disposes `x` afterwards (unless told to keep it), so activations do not pile up. */
function consume(x: Tensor4D, step: (t: Tensor4D) => Tensor4D, keep = false): Tensor4D {
  const y = step(x);
  if (!keep) x.dispose();
  return y;
}

/** Optional hook between layers: the job runner uses it to check for cancellation. */
export type LayerHook = (layerIndex: number) => void;

/** `[1, H, W, 3]` float 0..255 in, `[1, H, W, 3]` float 0..255 out (H, W multiples of 4 keep shapes exact). */
export function runFastStyle(net: FastStyleNet, input: Tensor4D, onLayer?: LayerHook): Tensor4D {
  const c = net.convs;
  const at = (i: number) => c[i] as FastStyleNet['convs'][number];
  let x = convLayer(input, at(0), 1, true);
  onLayer?.(0);
  x = consume(x, (t) => convLayer(t, at(1), 2, true));
  x = consume(x, (t) => convLayer(t, at(2), 2, true));
  onLayer?.(2);
  for (let r = 0; r < 5; r++) {
    const inner = convLayer(x, at(3 + 2 * r), 1, true);
    const outer = consume(inner, (t) => convLayer(t, at(4 + 2 * r), 1, false));
    x = consume(x, (t) => {
      const sum = tf.add(t, outer) as Tensor4D;
      outer.dispose();
      return sum;
    });
    onLayer?.(3 + r);
  }
  for (const t of net.transposed) {
    x = consume(x, (v) => tf.tidy(() => instanceNorm(conv2dTransposeSubPixel(v, t.kernels), t.norm, true)));
  }
  onLayer?.(9);
  return consume(x, (v) =>
    tf.tidy(() => {
      const last = at(13);
      const pre = instanceNorm(tf.conv2d(v, last.filter, 1, 'same'), last.norm, false);
      return tf.clipByValue(tf.add(tf.mul(tf.tanh(pre), 150), 127.5), 0, 255) as Tensor4D;
    }),
  );
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
