import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Scalar, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import {
  contentCost,
  denormalizeImage,
  evaluateCost,
  gramMatrix,
  layerStyleCost,
  MEANS,
  normalizeImage,
  runGatys,
  totalCost,
} from '../../../src/nst/gatys/gatys.ts';
import { readMat5 } from '../../../src/nst/gatys/mat5.ts';
import { buildVgg, convWithFastInputGrad, type VggConv, vggConvsFromMat } from '../../../src/nst/gatys/vgg.ts';
import { syntheticVggConvs } from '../../../src/nst/gatys/vgg-synthetic.ts';
import { initBackend, tf } from '../../../src/runtime/tf.ts';
import { FacegateError } from '../../../src/util/errors.ts';
import { writeMat5 } from '../../helpers/mat-writer.ts';
import { syntheticMat } from '../../helpers/vgg-mat.ts';

before(async () => {
  await initBackend('wasm');
});

test('synthetic VGG .mat round-trips: names, shapes and values come back', () => {
  const convs = syntheticVggConvs(16, 3);
  const back = vggConvsFromMat(readMat5(syntheticMat(convs), 'synthetic.mat'), 'synthetic.mat');
  assert.deepEqual(
    back.map((c) => c.name),
    convs.map((c) => c.name),
  );
  assert.equal(back.length, 16);
  back.forEach((c, i) => {
    const orig = convs[i] as VggConv;
    assert.deepEqual(c.shape, orig.shape);
    assert.deepEqual(Array.from(c.filter), Array.from(orig.filter));
    assert.deepEqual(Array.from(c.bias), Array.from(orig.bias));
  });
});

test('loader asserts layer names and refuses bad files with one line', () => {
  const convs = syntheticVggConvs(16, 3);
  assert.throws(
    () => vggConvsFromMat(readMat5(syntheticMat(convs, [21, 'conv4_9']), 'x.mat'), 'x.mat'),
    /layer 21 is named "conv4_9", expected "conv4_2"/,
  );
  assert.throws(() => readMat5(Buffer.from('hello, not a mat file at all'), 'x.mat'), /too short/);
  assert.throws(
    () => readMat5(Buffer.alloc(200, 'a'), 'x.mat'),
    (e: unknown) => e instanceof FacegateError && /not a MATLAB 5.0 MAT-file/.test(e.message),
  );
  const good = syntheticMat(convs);
  assert.throws(() => readMat5(good.subarray(0, good.length - 100), 'x.mat'), /truncated|corrupt/);
  assert.throws(
    () => vggConvsFromMat(readMat5(writeMat5({ other: { char: 'x' } }), 'x.mat'), 'x.mat'),
    /no "layers" cell array/,
  );
});

test('content cost matches a hand-computed value', () => {
  // nH=1, nW=2, nC=2: differences 1, 2, 0, -1 -> sum of squares 6, / (4·1·2·2) = 0.375.
  const aC = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]);
  const aG = tf.tensor4d([0, 0, 3, 5], [1, 1, 2, 2]);
  assert.ok(Math.abs((contentCost(aC, aG).dataSync()[0] as number) - 0.375) < 1e-6);
});

test('Gram matrix is A·Aᵀ of the (nC, nH·nW) unrolled activations', () => {
  // positions p1=(1,2), p2=(3,4): A = [[1,3],[2,4]], A·Aᵀ = [[10,14],[14,20]].
  const g = gramMatrix(tf.tensor2d([1, 2, 3, 4], [2, 2]));
  assert.deepEqual(Array.from(g.dataSync()), [10, 14, 14, 20]);
});

test('Gram custom gradient equals the stock matMul gradient', () => {
  const b = tf.randomNormal([12, 5]) as Tensor2D;
  const w = tf.randomNormal([5, 5]);
  const ours = tf.grad((x: Tensor) => tf.sum(tf.mul(gramMatrix(x as Tensor2D), w)))(b);
  const stock = tf.grad((x: Tensor) => tf.sum(tf.mul(tf.matMul(x as Tensor2D, x as Tensor2D, true, false), w)))(b);
  assert.ok((tf.max(tf.abs(tf.sub(ours, stock))).dataSync()[0] as number) < 1e-4);
});

test('layer style cost and total cost match hand-computed values', () => {
  // aG: nH=1, nW=2, nC=2, positions (1,0),(0,1) -> G_G = I. G_S = [[2,0],[0,1]] -> sum sq diff = 1,
  // / (4·nC²·(nH·nW)²) = 1 / (4·4·4) = 1/64.
  const aG = tf.tensor4d([1, 0, 0, 1], [1, 1, 2, 2]);
  const gS = tf.tensor2d([2, 0, 0, 1], [2, 2]);
  assert.ok(Math.abs((layerStyleCost(gS, aG).dataSync()[0] as number) - 1 / 64) < 1e-7);
  assert.equal(totalCost(tf.scalar(2) as Scalar, tf.scalar(3) as Scalar, 10, 40).dataSync()[0], 140);
  // The exercise's signature `total_cost(J_content, J_style, alpha = 10, beta = 40)`; the run passes beta 80.
  assert.equal(totalCost(tf.scalar(2) as Scalar, tf.scalar(3) as Scalar).dataSync()[0], 140);
});

test('conv input gradient as a forward conv equals the stock gradient to 1e-4', () => {
  const x = tf.randomNormal([1, 9, 7, 6]) as Tensor4D;
  const f = tf.randomNormal([3, 3, 6, 5]) as Tensor4D;
  const weight = tf.randomNormal([1, 9, 7, 5]);
  const conv = convWithFastInputGrad(f);
  const ours = tf.grad((t: Tensor) => tf.sum(tf.mul(conv.apply(t as Tensor4D), weight)))(x);
  const stock = tf.grad((t: Tensor) => tf.sum(tf.mul(tf.conv2d(t as Tensor4D, f, 1, 'same'), weight)))(x);
  const value = tf.max(tf.abs(tf.sub(conv.apply(x), tf.conv2d(x, f, 1, 'same')))).dataSync()[0] as number;
  assert.ok(value < 1e-5, `forward differs by ${value}`);
  const diff = tf.max(tf.abs(tf.sub(ours, stock))).dataSync()[0] as number;
  assert.ok(diff < 1e-4, `gradients differ by ${diff}`);
  conv.dispose();
});

test('20 Adam steps lower J on a tiny VGG-shaped net', async () => {
  const vgg = buildVgg(syntheticVggConvs(16, 5));
  const size = 32;
  const img = (k: number) => ({
    data: Uint8Array.from({ length: size * size * 3 }, (_, i) => (i * k + ((i / 3) | 0) * 7) % 256),
    width: size,
    height: size,
  });
  const content = img(5);
  const style = img(11);
  const start = tf.tidy(
    () =>
      tf.add(
        tf.mul(tf.randomUniform([1, size, size, 3], -20, 20, 'float32', 7), 0.6),
        tf.mul(normalizeImage(content), 0.4),
      ) as Tensor4D,
  );
  const reports: number[] = [];
  const out = await runGatys(
    vgg,
    content,
    style,
    { iterations: 20, reportEvery: 10, startImage: start },
    { onProgress: (p) => reports.push(p.J) },
  );
  const c = normalizeImage(content);
  const s = normalizeImage(style);
  const before = evaluateCost(vgg, start, c, s);
  const after = evaluateCost(vgg, normalizeImage(out), c, s);
  assert.ok(after < before * 0.9, `J before ${before}, after ${after}`);
  assert.ok((reports.at(-1) as number) < (reports[0] as number), `reported J: ${reports.join(', ')}`);
  assert.equal(out.width, size);
  tf.dispose([start, c, s]);
  vgg.dispose();
});

test("un-normalise adds MEANS (RGB order), clips to 0..255 and truncates to uint8 as astype('uint8')", async () => {
  const t = tf.tensor4d([-200, 0, 0.4, 300, -116.779, 0, 0.9, 0.9, 0.9], [1, 1, 3, 3]);
  const img = await denormalizeImage(t);
  // 0 + 116.779 → 116 and 0.4 + 103.939 → 104 (truncated, where rounding gives 117 and 104); 123.68 + 0.9 →
  // 124 (rounding: 125), 116.779 + 0.9 → 117 (118), 103.939 + 0.9 → 104 (105).
  assert.deepEqual(Array.from(img.data), [0, 116, 104, 255, 0, 103, 124, 117, 104]);
  assert.equal(img.data.constructor, Uint8Array);
  assert.deepEqual([img.width, img.height], [3, 1]);
  assert.deepEqual(MEANS, [123.68, 116.779, 103.939]);
});

test('bad Gatys settings are refused with one line before any work', async () => {
  const img = { data: new Uint8Array(16 * 16 * 3), width: 16, height: 16 };
  const vgg = buildVgg(syntheticVggConvs(16, 5));
  for (const [bad, message] of [
    [{ learningRate: 0 }, /learning rate must be a number > 0/],
    [{ beta: -1 }, /beta must be a number ≥ 0/],
    [{ alpha: Number.NaN }, /alpha must be a number ≥ 0/],
    [{ noiseRatio: 1.5 }, /noise ratio must be in 0\.\.1/],
  ] as const) {
    await assert.rejects(
      runGatys(vgg, img, img, bad),
      (e: unknown) => e instanceof FacegateError && message.test(e.message),
    );
  }
  vgg.dispose();
});
