/**
 * nn4.small2 on tfjs ops, channels-last (NHWC: the layout every tfjs backend runs natively).
 *
 * Weights are rearranged once at build time, in plain JS: conv [out,in,kh,kw] → [kh,kw,in,out], dense
 * [128,736] → [736,128], and each batch norm folded into the convolution before it
 * (w·γ/√(σ²+ε), (b−μ)·γ/√(σ²+ε)+β). Folding is exact algebra for inference-mode batch norm (it is what Keras
 * computes, in a different order) and turns conv+bn+relu into one fused op per layer.
 *
 * The flatten before the dense layer needs no reordering: after the head's 3x3 pool the map is 1x1, so Keras's
 * channels-first (C,H,W) flatten and our channels-last one are both just the 736 channels in order.
 */
import type * as TF from '@tensorflow/tfjs';
import { tf } from '../../runtime/tf.ts';
import { FacegateError } from '../../util/errors.ts';
import { BLOCKS, type Block, BN_EPSILON, EMBEDDING_SIZE, INPUT_SIZE, type Op, traceShapes } from './architecture.ts';
import { bnNameFor, DENSE_SHAPE } from './shape-table.ts';
import { ConsumptionTracker, type WeightTable } from './weight-table.ts';

interface FoldedConv {
  filter: TF.Tensor4D;
  bias: TF.Tensor1D;
  stride: number;
}

/** Keras's `K.l2_normalize` floor on the squared norm, so an all-zero output does not divide by zero. */
const L2_EPSILON = 1e-12;

/** [out,in,kh,kw] → [kh,kw,in,out] with the batch norm folded in; float64 arithmetic, rounded once to float32. */
function foldConv(tracker: ConsumptionTracker, op: Extract<Op, { op: 'conv' }>, inChannels: number): FoldedConv {
  const { name, out, k } = op;
  const w = tracker.take(`${name}_w`, [out, inChannels, k, k]);
  const b = tracker.take(`${name}_b`, [out]);
  const bn = bnNameFor(name);
  const gamma = tracker.take(`${bn}_w`, [out]);
  const beta = tracker.take(`${bn}_b`, [out]);
  const mean = tracker.take(`${bn}_m`, [out]);
  const variance = tracker.take(`${bn}_v`, [out]);
  const epsilon = op.epsilon ?? BN_EPSILON;

  const scale = new Float64Array(out);
  const bias = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    const s = (gamma[o] as number) / Math.sqrt((variance[o] as number) + epsilon);
    scale[o] = s;
    bias[o] = ((b[o] as number) - (mean[o] as number)) * s + (beta[o] as number);
  }
  const filter = new Float32Array(w.length);
  for (let o = 0; o < out; o++) {
    const s = scale[o] as number;
    for (let i = 0; i < inChannels; i++) {
      for (let y = 0; y < k; y++) {
        for (let x = 0; x < k; x++) {
          const src = ((o * inChannels + i) * k + y) * k + x;
          const dst = ((y * k + x) * inChannels + i) * out + o;
          filter[dst] = (w[src] as number) * s;
        }
      }
    }
  }
  return {
    filter: tf.tensor4d(filter, [k, k, inChannels, out]),
    bias: tf.tensor1d(bias),
    stride: op.stride ?? 1,
  };
}

function denseWeights(tracker: ConsumptionTracker): { kernel: TF.Tensor2D; bias: TF.Tensor1D } {
  const [outs, ins] = DENSE_SHAPE;
  const w = tracker.take('dense_w', DENSE_SHAPE);
  const b = tracker.take('dense_b', [outs]);
  const kernel = new Float32Array(w.length);
  for (let o = 0; o < outs; o++) for (let i = 0; i < ins; i++) kernel[i * outs + o] = w[o * ins + i] as number;
  return { kernel: tf.tensor2d(kernel, [ins, outs]), bias: tf.tensor1d(b) };
}

export class FacenetNetwork {
  readonly #convs: Map<string, FoldedConv>;
  readonly #dense: { kernel: TF.Tensor2D; bias: TF.Tensor1D };
  #disposed = false;

  private constructor(convs: Map<string, FoldedConv>, dense: { kernel: TF.Tensor2D; bias: TF.Tensor1D }) {
    this.#convs = convs;
    this.#dense = dense;
  }

  /**
   * Builds the network from a complete table. Checks the architecture's spatial sizes first, then asks the table
   * for each tensor with the shape implied by the running channel count, and fails if any tensor is left over.
   */
  static fromWeights(table: WeightTable): FacenetNetwork {
    traceShapes(BLOCKS);
    const tracker = new ConsumptionTracker(table);
    const convs = new Map<string, FoldedConv>();
    try {
      let channels = 3;
      for (const block of BLOCKS) {
        let blockChannels = 0;
        for (const branch of block.branches) {
          let c = channels;
          for (const op of branch) {
            if (op.op !== 'conv') continue;
            convs.set(op.name, foldConv(tracker, op, c));
            c = op.out;
          }
          blockChannels += c;
        }
        channels = blockChannels;
      }
      if (channels !== DENSE_SHAPE[1])
        throw new FacegateError(`FaceNet head has ${channels} channels, dense expects ${DENSE_SHAPE[1]}`);
      const dense = denseWeights(tracker);
      tracker.finish();
      return new FacenetNetwork(convs, dense);
    } catch (err) {
      for (const c of convs.values()) tf.dispose([c.filter, c.bias]);
      throw err;
    }
  }

  /** Number of weight tensors (conv filter + bias per layer, dense kernel + bias) held on the backend. */
  get tensorCount(): number {
    return this.#convs.size * 2 + 2;
  }

  #op(x: TF.Tensor4D, op: Op): TF.Tensor4D {
    switch (op.op) {
      case 'pad': {
        const [top, bottom, left, right] = op.pad;
        return tf.pad(x, [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ]);
      }
      case 'maxpool':
        return tf.maxPool(x, op.size, op.stride, 'valid');
      case 'avgpool':
        return tf.avgPool(x, op.size, op.stride, 'valid');
      case 'conv': {
        const c = this.#convs.get(op.name);
        if (!c) throw new Error(`facenet layer ${op.name} was not built`);
        return tf.fused.conv2d({
          x,
          filter: c.filter,
          bias: c.bias,
          strides: c.stride,
          pad: 'valid',
          activation: 'relu',
        });
      }
    }
  }

  #block(x: TF.Tensor4D, block: Block): TF.Tensor4D {
    const outs = block.branches.map((branch) => branch.reduce((t, op) => this.#op(t, op), x));
    const y = outs.length === 1 ? (outs[0] as TF.Tensor4D) : tf.concat(outs, 3);
    const [, h, w, c] = y.shape;
    if (h !== block.expect.size || w !== block.expect.size || c !== block.expect.channels) {
      throw new FacegateError(
        `FaceNet block ${block.name} produced ${h}x${w}x${c}, expected ${block.expect.size}x${block.expect.size}x${block.expect.channels}`,
      );
    }
    return y;
  }

  /**
   * `input`: [n, 96, 96, 3] float32, already in the network's channel order and scale. Returns [n, 128],
   * each row L2-normalised. The caller owns both tensors.
   */
  forward(input: TF.Tensor4D): TF.Tensor2D {
    if (this.#disposed) throw new FacegateError('FaceNet network used after dispose()');
    const [, h, w, c] = input.shape;
    if (h !== INPUT_SIZE || w !== INPUT_SIZE || c !== 3) {
      throw new FacegateError(
        `FaceNet input must be [n, ${INPUT_SIZE}, ${INPUT_SIZE}, 3], got [${input.shape.join(', ')}]`,
      );
    }
    return tf.tidy(() => {
      let x = input;
      for (const block of BLOCKS) x = this.#block(x, block);
      const flat = tf.reshape(x, [x.shape[0], DENSE_SHAPE[1]]) as TF.Tensor2D;
      const dense = tf.add(tf.matMul(flat, this.#dense.kernel), this.#dense.bias) as TF.Tensor2D;
      const sumSq = tf.sum(tf.square(dense), 1, true);
      const out = tf.mul(dense, tf.rsqrt(tf.maximum(sumSq, L2_EPSILON))) as TF.Tensor2D;
      if (out.shape[1] !== EMBEDDING_SIZE)
        throw new FacegateError(`FaceNet produced ${out.shape[1]} values, expected ${EMBEDDING_SIZE}`);
      return out;
    });
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const c of this.#convs.values()) tf.dispose([c.filter, c.bias]);
    tf.dispose([this.#dense.kernel, this.#dense.bias]);
    this.#convs.clear();
  }
}
