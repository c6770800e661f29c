/**
 * Layout bookkeeping for the executor. tfjs convolutions and pools are NHWC; the models are written NCHW. Every
 * 4-D activation is therefore kept NHWC in memory ("nhwc" values) and everything else in its logical layout
 * ("plain"). Constants are converted once at load; a runtime transpose happens only where a graph really reorders
 * data (none of the three shipped graphs needs one: their flattening Reshapes see 1x1 maps, and YuNet's
 * NCHW→NHWC Transposes become no-ops).
 */
import type * as TF from '@tensorflow/tfjs';
import { tf } from '../tf.ts';
import { type ConstTensor, elementCount } from './graph.ts';

export type Layout = 'nhwc' | 'plain';

export interface Value {
  tensor: TF.Tensor;
  layout: Layout;
}

/** The value as a 4-D NHWC tensor (a plain 4-D NCHW value is transposed: a cold path). */
export function asNhwc(v: Value): TF.Tensor4D {
  if (v.layout === 'nhwc') return v.tensor as TF.Tensor4D;
  if (v.tensor.rank !== 4) throw new Error(`expected a 4-D tensor, got shape [${v.tensor.shape.join(', ')}]`);
  return tf.transpose(v.tensor as TF.Tensor4D, [0, 2, 3, 1]);
}

/** The value in the model's logical layout (NCHW for 4-D); free when the map is 1x1. */
export function asLogical(v: Value): TF.Tensor {
  if (v.layout === 'plain') return v.tensor;
  const [n, h, w, c] = v.tensor.shape as [number, number, number, number];
  if (h === 1 && w === 1) return tf.reshape(v.tensor, [n, c, 1, 1]);
  return tf.transpose(v.tensor, [0, 3, 1, 2]);
}

/**
 * A constant operand of an element-wise op in the layout of the activation it meets. For an NHWC activation the
 * constant is broadcast numpy-style against NCHW: its shape is left-padded to rank 4, then its data reordered to
 * NHWC (e.g. a [C,1,1] PRelu slope or a [1,C,1,1] bias becomes [1,1,1,C]).
 */
export function constFor(c: ConstTensor, layout: Layout): { shape: number[]; data: Float32Array } {
  if (layout === 'plain' || c.shape.length > 4) return { shape: c.shape, data: c.data };
  const s = [...Array(4 - c.shape.length).fill(1), ...c.shape] as [number, number, number, number];
  const [n, ch, h, w] = s;
  const out = new Float32Array(elementCount(s));
  for (let a = 0; a < n; a++)
    for (let k = 0; k < ch; k++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((a * h + y) * w + x) * ch + k] = c.data[((a * ch + k) * h + y) * w + x]!;
  return { shape: [n, h, w, ch], data: out };
}

/**
 * A per-channel vector of length `channels` from a constant that numpy-broadcasts along axis 1 of a rank-`rank`
 * tensor (a scalar, [C,1,1] or [1,C,1,1] against NCHW; [C] or [1,C] against [N,C]); undefined when it does not.
 */
export function perChannel(c: ConstTensor, channels: number, rank: number): Float32Array | undefined {
  if (c.data.length === 1) return new Float32Array(channels).fill(c.data[0]!);
  if (c.data.length !== channels || c.shape.length > rank) return undefined;
  const padded = [...Array(rank - c.shape.length).fill(1), ...c.shape];
  return padded[1] === channels ? c.data : undefined;
}
