/**
 * VGG-19-shaped test material: a MatConvNet-shaped .mat of synthetic weights (our test writer), and an independent
 * reference of the exercise's forward pass and costs written from its notebook, not from src/nst, so tests can
 * hold the product's numbers against it.
 */
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import { VGG19_LAYERS, type VggConv } from '../../src/nst/gatys/vgg.ts';
import { syntheticVggConvs } from '../../src/nst/gatys/vgg-synthetic.ts';
import { tf } from '../../src/runtime/tf.ts';
import { type MatIn, toColumnMajor, writeMat5 } from './mat-writer.ts';

/**
 * The synthetic VGG (1/16 of the channels) with each block's first conv amplified so that the five style layers
 * weigh about the same in J_style: with plain random weights the layer costs fall ~10x per block (measured on
 * 48x32 noise: 13687, 72, 11, 0.84, 0.027), and a changed weight on conv5_1 would hide below float precision.
 * A conv's gain g scales every later activation by g (relu is positively homogeneous) and the style costs by g⁴.
 */
export function balancedVggConvs(seed = 5): VggConv[] {
  const gains: Record<string, number> = { conv2_1: 3.7, conv3_1: 1.6, conv4_1: 1.9, conv5_1: 2.4 };
  return syntheticVggConvs(16, seed).map((c) => {
    const g = gains[c.name] ?? 1;
    return { ...c, filter: c.filter.map((v) => v * g), bias: c.bias.map((v) => v * g) };
  });
}

/** A MatConvNet-shaped file: `layers` cell of 1x1 structs {name, type, weights{W,b}} for all 37 VGG layers. */
export function syntheticMat(convs: VggConv[], rename?: [number, string]): Buffer {
  const byName = new Map(convs.map((c) => [c.name, c]));
  const layers: MatIn[] = [...VGG19_LAYERS, 'relu5_4', 'pool5'].map((name, i) => {
    const c = byName.get(name);
    const shown = rename && rename[0] === i ? rename[1] : name;
    const struct: Record<string, MatIn> = { name: { char: shown }, type: { char: c ? 'conv' : name.slice(0, 4) } };
    if (c) {
      const dims = [...c.shape];
      struct.weights = {
        cell: [
          { single: toColumnMajor(c.filter, dims), dims },
          { single: c.bias, dims: [c.bias.length, 1] },
        ],
      };
    } else {
      struct.weights = { cell: [], dims: [0, 0] };
    }
    return { struct };
  });
  return writeMat5({ layers: { cell: layers }, meta: { struct: { note: { char: 'synthetic' } } } });
}

/**
 * The exercise's `load_vgg_model` graph: `conv2d(stride 1, SAME) + bias → relu` per conv, and `avg_pool(2x2,
 * stride 2, SAME)` where VGG max-pools (between blocks). Returns every conv layer's activations by name.
 */
export function referenceActivations(convs: readonly VggConv[], input: Tensor4D): Map<string, Tensor4D> {
  const out = new Map<string, Tensor4D>();
  let x = input;
  let previousBlock = '1';
  for (const c of convs) {
    const block = c.name.charAt(4);
    if (block !== previousBlock) x = tf.avgPool(x, [2, 2], [2, 2], 'same');
    previousBlock = block;
    const filter = tf.tensor4d(c.filter, c.shape);
    x = tf.relu(tf.add(tf.conv2d(x, filter, [1, 1], 'same'), tf.tensor1d(c.bias))) as Tensor4D;
    out.set(c.name, x);
  }
  return out;
}

/** `compute_content_cost`: `sum((a_C - a_G)²) / (4·n_H·n_W·n_C)`. */
export function referenceContentCost(aC: Tensor4D, aG: Tensor4D): number {
  const [, nH, nW, nC] = aG.shape;
  return (tf.sum(tf.squaredDifference(aC, aG)).dataSync()[0] as number) / (4 * nH * nW * nC);
}

/** `compute_layer_style_cost`: unroll to (n_C, n_H·n_W) with a transpose, Gram `A·Aᵀ`, normalised squared diff. */
export function referenceLayerStyleCost(aS: Tensor4D, aG: Tensor4D): number {
  const [, nH, nW, nC] = aG.shape;
  const gram = (a: Tensor4D) => {
    const unrolled = tf.transpose(tf.reshape(a, [nH * nW, nC])) as Tensor2D;
    return tf.matMul(unrolled, tf.transpose(unrolled));
  };
  return (tf.sum(tf.squaredDifference(gram(aS), gram(aG))).dataSync()[0] as number) / (4 * nC ** 2 * (nH * nW) ** 2);
}
