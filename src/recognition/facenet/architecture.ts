/**
 * nn4.small2 as the exercise builds it (OpenFace's network in Keras form, `inception_blocks_v2.faceRecoModel`),
 * written as data: each block is a list of branches, each branch a list of ops, concatenated in the listed order
 * (the order fixes which channels the next layer's weights see, so it must match the exercise exactly).
 *
 * Paddings are [top, bottom, left, right] zero paddings, applied where the exercise applies them (after the
 * branch's relu). Pools are 'valid' (Keras default), so a 3x3 stride-3 average pool over 12x12 gives 4x4.
 * Every block records the spatial size and channel count it must produce; `traceShapes` checks them without
 * running anything, and the network checks the real tensors again on every forward pass.
 */

export type Pad4 = readonly [top: number, bottom: number, left: number, right: number];

export type Op =
  | {
      readonly op: 'conv';
      readonly name: string;
      readonly out: number;
      readonly k: number;
      readonly stride?: number;
      readonly epsilon?: number;
    }
  | { readonly op: 'pad'; readonly pad: Pad4 }
  | { readonly op: 'maxpool' | 'avgpool'; readonly size: number; readonly stride: number };

export interface Block {
  readonly name: string;
  readonly branches: ReadonlyArray<readonly Op[]>;
  readonly expect: { readonly size: number; readonly channels: number };
}

/** Keras BatchNormalization's default; the exercise leaves bn1 at it. */
export const BN1_EPSILON = 0.001;
/** What the exercise passes to every other batch norm. */
export const BN_EPSILON = 0.00001;

export const INPUT_SIZE = 96;
export const EMBEDDING_SIZE = 128;

const pad = (p: number): Op => ({ op: 'pad', pad: [p, p, p, p] });
const conv = (name: string, out: number, k = 1, stride = 1): Op => ({ op: 'conv', name, out, k, stride });
const maxpool = (size: number, stride: number): Op => ({ op: 'maxpool', size, stride });
const avgpool = (size: number, stride: number): Op => ({ op: 'avgpool', size, stride });

/** 1x1 reduce → pad → kxk conv: the exercise's `conv2d_bn` with two convolutions. */
function reduceThen(prefix: string, reduce: number, out: number, k: number, stride = 1): Op[] {
  return [conv(`${prefix}_conv1`, reduce), pad((k - 1) / 2), conv(`${prefix}_conv2`, out, k, stride)];
}

export const BLOCKS: readonly Block[] = [
  {
    name: 'stem',
    branches: [
      [
        pad(3),
        { op: 'conv', name: 'conv1', out: 64, k: 7, stride: 2, epsilon: BN1_EPSILON },
        pad(1),
        maxpool(3, 2),
        conv('conv2', 64),
        pad(1),
        conv('conv3', 192, 3),
        pad(1),
        maxpool(3, 2),
      ],
    ],
    expect: { size: 12, channels: 192 },
  },
  {
    name: '3a',
    branches: [
      reduceThen('inception_3a_3x3', 96, 128, 3),
      reduceThen('inception_3a_5x5', 16, 32, 5),
      [maxpool(3, 2), conv('inception_3a_pool_conv', 32), { op: 'pad', pad: [3, 4, 3, 4] }],
      [conv('inception_3a_1x1_conv', 64)],
    ],
    expect: { size: 12, channels: 256 },
  },
  {
    name: '3b',
    branches: [
      reduceThen('inception_3b_3x3', 96, 128, 3),
      reduceThen('inception_3b_5x5', 32, 64, 5),
      [avgpool(3, 3), conv('inception_3b_pool_conv', 64), pad(4)],
      [conv('inception_3b_1x1_conv', 64)],
    ],
    expect: { size: 12, channels: 320 },
  },
  {
    name: '3c',
    branches: [
      reduceThen('inception_3c_3x3', 128, 256, 3, 2),
      reduceThen('inception_3c_5x5', 32, 64, 5, 2),
      [maxpool(3, 2), { op: 'pad', pad: [0, 1, 0, 1] }],
    ],
    expect: { size: 6, channels: 640 },
  },
  {
    name: '4a',
    branches: [
      reduceThen('inception_4a_3x3', 96, 192, 3),
      reduceThen('inception_4a_5x5', 32, 64, 5),
      [avgpool(3, 3), conv('inception_4a_pool_conv', 128), pad(2)],
      [conv('inception_4a_1x1_conv', 256)],
    ],
    expect: { size: 6, channels: 640 },
  },
  {
    name: '4e',
    branches: [
      reduceThen('inception_4e_3x3', 160, 256, 3, 2),
      reduceThen('inception_4e_5x5', 64, 128, 5, 2),
      [maxpool(3, 2), { op: 'pad', pad: [0, 1, 0, 1] }],
    ],
    expect: { size: 3, channels: 1024 },
  },
  {
    name: '5a',
    branches: [
      reduceThen('inception_5a_3x3', 96, 384, 3),
      [avgpool(3, 3), conv('inception_5a_pool_conv', 96), pad(1)],
      [conv('inception_5a_1x1_conv', 256)],
    ],
    expect: { size: 3, channels: 736 },
  },
  {
    name: '5b',
    branches: [
      reduceThen('inception_5b_3x3', 96, 384, 3),
      [maxpool(3, 2), conv('inception_5b_pool_conv', 96), pad(1)],
      [conv('inception_5b_1x1_conv', 256)],
    ],
    expect: { size: 3, channels: 736 },
  },
  // The head's pool; flatten and dense 736 → 128 follow in the network.
  { name: 'head-pool', branches: [[avgpool(3, 1)]], expect: { size: 1, channels: 736 } },
];

export interface SpatialShape {
  size: number;
  channels: number;
}

/** Output size of a 'valid' window of `k` with `stride` over `n` (the same formula for conv and pool). */
function validOut(n: number, k: number, stride: number): number {
  return Math.floor((n - k) / stride) + 1;
}

export function applyOp(shape: SpatialShape, op: Op): SpatialShape {
  switch (op.op) {
    case 'pad':
      // Every padding in this network is symmetric between height and width, so one size tracks both.
      return { size: shape.size + op.pad[0] + op.pad[1], channels: shape.channels };
    case 'conv':
      return { size: validOut(shape.size, op.k, op.stride ?? 1), channels: op.out };
    case 'maxpool':
    case 'avgpool':
      return { size: validOut(shape.size, op.size, op.stride), channels: shape.channels };
  }
}

/**
 * Walks the blocks from the 96x96x3 input and checks every branch of every block agrees on the spatial size the
 * block promises; returns the per-block shapes. Throws a plain Error: a mismatch here is a bug in this file.
 */
export function traceShapes(blocks: readonly Block[] = BLOCKS): Array<{ block: string } & SpatialShape> {
  let shape: SpatialShape = { size: INPUT_SIZE, channels: 3 };
  const trace: Array<{ block: string } & SpatialShape> = [];
  for (const block of blocks) {
    let channels = 0;
    for (const [i, branch] of block.branches.entries()) {
      const out = branch.reduce(applyOp, shape);
      if (out.size !== block.expect.size) {
        throw new Error(
          `facenet block ${block.name} branch ${i} gives ${out.size}x${out.size}, expected ${block.expect.size}`,
        );
      }
      channels += out.channels;
    }
    if (channels !== block.expect.channels) {
      throw new Error(`facenet block ${block.name} gives ${channels} channels, expected ${block.expect.channels}`);
    }
    shape = { size: block.expect.size, channels };
    trace.push({ block: block.name, ...shape });
  }
  return trace;
}
