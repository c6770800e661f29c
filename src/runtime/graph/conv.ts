/**
 * Conv and MatMul, compiled once into tfjs fused kernels. At load the weights are reordered for tfjs (Conv
 * [O, I/g, kh, kw] → [kh, kw, I, O], depthwise → [kh, kw, C, multiplier]) and the nodes that follow are folded in
 * where the result is exact: a BatchNormalization (scale into the weights, shift into the bias), an Add of a
 * per-channel constant (into the bias), then one Relu / PRelu / Sigmoid as the kernel's fused activation. One
 * kernel call per conv instead of up to four ops.
 */
import type * as TF from '@tensorflow/tfjs';
import { tf } from '../tf.ts';
import {
  type CompileContext,
  constantOf,
  otherInput,
  read,
  refuse,
  requireConstant,
  type Step,
  soleConsumer,
} from './context.ts';
import { type GraphNode, intsAttr, numberAttr, stringAttr } from './graph.ts';
import { asLogical, asNhwc, perChannel } from './layout.ts';

type Activation = 'linear' | 'relu' | 'prelu' | 'sigmoid';

interface Epilogue {
  /** The value the fused step finally produces (the last absorbed node's output). */
  output: string;
  activation: Activation;
  prelu?: Float32Array;
}

/** BatchNormalization (inference) as per-channel scale and shift, when all its parameters are constants. */
export function batchNormAffine(
  ctx: CompileContext,
  node: GraphNode,
  channels?: number,
): { scale: Float32Array; shift: Float32Array } | undefined {
  const params = [1, 2, 3, 4].map((i) => constantOf(ctx, node.inputs[i]));
  const [gamma, beta, mean, variance] = params;
  if (!gamma || !beta || !mean || !variance) return undefined;
  const c = gamma.data.length;
  if ((channels !== undefined && c !== channels) || params.some((p) => p!.data.length !== c)) return undefined;
  const eps = numberAttr(node, 'epsilon', 1e-5);
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    const s = gamma.data[k]! / Math.sqrt(variance.data[k]! + eps);
    scale[k] = s;
    shift[k] = beta.data[k]! - mean.data[k]! * s;
  }
  return { scale, shift };
}

/**
 * Folds the BatchNormalization / constant Add / activation that follow `start` into `scaleChannel` and `bias`
 * (mutated), marking them absorbed. Channels are the last axis of the weights' output (conv O, matmul N).
 */
function foldEpilogue(
  ctx: CompileContext,
  start: string,
  channels: number,
  rank: number,
  bias: Float32Array,
  scaleChannel: (k: number, s: number) => void,
): Epilogue {
  let output = start;
  let next = soleConsumer(ctx, output);
  const absorb = (node: GraphNode) => {
    ctx.absorbed.add(node);
    output = node.outputs[0]!;
    next = soleConsumer(ctx, output);
  };
  if (next?.op === 'BatchNormalization') {
    const bn = batchNormAffine(ctx, next, channels);
    if (bn) {
      for (let k = 0; k < channels; k++) {
        scaleChannel(k, bn.scale[k]!);
        bias[k] = bias[k]! * bn.scale[k]! + bn.shift[k]!;
      }
      absorb(next);
    }
  }
  if (next?.op === 'Add') {
    const c = constantOf(ctx, otherInput(next, output));
    const add = c && perChannel(c, channels, rank);
    if (add) {
      for (let k = 0; k < channels; k++) bias[k] = bias[k]! + add[k]!;
      absorb(next);
    }
  }
  if (next?.op === 'Relu' || next?.op === 'Sigmoid') {
    const activation = next.op === 'Relu' ? 'relu' : 'sigmoid';
    absorb(next);
    return { output, activation };
  }
  if (next?.op === 'PRelu' && next.inputs[0] === output) {
    const c = constantOf(ctx, next.inputs[1]);
    const slope = c && perChannel(c, channels, rank);
    if (slope) {
      absorb(next);
      return { output, activation: 'prelu', prelu: Float32Array.from(slope) };
    }
  }
  return { output, activation: 'linear' };
}

export function compileConv(ctx: CompileContext, node: GraphNode): Step {
  const w = requireConstant(ctx, node, 1, 'the weight');
  if (w.shape.length !== 4) throw refuse(ctx, node, `a ${w.shape.length - 2}-D convolution`);
  if (stringAttr(node, 'auto_pad', 'NOTSET') !== 'NOTSET') throw refuse(ctx, node, 'auto_pad');
  const [outC, inPerGroup, kh, kw] = w.shape as [number, number, number, number];
  const group = numberAttr(node, 'group', 1);
  const depthwise = group > 1 && inPerGroup === 1 && outC % group === 0;
  if (group > 1 && !depthwise) throw refuse(ctx, node, `a grouped convolution (${group} groups of ${inPerGroup})`);
  const [sh, sw] = intsAttr(node, 'strides', [1, 1]) as [number, number];
  const [dh, dw] = intsAttr(node, 'dilations', [1, 1]) as [number, number];
  const [pt, pl, pb, pr] = intsAttr(node, 'pads', [0, 0, 0, 0]) as [number, number, number, number];

  const weights = Float32Array.from(w.data);
  const biasConst = node.inputs[2] ? requireConstant(ctx, node, 2, 'the bias') : undefined;
  const bias = biasConst ? Float32Array.from(biasConst.data) : new Float32Array(outC);
  const perOut = inPerGroup * kh * kw;
  const epi = foldEpilogue(ctx, node.outputs[0]!, outC, 4, bias, (o, s) => {
    for (let i = o * perOut; i < (o + 1) * perOut; i++) weights[i] = weights[i]! * s;
  });

  // ONNX [O, I/g, kh, kw] → tfjs [kh, kw, I, O] (or [kh, kw, C, m] depthwise, output channel c·m + j in both).
  const inC = depthwise ? group : inPerGroup;
  const last = depthwise ? outC / group : outC;
  const filter = new Float32Array(weights.length);
  for (let o = 0; o < outC; o++) {
    const [i0, j] = depthwise ? [Math.floor(o / last), o % last] : [0, o];
    for (let i = 0; i < inPerGroup; i++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) {
          filter[((y * kw + x) * inC + i0 + i) * last + j] = weights[((o * inPerGroup + i) * kh + y) * kw + x]!;
        }
  }
  const filterT = ctx.keep(tf.tensor4d(filter, [kh, kw, inC, last]));
  const biasT = ctx.keep(tf.tensor1d(bias));
  const preluT = epi.prelu ? ctx.keep(tf.tensor1d(epi.prelu)) : undefined;
  const symmetric = pt === pb && pl === pr && pt === pl;
  const x = node.inputs[0]!;
  ctx.layouts.set(epi.output, 'nhwc');
  return (env) => {
    let input = asNhwc(read(env, x));
    if (!symmetric)
      input = tf.pad(input, [
        [0, 0],
        [pt, pb],
        [pl, pr],
        [0, 0],
      ]);
    const args = {
      x: input,
      filter: filterT,
      strides: [sh, sw] as [number, number],
      pad: symmetric ? pt : 0,
      dilations: [dh, dw] as [number, number],
      bias: biasT,
      activation: epi.activation,
      preluActivationWeights: preluT,
    };
    const y = depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
    env.set(epi.output, { tensor: y, layout: 'nhwc' });
  };
}

export function compileMatMul(ctx: CompileContext, node: GraphNode): Step {
  const [a, b] = node.inputs as [string, string];
  const bConst = constantOf(ctx, b);
  if (!bConst) {
    ctx.layouts.set(node.outputs[0]!, 'plain');
    return (env) => {
      const y = tf.matMul(asLogical(read(env, a)) as TF.Tensor2D, asLogical(read(env, b)) as TF.Tensor2D);
      env.set(node.outputs[0]!, { tensor: y, layout: 'plain' });
    };
  }
  if (bConst.shape.length !== 2) throw refuse(ctx, node, `a rank-${bConst.shape.length} constant operand`);
  const [k, n] = bConst.shape as [number, number];
  const weights = Float32Array.from(bConst.data);
  const bias = new Float32Array(n);
  const epi = foldEpilogue(ctx, node.outputs[0]!, n, 2, bias, (col, s) => {
    for (let r = 0; r < k; r++) weights[r * n + col] = weights[r * n + col]! * s;
  });
  const bT = ctx.keep(tf.tensor2d(weights, [k, n]));
  const biasT = ctx.keep(tf.tensor1d(bias));
  const preluT = epi.prelu ? ctx.keep(tf.tensor1d(epi.prelu)) : undefined;
  ctx.layouts.set(epi.output, 'plain');
  return (env) => {
    const input = asLogical(read(env, a));
    if (input.rank !== 2) throw new Error(`MatMul "${node.name}" expects a 2-D input, got rank ${input.rank}`);
    const y = tf.fused.matMul({
      a: input as TF.Tensor2D,
      b: bT,
      bias: biasT,
      activation: epi.activation,
      preluActivationWeights: preluT,
    });
    env.set(epi.output, { tensor: y, layout: 'plain' });
  };
}
