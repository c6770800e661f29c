/**
 * The plain reference for `facegate bench nst`: the same fast-style network written the way ml5 wrote it
 * (ml5's StyleTransfer: 3D tensors, `tf.conv2d` 'same', instance norm from `tf.moments`, `tf.conv2dTranspose`,
 * a `tf.tidy` per layer inside one `tf.tidy` for the whole image). Never used by the product: it is the peer
 * facegate's own implementation (src/nst/fast/net.ts, fast-band.ts) is timed against, in the same minutes.
 */
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs';
import type { FastStyleWeights } from '../src/nst/fast/weights.ts';
import { tf } from '../src/runtime/tf.ts';

export interface PlainNet {
  filters: Tensor4D[];
  shifts: Tensor3D[];
  scales: Tensor3D[];
  dispose(): void;
}

export function buildPlainNet(w: FastStyleWeights): PlainNet {
  const filters = w.layers.map((l) => tf.tensor4d(l.filter.values, l.filter.shape as [number, number, number, number]));
  const shifts = w.layers.map((l) => tf.tensor3d(l.shift, [1, 1, l.shift.length]));
  const scales = w.layers.map((l) => tf.tensor3d(l.scale, [1, 1, l.scale.length]));
  return { filters, shifts, scales, dispose: () => tf.dispose([...filters, ...shifts, ...scales]) };
}

/** `image` is `[H, W, 3]` 0..255 (H, W multiples of 4); returns `[H, W, 3]` 0..255. */
export function runPlain(net: PlainNet, image: Tensor3D): Tensor3D {
  const at = <T>(xs: T[], i: number) => xs[i] as T;
  const instanceNorm = (input: Tensor3D, l: number): Tensor3D =>
    tf.tidy(() => {
      const { mean, variance } = tf.moments(input, [0, 1]);
      const normalized = tf.div(tf.sub(input, mean), tf.sqrt(tf.add(variance, 1e-3)));
      return tf.add(tf.mul(at(net.scales, l), normalized), at(net.shifts, l)) as Tensor3D;
    });
  const convLayer = (input: Tensor3D, strides: number, relu: boolean, l: number): Tensor3D =>
    tf.tidy(() => {
      const y = instanceNorm(tf.conv2d(input, at(net.filters, l), [strides, strides], 'same'), l);
      return relu ? tf.relu(y) : y;
    });
  const convTransposeLayer = (input: Tensor3D, l: number): Tensor3D =>
    tf.tidy(() => {
      const [h, w] = input.shape;
      const f = at(net.filters, l);
      const y = tf.conv2dTranspose(input, f, [2 * h, 2 * w, f.shape[2]], [2, 2], 'same');
      return tf.relu(instanceNorm(y, l));
    });
  const residualBlock = (input: Tensor3D, l: number): Tensor3D =>
    tf.tidy(() => tf.add(convLayer(convLayer(input, 1, true, l), 1, false, l + 1), input) as Tensor3D);
  return tf.tidy(() => {
    let x = convLayer(convLayer(convLayer(image, 1, true, 0), 2, true, 1), 2, true, 2);
    for (let r = 0; r < 5; r++) x = residualBlock(x, 3 + 2 * r);
    x = convTransposeLayer(convTransposeLayer(x, 13), 14);
    const out = convLayer(x, 1, false, 15);
    return tf.clipByValue(tf.add(tf.mul(tf.tanh(out), 150), 127.5), 0, 255) as Tensor3D;
  });
}
