/**
 * The executor's simple ops (everything but Conv and MatMul, see conv.ts), each compiled once into a closure over
 * weight tensors prepared at load. Attribute combinations the models do not use are refused at load, naming them,
 * rather than run with different semantics.
 */
import type * as TF from '@tensorflow/tfjs';
import { tf } from '../tf.ts';
import { type CompileContext, constantOf, read, refuse, requireConstant, type Step } from './context.ts';
import { batchNormAffine, compileConv, compileMatMul } from './conv.ts';
import { type GraphNode, intsAttr, numberAttr, type OpType, stringAttr } from './graph.ts';
import { asLogical, asNhwc, constFor, type Layout, type Value } from './layout.ts';

const layoutOf = (ctx: CompileContext, name: string): Layout => ctx.layouts.get(name) ?? 'plain';

function emit(env: Map<string, Value>, ctx: CompileContext, node: GraphNode, tensor: TF.Tensor): void {
  env.set(node.outputs[0]!, { tensor, layout: layoutOf(ctx, node.outputs[0]!) });
}

/** Add, Mul, PRelu: numpy broadcasting; a constant operand is converted to the activation's layout at load. */
function compileBinary(ctx: CompileContext, node: GraphNode, fn: (a: TF.Tensor, b: TF.Tensor) => TF.Tensor): Step {
  const names = node.inputs.slice(0, 2);
  const layout: Layout = names.some((n) => layoutOf(ctx, n) === 'nhwc' && !constantOf(ctx, n)) ? 'nhwc' : 'plain';
  const operands = names.map((n) => {
    const c = constantOf(ctx, n);
    if (!c) return n;
    const prepared = constFor(c, layout);
    return ctx.keep(tf.tensor(prepared.data, prepared.shape));
  });
  if (operands.every((o) => typeof o !== 'string')) throw refuse(ctx, node, 'arithmetic on constants only');
  ctx.layouts.set(node.outputs[0]!, layout);
  const get = (env: Map<string, Value>, o: string | TF.Tensor): TF.Tensor => {
    if (typeof o !== 'string') return o;
    return layout === 'nhwc' ? asNhwc(read(env, o)) : asLogical(read(env, o));
  };
  return (env) => emit(env, ctx, node, fn(get(env, operands[0]!), get(env, operands[1]!)));
}

function compileUnary(ctx: CompileContext, node: GraphNode, fn: (x: TF.Tensor) => TF.Tensor): Step {
  const x = node.inputs[0]!;
  ctx.layouts.set(node.outputs[0]!, layoutOf(ctx, x));
  return (env) => emit(env, ctx, node, fn(read(env, x).tensor));
}

function compileBatchNorm(ctx: CompileContext, node: GraphNode): Step {
  const bn = batchNormAffine(ctx, node);
  if (!bn) throw refuse(ctx, node, 'batch normalisation with non-constant parameters');
  const scale = ctx.keep(tf.tensor1d(bn.scale));
  const shift = ctx.keep(tf.tensor1d(bn.shift));
  // Channels are axis 1 of the logical tensor: the last axis of NHWC and of [N, C] values alike.
  return compileUnary(ctx, node, (x) => {
    if (x.rank > 2 && x.shape[x.rank - 1] !== scale.shape[0]) {
      const s = [scale.shape[0]!, ...Array(x.rank - 2).fill(1)];
      return tf.add(tf.mul(x, tf.reshape(scale, s)), tf.reshape(shift, s));
    }
    return tf.add(tf.mul(x, scale), shift);
  });
}

function compilePool(ctx: CompileContext, node: GraphNode): Step {
  const kernel = intsAttr(node, 'kernel_shape') as [number, number];
  const strides = intsAttr(node, 'strides', [1, 1]) as [number, number];
  if (intsAttr(node, 'pads', [0, 0, 0, 0]).some((p) => p !== 0)) throw refuse(ctx, node, 'a padded pool');
  if (numberAttr(node, 'ceil_mode', 0) !== 0) throw refuse(ctx, node, 'ceil_mode');
  if (intsAttr(node, 'dilations', [1, 1]).some((d) => d !== 1)) throw refuse(ctx, node, 'a dilated pool');
  if (kernel.length !== 2) throw refuse(ctx, node, `a ${kernel.length}-D pool`);
  const x = node.inputs[0]!;
  ctx.layouts.set(node.outputs[0]!, 'nhwc');
  const pool = node.op === 'MaxPool' ? tf.maxPool : tf.avgPool;
  return (env) => {
    const input = asNhwc(read(env, x));
    if (input.shape[1] < kernel[0] || input.shape[2] < kernel[1]) {
      throw new Error(
        `${node.op} "${node.name}": ${kernel.join('x')} window on a ${input.shape[1]}x${input.shape[2]} map`,
      );
    }
    emit(env, ctx, node, pool(input, kernel, strides, 'valid'));
  };
}

function compileReshape(ctx: CompileContext, node: GraphNode): Step {
  const target = Array.from(requireConstant(ctx, node, 1, 'the target shape').data);
  const allowZero = numberAttr(node, 'allowzero', 0) === 1;
  const x = node.inputs[0]!;
  ctx.layouts.set(node.outputs[0]!, 'plain');
  return (env) => {
    const input = asLogical(read(env, x));
    const shape = target.map((d, i) => (d === 0 && !allowZero ? input.shape[i]! : d));
    emit(env, ctx, node, tf.reshape(input, shape));
  };
}

function compileTranspose(ctx: CompileContext, node: GraphNode): Step {
  const perm = intsAttr(node, 'perm');
  const x = node.inputs[0]!;
  ctx.layouts.set(node.outputs[0]!, 'plain');
  // NCHW → NHWC of an activation already held NHWC: the data is already in that order.
  if (layoutOf(ctx, x) === 'nhwc' && perm.join() === '0,2,3,1')
    return (env) => emit(env, ctx, node, read(env, x).tensor);
  return (env) => emit(env, ctx, node, tf.transpose(asLogical(read(env, x)), perm));
}

function compileResize(ctx: CompileContext, node: GraphNode): Step {
  const mode = stringAttr(node, 'mode', 'nearest');
  const coords = stringAttr(node, 'coordinate_transformation_mode', 'half_pixel');
  const nearest = stringAttr(node, 'nearest_mode', 'round_prefer_floor');
  if (mode !== 'nearest' || coords !== 'asymmetric' || nearest !== 'floor') {
    throw refuse(ctx, node, `mode=${mode} coordinate_transformation_mode=${coords} nearest_mode=${nearest}`);
  }
  // Opset 10: (X, scales); opset 11+: (X, roi, scales, sizes).
  const scalesName = node.inputs.length === 2 ? node.inputs[1] : node.inputs[2];
  const scales = constantOf(ctx, scalesName || undefined);
  const sizes = constantOf(ctx, node.inputs[3] || undefined);
  const factors = scales && scales.data.length === 4 ? Array.from(scales.data) : undefined;
  if (!factors && !sizes) throw refuse(ctx, node, 'a resize without constant scales or sizes');
  if (factors && (factors[0] !== 1 || factors[1] !== 1)) throw refuse(ctx, node, 'resizing batch or channels');
  const x = node.inputs[0]!;
  ctx.layouts.set(node.outputs[0]!, 'nhwc');
  return (env) => {
    const input = asNhwc(read(env, x));
    const [, h, w] = input.shape;
    const size: [number, number] = factors
      ? [Math.floor(h * factors[2]!), Math.floor(w * factors[3]!)]
      : [sizes!.data[2]!, sizes!.data[3]!];
    // alignCorners=false, halfPixelCenters=false: source index floor(dst · in/out), ONNX's asymmetric + floor.
    emit(env, ctx, node, tf.image.resizeNearestNeighbor(input, size, false, false));
  };
}

const compilers: Record<OpType, (ctx: CompileContext, node: GraphNode) => Step> = {
  Add: (ctx, node) => compileBinary(ctx, node, tf.add),
  AveragePool: compilePool,
  BatchNormalization: compileBatchNorm,
  Conv: compileConv,
  GlobalAveragePool: (ctx, node) => {
    ctx.layouts.set(node.outputs[0]!, 'nhwc');
    return (env) => emit(env, ctx, node, tf.mean(asNhwc(read(env, node.inputs[0]!)), [1, 2], true));
  },
  MatMul: compileMatMul,
  MaxPool: compilePool,
  Mul: (ctx, node) => compileBinary(ctx, node, tf.mul),
  PRelu: (ctx, node) => compileBinary(ctx, node, (x, slope) => tf.prelu(x, slope)),
  Relu: (ctx, node) => compileUnary(ctx, node, tf.relu),
  Reshape: compileReshape,
  Resize: compileResize,
  Sigmoid: (ctx, node) => compileUnary(ctx, node, tf.sigmoid),
  Transpose: compileTranspose,
};

export function compileNode(ctx: CompileContext, node: GraphNode): Step {
  return compilers[node.op](ctx, node);
}
