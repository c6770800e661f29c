/**
 * The 224 weight tensors the exercise's nn4.small2 reads, with their stored shapes. Written out by hand from the
 * exercise's `conv_shape` table (and ../shared/models/facenet-nn4small2/README.md) rather than derived from the
 * network description in `architecture.ts`: the two are kept independent on purpose, so the network asking for a
 * tensor of a shape the table does not list is caught instead of being true by construction.
 */

/** Convolutions as stored by the exercise: [out, in, kh, kw]. Each is followed by a batch norm of `out` channels. */
export const CONV_SHAPES: ReadonlyArray<readonly [name: string, shape: readonly [number, number, number, number]]> = [
  ['conv1', [64, 3, 7, 7]],
  ['conv2', [64, 64, 1, 1]],
  ['conv3', [192, 64, 3, 3]],
  ['inception_3a_1x1_conv', [64, 192, 1, 1]],
  ['inception_3a_pool_conv', [32, 192, 1, 1]],
  ['inception_3a_5x5_conv1', [16, 192, 1, 1]],
  ['inception_3a_5x5_conv2', [32, 16, 5, 5]],
  ['inception_3a_3x3_conv1', [96, 192, 1, 1]],
  ['inception_3a_3x3_conv2', [128, 96, 3, 3]],
  ['inception_3b_3x3_conv1', [96, 256, 1, 1]],
  ['inception_3b_3x3_conv2', [128, 96, 3, 3]],
  ['inception_3b_5x5_conv1', [32, 256, 1, 1]],
  ['inception_3b_5x5_conv2', [64, 32, 5, 5]],
  ['inception_3b_pool_conv', [64, 256, 1, 1]],
  ['inception_3b_1x1_conv', [64, 256, 1, 1]],
  ['inception_3c_3x3_conv1', [128, 320, 1, 1]],
  ['inception_3c_3x3_conv2', [256, 128, 3, 3]],
  ['inception_3c_5x5_conv1', [32, 320, 1, 1]],
  ['inception_3c_5x5_conv2', [64, 32, 5, 5]],
  ['inception_4a_3x3_conv1', [96, 640, 1, 1]],
  ['inception_4a_3x3_conv2', [192, 96, 3, 3]],
  ['inception_4a_5x5_conv1', [32, 640, 1, 1]],
  ['inception_4a_5x5_conv2', [64, 32, 5, 5]],
  ['inception_4a_pool_conv', [128, 640, 1, 1]],
  ['inception_4a_1x1_conv', [256, 640, 1, 1]],
  ['inception_4e_3x3_conv1', [160, 640, 1, 1]],
  ['inception_4e_3x3_conv2', [256, 160, 3, 3]],
  ['inception_4e_5x5_conv1', [64, 640, 1, 1]],
  ['inception_4e_5x5_conv2', [128, 64, 5, 5]],
  ['inception_5a_3x3_conv1', [96, 1024, 1, 1]],
  ['inception_5a_3x3_conv2', [384, 96, 3, 3]],
  ['inception_5a_pool_conv', [96, 1024, 1, 1]],
  ['inception_5a_1x1_conv', [256, 1024, 1, 1]],
  ['inception_5b_3x3_conv1', [96, 736, 1, 1]],
  ['inception_5b_3x3_conv2', [384, 96, 3, 3]],
  ['inception_5b_pool_conv', [96, 736, 1, 1]],
  ['inception_5b_1x1_conv', [256, 736, 1, 1]],
];

/** Dense layer as stored: [out, in]; transposed to [in, out] for matMul. */
export const DENSE_SHAPE = [128, 736] as const;

export interface TensorSpec {
  /** File stem: the CSV is `<name>.csv`, e.g. `inception_3a_3x3_bn2_v`. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly size: number;
}

/** `inception_3a_3x3_conv2` → `inception_3a_3x3_bn2`, `conv1` → `bn1` (the exercise's naming rule). */
export function bnNameFor(convName: string): string {
  return convName.replace('conv', 'bn');
}

function spec(name: string, shape: readonly number[]): TensorSpec {
  return { name, shape, size: shape.reduce((a, b) => a * b, 1) };
}

function buildTable(): TensorSpec[] {
  const table: TensorSpec[] = [];
  for (const [conv, shape] of CONV_SHAPES) {
    const out = shape[0];
    table.push(spec(`${conv}_w`, shape), spec(`${conv}_b`, [out]));
    // Batch norm: gamma, beta, moving mean, moving variance, in the exercise's _w/_b/_m/_v file order.
    const bn = bnNameFor(conv);
    for (const suffix of ['w', 'b', 'm', 'v']) table.push(spec(`${bn}_${suffix}`, [out]));
  }
  table.push(spec('dense_w', DENSE_SHAPE), spec('dense_b', [DENSE_SHAPE[0]]));
  return table;
}

/** Every tensor the network reads, in a fixed order (also the order of the imported binary). */
export const FACENET_TENSORS: readonly TensorSpec[] = buildTable();

export const FACENET_TENSOR_COUNT = 224;
if (FACENET_TENSORS.length !== FACENET_TENSOR_COUNT) {
  // A module-load failure is right here: an edited table that no longer lists 224 tensors is a programming error.
  throw new Error(`facenet shape table lists ${FACENET_TENSORS.length} tensors, expected ${FACENET_TENSOR_COUNT}`);
}

export const FACENET_TOTAL_VALUES = FACENET_TENSORS.reduce((a, t) => a + t.size, 0);

const byName = new Map(FACENET_TENSORS.map((t) => [t.name, t]));

export function tensorSpec(name: string): TensorSpec | undefined {
  return byName.get(name);
}
