/**
 * A second, deliberately naive nn4.small2: channels-first, float64, batch norm unfolded, Keras's (C,H,W) flatten,
 * transcribed block by block from the exercise's Keras code (`inception_blocks_v2.faceRecoModel`) without using
 * `architecture.ts`. Agreement with the tfjs network on the same weights checks what generated weights cannot
 * otherwise reveal: the weight transposes, the batch-norm folding and epsilons, the asymmetric paddings, the pool
 * kinds and strides, and the concatenation order.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type * as TF from '@tensorflow/tfjs';
import { loadCsvWeights } from '../../../src/recognition/facenet/csv-loader.ts';
import { preprocessCrop } from '../../../src/recognition/facenet/encoder.ts';
import { FacenetNetwork } from '../../../src/recognition/facenet/network.ts';
import { tensorSpec } from '../../../src/recognition/facenet/shape-table.ts';
import type { WeightTable } from '../../../src/recognition/facenet/weight-table.ts';
import { loadImage } from '../../../src/runtime/image.ts';
import { initBackend, tf } from '../../../src/runtime/tf.ts';
import { makeFacenetCsvDir } from '../../helpers/facenet-weights.ts';
import { sharedPath, skipUnlessShared } from '../../helpers/shared.ts';

/** A channels-first feature map: value (c, y, x) at d[(c * h + y) * w + x]. */
interface Chw {
  c: number;
  h: number;
  w: number;
  d: Float64Array;
}

const chw = (c: number, h: number, w: number): Chw => ({ c, h, w, d: new Float64Array(c * h * w) });

function makeRef(table: WeightTable) {
  const W = (name: string): Float32Array => table.values.get(name) as Float32Array;

  function conv(x: Chw, name: string, stride = 1): Chw {
    const spec = tensorSpec(`${name}_w`);
    assert.ok(spec, `${name}_w is in the table`);
    const [out, inC, kh, kw] = spec.shape as [number, number, number, number];
    assert.equal(inC, x.c, `${name} input channels`);
    const w = W(`${name}_w`);
    const b = W(`${name}_b`);
    const y = chw(out as number, Math.floor((x.h - kh) / stride) + 1, Math.floor((x.w - kw) / stride) + 1);
    for (let o = 0; o < y.c; o++) {
      for (let oy = 0; oy < y.h; oy++) {
        for (let ox = 0; ox < y.w; ox++) {
          let s = b[o] as number;
          for (let i = 0; i < x.c; i++) {
            for (let ky = 0; ky < kh; ky++) {
              const row = (i * x.h + oy * stride + ky) * x.w + ox * stride;
              const wrow = ((o * x.c + i) * kh + ky) * kw;
              for (let kx = 0; kx < kw; kx++) s += (w[wrow + kx] as number) * (x.d[row + kx] as number);
            }
          }
          y.d[(o * y.h + oy) * y.w + ox] = s;
        }
      }
    }
    return y;
  }

  function bnRelu(x: Chw, name: string, eps: number): Chw {
    const [g, be, m, v] = ['w', 'b', 'm', 'v'].map((s) => W(`${name}_${s}`)) as Float32Array[];
    const y = chw(x.c, x.h, x.w);
    const n = x.h * x.w;
    for (let c = 0; c < x.c; c++) {
      for (let i = 0; i < n; i++) {
        const z =
          (((x.d[c * n + i] as number) - (m?.[c] as number)) / Math.sqrt((v?.[c] as number) + eps)) *
            (g?.[c] as number) +
          (be?.[c] as number);
        y.d[c * n + i] = Math.max(z, 0);
      }
    }
    return y;
  }

  function pad(x: Chw, t: number, b: number, l: number, r: number): Chw {
    const y = chw(x.c, x.h + t + b, x.w + l + r);
    for (let c = 0; c < x.c; c++)
      for (let i = 0; i < x.h; i++)
        for (let j = 0; j < x.w; j++) y.d[(c * y.h + i + t) * y.w + j + l] = x.d[(c * x.h + i) * x.w + j] as number;
    return y;
  }

  function pool(x: Chw, k: number, s: number, kind: 'max' | 'avg'): Chw {
    const y = chw(x.c, Math.floor((x.h - k) / s) + 1, Math.floor((x.w - k) / s) + 1);
    for (let c = 0; c < x.c; c++) {
      for (let i = 0; i < y.h; i++) {
        for (let j = 0; j < y.w; j++) {
          let acc = kind === 'max' ? Number.NEGATIVE_INFINITY : 0;
          for (let a = 0; a < k; a++) {
            for (let b = 0; b < k; b++) {
              const v = x.d[(c * x.h + i * s + a) * x.w + j * s + b] as number;
              acc = kind === 'max' ? Math.max(acc, v) : acc + v;
            }
          }
          y.d[(c * y.h + i) * y.w + j] = kind === 'max' ? acc : acc / (k * k);
        }
      }
    }
    return y;
  }

  function concat(...xs: Chw[]): Chw {
    const y = chw(
      xs.reduce((a, x) => a + x.c, 0),
      (xs[0] as Chw).h,
      (xs[0] as Chw).w,
    );
    let off = 0;
    for (const x of xs) {
      assert.equal(x.h, y.h);
      y.d.set(x.d, off);
      off += x.d.length;
    }
    return y;
  }

  // conv → bn(eps 1e-5) → relu; `conv` names map to `bn` names as in the exercise.
  const cbr = (x: Chw, conv_: string, stride = 1, eps = 0.00001) =>
    bnRelu(conv(x, conv_, stride), conv_.replace('conv', 'bn'), eps);
  const p = (x: Chw, n: number) => pad(x, n, n, n, n);

  return function faceRecoModel(input: Chw): Float64Array {
    let X = p(input, 3);
    X = bnRelu(conv(X, 'conv1', 2), 'bn1', 0.001);
    X = pool(p(X, 1), 3, 2, 'max');
    X = cbr(X, 'conv2');
    X = cbr(p(X, 1), 'conv3');
    X = pool(p(X, 1), 3, 2, 'max');
    assert.deepEqual([X.c, X.h], [192, 12]);
    // 3a
    X = concat(
      cbr(p(cbr(X, 'inception_3a_3x3_conv1'), 1), 'inception_3a_3x3_conv2'),
      cbr(p(cbr(X, 'inception_3a_5x5_conv1'), 2), 'inception_3a_5x5_conv2'),
      pad(cbr(pool(X, 3, 2, 'max'), 'inception_3a_pool_conv'), 3, 4, 3, 4),
      cbr(X, 'inception_3a_1x1_conv'),
    );
    // 3b
    X = concat(
      cbr(p(cbr(X, 'inception_3b_3x3_conv1'), 1), 'inception_3b_3x3_conv2'),
      cbr(p(cbr(X, 'inception_3b_5x5_conv1'), 2), 'inception_3b_5x5_conv2'),
      p(cbr(pool(X, 3, 3, 'avg'), 'inception_3b_pool_conv'), 4),
      cbr(X, 'inception_3b_1x1_conv'),
    );
    // 3c
    X = concat(
      cbr(p(cbr(X, 'inception_3c_3x3_conv1'), 1), 'inception_3c_3x3_conv2', 2),
      cbr(p(cbr(X, 'inception_3c_5x5_conv1'), 2), 'inception_3c_5x5_conv2', 2),
      pad(pool(X, 3, 2, 'max'), 0, 1, 0, 1),
    );
    assert.deepEqual([X.c, X.h], [640, 6]);
    // 4a
    X = concat(
      cbr(p(cbr(X, 'inception_4a_3x3_conv1'), 1), 'inception_4a_3x3_conv2'),
      cbr(p(cbr(X, 'inception_4a_5x5_conv1'), 2), 'inception_4a_5x5_conv2'),
      p(cbr(pool(X, 3, 3, 'avg'), 'inception_4a_pool_conv'), 2),
      cbr(X, 'inception_4a_1x1_conv'),
    );
    // 4e
    X = concat(
      cbr(p(cbr(X, 'inception_4e_3x3_conv1'), 1), 'inception_4e_3x3_conv2', 2),
      cbr(p(cbr(X, 'inception_4e_5x5_conv1'), 2), 'inception_4e_5x5_conv2', 2),
      pad(pool(X, 3, 2, 'max'), 0, 1, 0, 1),
    );
    assert.deepEqual([X.c, X.h], [1024, 3]);
    // 5a
    X = concat(
      cbr(p(cbr(X, 'inception_5a_3x3_conv1'), 1), 'inception_5a_3x3_conv2'),
      p(cbr(pool(X, 3, 3, 'avg'), 'inception_5a_pool_conv'), 1),
      cbr(X, 'inception_5a_1x1_conv'),
    );
    // 5b
    X = concat(
      cbr(p(cbr(X, 'inception_5b_3x3_conv1'), 1), 'inception_5b_3x3_conv2'),
      p(cbr(pool(X, 3, 2, 'max'), 'inception_5b_pool_conv'), 1),
      cbr(X, 'inception_5b_1x1_conv'),
    );
    X = pool(X, 3, 1, 'avg');
    assert.deepEqual([X.c, X.h, X.w], [736, 1, 1]);
    // Flatten in (C, H, W) order is X.d as stored; dense with the stored [128, 736] (out, in) matrix.
    const dw = W('dense_w');
    const db = W('dense_b');
    const out = new Float64Array(128);
    for (let o = 0; o < 128; o++) {
      let s = db[o] as number;
      for (let i = 0; i < 736; i++) s += (dw[o * 736 + i] as number) * (X.d[i] as number);
      out[o] = s;
    }
    const n = Math.sqrt(
      Math.max(
        out.reduce((a, v) => a + v * v, 0),
        1e-12,
      ),
    );
    return out.map((v) => v / n);
  };
}

describe('tfjs network vs the naive channels-first reference', { skip: skipUnlessShared }, () => {
  let table: WeightTable;
  before(async () => {
    await initBackend();
    const csv = await makeFacenetCsvDir();
    try {
      table = await loadCsvWeights(csv.dir);
    } finally {
      await csv.cleanup();
    }
  });

  for (const file of ['camera_0.jpg', 'kian.jpg']) {
    test(`same embedding for ${file} (max abs difference < 2e-6)`, async () => {
      const img = await loadImage(sharedPath('data', 'faces', 'happy-house', file));
      const crop = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
      const x = preprocessCrop(crop);
      const hwc = await x.data();
      const input = chw(3, 96, 96);
      for (let c = 0; c < 3; c++) for (let i = 0; i < 96 * 96; i++) input.d[c * 96 * 96 + i] = hwc[i * 3 + c] as number;
      const expected = makeRef(table)(input);

      const net = FacenetNetwork.fromWeights(table);
      const y: TF.Tensor2D = net.forward(x);
      const actual = await y.data();
      tf.dispose([crop, x, y]);
      net.dispose();

      let maxDiff = 0;
      for (let i = 0; i < 128; i++)
        maxDiff = Math.max(maxDiff, Math.abs((actual[i] as number) - (expected[i] as number)));
      assert.ok(maxDiff < 2e-6, `max abs difference ${maxDiff}`);
    });
  }
});
