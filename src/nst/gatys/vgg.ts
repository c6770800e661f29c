/**
 * VGG-19 for Gatys style transfer, read from MatConvNet's `imagenet-vgg-verydeep-19.mat` as the exercise does:
 * the `layers` cell array, conv weights and biases of layers 0..34 with each conv layer's name asserted, average
 * pooling where VGG max-pools. Fully connected layers are never read.
 *
 * Speed on wasm: the stock input gradient of conv2d is `Conv2DBackpropInput`, ~12x slower than a forward conv.
 * For a stride-1 SAME conv with an odd kernel, the input gradient equals a forward SAME conv of the output
 * gradient with the kernel rotated 180° and its in/out channels swapped, so each conv gets that as a custom
 * gradient. The filters are constants here, so no filter gradient is ever needed (and the wasm backend has no
 * `Conv2DBackpropFilter` kernel anyway).
 */
import { readFile } from 'node:fs/promises';
import type { Tensor, Tensor1D, Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../../runtime/tf.ts';
import { FacegateError } from '../../util/errors.ts';
import { vgg19HowToGet } from '../catalog.ts';
import { type MatValue, readMat5 } from './mat5.ts';

/** The VGG-19 layer list up to conv5_4 (MatConvNet indices 0..34). */
export const VGG19_LAYERS: readonly string[] = (() => {
  const blocks = [2, 2, 4, 4, 4];
  const names: string[] = [];
  blocks.forEach((convs, b) => {
    for (let c = 1; c <= convs; c++) names.push(`conv${b + 1}_${c}`, `relu${b + 1}_${c}`);
    if (b < 4) names.push(`pool${b + 1}`);
  });
  names.pop(); // ends at conv5_4, index 34
  return names;
})();

export interface VggConv {
  name: string;
  /** `[3, 3, in, out]`, TF layout. */
  filter: Float32Array;
  shape: [number, number, number, number];
  bias: Float32Array;
}

function field(s: MatValue, name: string, where: string): MatValue {
  if (s.kind !== 'struct' || s.elements.length !== 1) throw new FacegateError(`${where}: expected a 1x1 struct`);
  const v = s.elements[0]?.[name];
  if (!v) throw new FacegateError(`${where}: struct has no field "${name}"`);
  return v;
}

/** MATLAB stores column-major `[h, w, in, out]`; that is row-major `[out, in, w, h]`, reversed here. */
function columnMajorToTf(values: Float32Array, dims: number[]): Float32Array {
  const [h, w, cin, cout] = dims as [number, number, number, number];
  const out = new Float32Array(values.length);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++)
      for (let x = 0; x < w; x++)
        for (let y = 0; y < h; y++)
          out[((y * w + x) * cin + i) * cout + o] = values[((o * cin + i) * w + x) * h + y] as number;
  return out;
}

/** Extracts and checks the conv layers from a parsed MatConvNet file. */
export function vggConvsFromMat(vars: Map<string, MatValue>, label: string): VggConv[] {
  const layers = vars.get('layers');
  if (layers?.kind !== 'cell') throw new FacegateError(`${label}: no "layers" cell array (not a MatConvNet VGG file)`);
  if (layers.items.length < VGG19_LAYERS.length) {
    throw new FacegateError(
      `${label}: "layers" has ${layers.items.length} entries, VGG-19 needs at least ${VGG19_LAYERS.length}`,
    );
  }
  const convs: VggConv[] = [];
  let inChannels = 3;
  VGG19_LAYERS.forEach((expected, i) => {
    if (!expected.startsWith('conv')) return;
    const layer = layers.items[i] as MatValue;
    const where = `${label}: layer ${i}`;
    const nameValue = field(layer, 'name', where);
    const name = nameValue.kind === 'char' ? nameValue.text : '';
    if (name !== expected) throw new FacegateError(`${where} is named "${name}", expected "${expected}"`);
    const weights = field(layer, 'weights', where);
    if (weights.kind !== 'cell' || weights.items.length !== 2)
      throw new FacegateError(`${where} (${name}): weights must be a 1x2 cell {W, b}`);
    const [w, b] = weights.items as [MatValue, MatValue];
    if (w.kind !== 'numeric' || b.kind !== 'numeric')
      throw new FacegateError(`${where} (${name}): weights are not numeric`);
    const dims = w.dims.length === 3 ? [...w.dims, 1] : w.dims;
    if (dims.length !== 4 || dims[0] !== 3 || dims[1] !== 3 || dims[2] !== inChannels) {
      throw new FacegateError(`${where} (${name}): filter is ${w.dims.join('x')}, expected 3x3x${inChannels}xN`);
    }
    const outChannels = dims[3] as number;
    if (b.values.length !== outChannels)
      throw new FacegateError(`${where} (${name}): ${b.values.length} biases for ${outChannels} filters`);
    convs.push({
      name,
      filter: columnMajorToTf(w.values, dims),
      shape: [3, 3, inChannels, outChannels],
      bias: Float32Array.from(b.values),
    });
    inChannels = outChannels;
  });
  return convs;
}

export async function loadVgg19(file: string): Promise<VggConv[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FacegateError(`VGG-19 weights not found at ${file} (${code ?? 'unreadable'}): ${vgg19HowToGet()}`);
  }
  return vggConvsFromMat(readMat5(bytes, file), file);
}

/** A stride-1 SAME conv whose input gradient is a forward conv with the flipped, channel-swapped kernel. */
export function convWithFastInputGrad(filter: Tensor4D): { apply: (x: Tensor4D) => Tensor4D; dispose: () => void } {
  const [kh, kw] = filter.shape;
  if (kh % 2 !== 1 || kw % 2 !== 1) throw new FacegateError('fast input gradient needs an odd-sized kernel');
  const flipped = tf.tidy(() => tf.reverse(filter, [0, 1]).transpose([0, 1, 3, 2]) as Tensor4D);
  const apply = tf.customGrad(((x: Tensor, save: (t: Tensor[]) => void) => {
    save([]);
    return {
      value: tf.conv2d(x as Tensor4D, filter, 1, 'same'),
      gradFunc: (dy: Tensor) => tf.conv2d(dy as Tensor4D, flipped, 1, 'same'),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: Tensor4D) => Tensor4D;
  return { apply, dispose: () => flipped.dispose() };
}

export interface VggNet {
  /** Activations (after relu) of the named conv layers, computed only as deep as the deepest one asked for. */
  activations(input: Tensor4D, wanted: readonly string[]): Map<string, Tensor4D>;
  dispose(): void;
}

export function buildVgg(convs: VggConv[]): VggNet {
  const layers = convs.map((c) => {
    const filter = tf.tensor4d(c.filter, c.shape);
    const conv = convWithFastInputGrad(filter);
    return { name: c.name, filter, conv, bias: tf.tensor1d(c.bias) as Tensor1D };
  });
  return {
    activations(input, wanted) {
      const out = new Map<string, Tensor4D>();
      let x = input;
      let block = 1;
      for (const l of layers) {
        const b = Number(l.name.slice(4, 5));
        if (b !== block) {
          // Average pooling 2x2/2 between blocks, as the exercise replaces VGG's max pooling.
          x = tf.avgPool(x, 2, 2, 'same');
          block = b;
        }
        x = tf.relu(tf.add(l.conv.apply(x), l.bias)) as Tensor4D;
        if (wanted.includes(l.name)) out.set(l.name, x);
        if (out.size === wanted.length) break;
      }
      return out;
    },
    dispose() {
      for (const l of layers) {
        l.conv.dispose();
        tf.dispose([l.filter, l.bias]);
      }
    },
  };
}
