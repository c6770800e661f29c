/**
 * Gatys as the exercise runs it, each constant pinned through behaviour: the pre-processed value of a known pixel,
 * the noise statistics of the seeded start image, the layer the content cost reads, the style layers and their
 * weights, alpha/beta/iterations of the run, Adam's first steps, the cover crop. The expected values come from the
 * exercise's notebook written out here as literals and from an independent reference of its graph
 * (test/helpers/vgg-mat.ts), never from src/nst's constants, so changing any constant turns a test red
 * (test/README.md lists which, with the mutation check that proves it).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Tensor4D } from '@tensorflow/tfjs';
import { resizeRgb, runStylize, type StylizeOptions } from '../../src/nst/engine.ts';
import { DEFAULT_GATYS, gatysOptimizer, layerStyleCost, normalizeImage } from '../../src/nst/gatys/gatys.ts';
import { runGatysSplit } from '../../src/nst/gatys/split/split.ts';
import type { RgbImage } from '../../src/runtime/image.ts';
import { initBackend, tf } from '../../src/runtime/tf.ts';
import {
  balancedVggConvs,
  referenceActivations,
  referenceContentCost,
  referenceLayerStyleCost,
  syntheticMat,
} from '../helpers/vgg-mat.ts';

/** The exercise's values, as literals. */
const EXERCISE = {
  means: [123.68, 116.779, 103.939],
  contentLayer: 'conv4_2',
  styleLayers: [
    ['conv1_1', 0.2],
    ['conv2_1', 0.2],
    ['conv3_1', 0.2],
    ['conv4_1', 0.2],
    ['conv5_1', 0.2],
  ] as [string, number][],
  alpha: 10,
  beta: 80,
  iterations: 200,
  learningRate: 2.0,
  noiseRatio: 0.6,
  noiseRange: 20,
};

const convs = balancedVggConvs();
let dir = '';
let vggFile = '';

before(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-nst-exercise-'));
  vggFile = path.join(dir, 'vgg.mat');
  await writeFile(vggFile, syntheticMat(convs));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Engine options for a Gatys run on the synthetic VGG, in this thread (no band helper worker). */
const gatys = (styleImage: RgbImage, extra: Partial<StylizeOptions>): StylizeOptions => ({
  method: 'gatys',
  styleImage,
  vggFile,
  modelsDir: dir,
  gatysParts: 1,
  ...extra,
});

/** An image whose pixel (x, y) is `f(x, y)`. */
function image(width: number, height: number, f: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(f(x, y), (y * width + x) * 3);
  return { data, width, height };
}

const textured = (k: number) => (x: number, y: number) =>
  [(x * 37 + y * 11 * k) % 256, (x * 5 * k + y * 23) % 256, (x * y + 7 * k) % 256] as [number, number, number];

/** The exercise's `reshape_and_normalize_image` from literals: RGB minus the means in RGB order. */
function exerciseNormalize(img: RgbImage): Tensor4D {
  return tf.sub(tf.tensor4d(img.data, [1, img.height, img.width, 3], 'float32'), tf.tensor1d(EXERCISE.means));
}

/** The exercise's `generate_noise_image` from literals, with tf's seeded uniform generator. */
function exerciseStart(content: Tensor4D, seed: number): Tensor4D {
  const noise = tf.randomUniform(content.shape, -EXERCISE.noiseRange, EXERCISE.noiseRange, 'float32', seed);
  return tf.add(tf.mul(noise, EXERCISE.noiseRatio), tf.mul(content, 1 - EXERCISE.noiseRatio));
}

/** J_content and the style cost of `generated` at any layer, by the reference graph (tensors left to the test). */
function referenceCosts(generated: Tensor4D, content: Tensor4D, style: Tensor4D) {
  const g = referenceActivations(convs, generated);
  const c = referenceActivations(convs, content);
  const s = referenceActivations(convs, style);
  const contentAt = (layer: string) => referenceContentCost(c.get(layer) as Tensor4D, g.get(layer) as Tensor4D);
  const styleAt = (layer: string) => referenceLayerStyleCost(s.get(layer) as Tensor4D, g.get(layer) as Tensor4D);
  return { contentAt, styleAt, layers: [...g.keys()] };
}

const close = (a: number, b: number, rel = 1e-4) => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));

test('pre-processing subtracts the VGG means in RGB order: the tensor of a known pixel', () => {
  const t = normalizeImage({ data: Uint8Array.from([200, 100, 50]), width: 1, height: 1 });
  const got = Array.from(t.dataSync());
  // RGB order: 200 − 123.68, 100 − 116.779, 50 − 103.939 (BGR order would give 96.061, −16.779, −73.68).
  for (const [i, v] of [76.32, -16.779, -53.939].entries())
    assert.ok(Math.abs((got[i] as number) - v) < 1e-4, `${got}`);
  t.dispose();
});

test('the style cost of a non-symmetric pattern: unrolled as (n_C, n_H·n_W) with the transpose, Gram A·Aᵀ', () => {
  // n_H = 1, n_W = 3, n_C = 2; positions (1, 2), (0, 1), (3, 0) → A = [[1, 0, 3], [2, 1, 0]], G = [[10, 2], [2, 5]].
  // With G_S = [[4, 1], [1, 2]]: Σ(G_S − G)² = 36 + 1 + 1 + 9 = 47, / (4·2²·3²) = 47/144. The classic wrong unroll
  // (reshape straight to (n_C, n_H·n_W)) gives A = [[1, 2, 0], [1, 3, 0]], G = [[5, 7], [7, 10]] → 137/144; the
  // wrong transposition (AᵀA, 3x3) cannot even be compared with the 2x2 G_S.
  const aG = tf.tensor4d([1, 2, 0, 1, 3, 0], [1, 1, 3, 2]);
  const gS = tf.tensor2d([4, 1, 1, 2], [2, 2]);
  const j = layerStyleCost(gS, aG).dataSync()[0] as number;
  assert.ok(Math.abs(j - 47 / 144) < 1e-6, `J_style_layer = ${j}, expected 47/144 = ${47 / 144}`);
  // Over two rows too (n_H = 2, n_W = 2, n_C = 3), against the reference's explicit transpose-and-matmul.
  const a = tf.tensor4d([1, 0, 2, 0, 3, 1, 4, 1, 0, 2, 0, 5], [1, 2, 2, 3]);
  const s = tf.tensor4d([0, 1, 1, 2, 0, 3, 1, 1, 0, 0, 2, 1], [1, 2, 2, 3]);
  const gramS = tf.matMul(tf.reshape(s, [4, 3]), tf.reshape(s, [4, 3]), true, false);
  const ours = layerStyleCost(gramS as never, a).dataSync()[0] as number;
  assert.ok(close(ours, referenceLayerStyleCost(s, a), 1e-6), `${ours} vs ${referenceLayerStyleCost(s, a)}`);
  tf.dispose([aG, gS, a, s, gramS]);
});

test("the start image: 60 % uniform noise in [-20, 20] plus 40 % content, seeded; the run's default size 400x300", async () => {
  // Left half (200, 100, 50), right half (50, 150, 250). With iterations 0 the run returns its start image:
  // floor(0.6·U(−20, 20) + 0.4·(v − m) + m), i.e. per channel uniform on 0.4·v + 0.6·m ± 12, minus the floor's ½.
  const left = [200, 100, 50];
  const right = [50, 150, 250];
  const content = image(400, 300, (x) => (x < 200 ? left : right) as [number, number, number]);
  const style = image(400, 300, textured(3));
  const run = (seed: number) => runStylize(content, gatys(style, { iterations: 0, seed }));
  const out = await run(7);
  assert.deepEqual([out.width, out.height], [400, 300], 'default size');
  assert.deepEqual(out.data, (await run(7)).data, 'the same seed gives the same start image');
  assert.notDeepEqual(out.data, (await run(8)).data, 'another seed, another start image');
  for (let ch = 0; ch < 3; ch++) {
    const stats = [0, 1].map((half) => {
      let sum = 0;
      let sq = 0;
      let min = 255;
      let max = 0;
      let n = 0;
      for (let y = 0; y < 300; y++)
        for (let x = half * 200; x < half * 200 + 200; x++) {
          const v = out.data[(y * 400 + x) * 3 + ch] as number;
          sum += v;
          sq += v * v;
          min = Math.min(min, v);
          max = Math.max(max, v);
          n++;
        }
      const mean = sum / n;
      return { mean, std: Math.sqrt(sq / n - mean * mean), min, max };
    });
    const [l, r] = stats as [(typeof stats)[0], (typeof stats)[0]];
    const slope = (r.mean - l.mean) / ((right[ch] as number) - (left[ch] as number));
    assert.ok(Math.abs(slope - 0.4) < 0.005, `channel ${ch}: content share ${slope.toFixed(4)}, expected 1 − 0.6`);
    for (const [k, values] of [left, right].entries()) {
      const centre = 0.4 * (values[ch] as number) + 0.6 * (EXERCISE.means[ch] as number);
      const st = stats[k]!;
      assert.ok(Math.abs(st.mean - (centre - 0.5)) < 0.15, `channel ${ch}: mean ${st.mean}, expected ${centre - 0.5}`);
      // Uniform of half-width 0.6·20 = 12: the floored values span 23..24 levels, standard deviation 12/√3.
      assert.ok(st.max - st.min >= 23 && st.max - st.min <= 24, `channel ${ch}: range ${st.min}..${st.max}`);
      assert.ok(
        Math.abs(st.std - 12 / Math.sqrt(3)) < 0.1,
        `channel ${ch}: std ${st.std}, expected ${12 / Math.sqrt(3)}`,
      );
    }
  }
});

/**
 * Iteration 1's reported costs — those of the start image — of a run on fixed 48x32 images from a start image
 * made here, next to the reference graph's costs for the same images.
 */
async function firstIteration(seed: number) {
  const content = image(48, 32, textured(1));
  const style = image(48, 32, textured(2));
  const start = tf.tidy(() => exerciseStart(exerciseNormalize(content), seed));
  let first: { Jcontent: number; Jstyle: number; J: number } | undefined;
  await runGatysSplit(
    convs,
    content,
    style,
    { iterations: 1, reportEvery: 1, startImage: start },
    { onProgress: (p) => (first ??= p) },
    { parts: 1 },
  );
  const ref = referenceCosts(start, exerciseNormalize(content), exerciseNormalize(style));
  start.dispose();
  return { got: first as { Jcontent: number; Jstyle: number; J: number }, ref };
}

test('the content cost reads conv4_2 (a synthetic VGG whose layers all differ)', async () => {
  const { got, ref } = await firstIteration(3);
  const expected = ref.contentAt(EXERCISE.contentLayer);
  assert.ok(close(got.Jcontent, expected), `J_content ${got.Jcontent}, reference at conv4_2 ${expected}`);
  // The test can tell the layers apart: every other layer's content cost is off by far more than the tolerance.
  for (const layer of ref.layers.filter((l) => l !== EXERCISE.contentLayer)) {
    assert.ok(!close(ref.contentAt(layer), expected, 1e-2), `${layer} and conv4_2 costs too close to tell apart`);
  }
});

test('the style cost is conv1_1..conv5_1 at 0.2 each', async () => {
  const { got, ref } = await firstIteration(4);
  const terms = EXERCISE.styleLayers.map(([layer, w]) => w * ref.styleAt(layer));
  const expected = terms.reduce((a, b) => a + b, 0);
  assert.ok(close(got.Jstyle, expected), `J_style ${got.Jstyle}, reference ${expected}`);
  // Sensitivity: each layer's term is well above the tolerance, so a changed weight or a dropped layer shows,
  // and swapping a layer for another conv layer changes the sum by far more than the tolerance.
  for (const [i, t] of terms.entries()) assert.ok(t > 0.02 * expected, `term ${i} too small: ${t} of ${expected}`);
  for (const [i, [layer, w]] of EXERCISE.styleLayers.entries()) {
    for (const other of ref.layers.filter((l) => !EXERCISE.styleLayers.some(([s]) => s === l))) {
      const swapped = expected - (terms[i] as number) + w * ref.styleAt(other);
      assert.ok(!close(swapped, expected, 1e-3), `${layer} → ${other} would not show`);
    }
  }
});

test('the run through the engine: alpha 10, beta 80, 200 iterations; inputs cover-cropped, never stretched', async () => {
  // Content 64x24 and style 32x40 at 32x24: covering needs no scaling (factor 1), so the crops are exact pixel
  // copies — content columns 16..47, style rows 8..31 — which the reference takes by hand. Stretching would
  // resample both and change both costs.
  const content = image(64, 24, textured(1));
  const style = image(32, 40, textured(2));
  const crop = (img: RgbImage, x0: number, y0: number) =>
    image(
      32,
      24,
      (x, y) =>
        Array.from(img.data.subarray(((y + y0) * img.width + x + x0) * 3, ((y + y0) * img.width + x + x0) * 3 + 3)) as [
          number,
          number,
          number,
        ],
    );
  const c = exerciseNormalize(crop(content, 16, 0));
  const s = exerciseNormalize(crop(style, 0, 8));
  const start = exerciseStart(c, 11);
  const ref = referenceCosts(start, c, s);
  let first: { iteration: number; total: number; J: number; Jcontent: number; Jstyle: number } | undefined;
  const options = gatys(style, { size: { width: 32, height: 24 }, seed: 11 });
  // No iterations, alpha or beta given: the run's defaults. Stopped once the first iteration has reported.
  await assert.rejects(
    runStylize(content, options, {
      onProgress: (p) => {
        if (p.kind === 'iteration') first ??= p;
      },
      checkCancelled: () => {
        if (first) throw new Error('stop after the first iteration');
      },
    }),
    /stop after the first iteration/,
  );
  assert.ok(first);
  assert.equal(first.total, EXERCISE.iterations);
  const jc = ref.contentAt(EXERCISE.contentLayer);
  const js = EXERCISE.styleLayers.reduce((sum, [layer, w]) => sum + w * ref.styleAt(layer), 0);
  assert.ok(close(first.Jcontent, jc), `J_content ${first.Jcontent} vs ${jc} (content crop, means, noise)`);
  assert.ok(close(first.Jstyle, js), `J_style ${first.Jstyle} vs ${js} (style crop)`);
  // J is reported with its parts (doubles), so the weights can be checked exactly: J = 10·J_content + 80·J_style.
  // (J_style dominates — alpha·J_content is ~1e-5 of J here — so J against the reference alone could not see alpha.)
  const weighted = EXERCISE.alpha * first.Jcontent + EXERCISE.beta * first.Jstyle;
  assert.ok(Math.abs(first.J - weighted) <= 1e-12 * first.J, `J ${first.J} ≠ 10·J_content + 80·J_style = ${weighted}`);
  assert.ok(
    Math.abs(first.J - (EXERCISE.alpha * first.Jcontent + 40 * first.Jstyle)) > 0.1 * first.J,
    "beta 80 (the run's), not total_cost's 40",
  );
  tf.dispose([c, s, start]);
});

test('Adam as the exercise: learning rate 2.0, the first step is lr·g/(|g| + 1e-8), the second uses β 0.9/0.999', () => {
  assert.equal(DEFAULT_GATYS.learningRate, EXERCISE.learningRate);
  const x = tf.variable(tf.zeros([4]));
  const optimizer = gatysOptimizer(DEFAULT_GATYS.learningRate);
  const g1 = [1, -3, 0.5, 0];
  const g2 = [2, 1, -1, 1];
  optimizer.applyGradients([{ name: x.name, tensor: tf.tensor1d(g1) }]);
  const after1 = Array.from(x.dataSync());
  // m̂ = g, v̂ = g²: the step is lr·sign(g) for any gradient well above epsilon, 0 for a zero gradient.
  const expected1 = g1.map((g) => (-EXERCISE.learningRate * g) / (Math.abs(g) + 1e-8));
  // float32 arithmetic: within 1e-4 (a learning rate off by 0.01 would be 100 times that).
  for (const [i, e] of expected1.entries())
    assert.ok(Math.abs((after1[i] as number) - e) < 1e-4, `step 1: ${after1} vs ${expected1}`);
  optimizer.applyGradients([{ name: x.name, tensor: tf.tensor1d(g2) }]);
  const after2 = Array.from(x.dataSync());
  const expected2 = g1.map((a, i) => {
    const b = g2[i] as number;
    const m = (0.9 * 0.1 * a + 0.1 * b) / (1 - 0.9 ** 2);
    const v = (0.999 * 0.001 * a * a + 0.001 * b * b) / (1 - 0.999 ** 2);
    return (expected1[i] as number) - (EXERCISE.learningRate * m) / (Math.sqrt(v) + 1e-8);
  });
  for (const [i, e] of expected2.entries())
    assert.ok(Math.abs((after2[i] as number) - e) < 1e-4, `step 2: ${after2} vs ${expected2}`);
  optimizer.dispose();
  x.dispose();
});

test("one iteration of the run moves the pixels by the learning rate: 2 levels (Adam's first step is lr·sign(g))", async () => {
  const content = image(48, 32, textured(1));
  const style = image(48, 32, textured(2));
  const run = (iterations: number) => runStylize(content, gatys(style, { iterations, seed: 5 }));
  const [before, after] = [await run(0), await run(1)];
  let two = 0;
  let inRange = 0;
  for (let i = 0; i < before.data.length; i++) {
    const b = before.data[i] as number;
    const d = Math.abs((after.data[i] as number) - b);
    if (b < 2 || b > 253) continue; // clipped at 0 or 255
    inRange++;
    assert.ok(d <= 2, `pixel ${i} moved ${d} levels`);
    if (d === 2) two++;
  }
  assert.ok(two >= 0.99 * inRange, `${two} of ${inRange} values moved exactly 2 levels`);
});

test('cover crop: a wide photo keeps its proportions and its centre (scaled to cover, centre-cropped)', async () => {
  // 80x20 → 40x20: stretching would halve the columns; covering scales by 1 (the height) and keeps columns 20..59.
  const wide = image(80, 20, (x, y) => [x * 3, y * 10, 0]);
  const out = await resizeRgb(wide, { width: 40, height: 20 }, 'cover');
  assert.deepEqual([out.width, out.height], [40, 20]);
  for (let y = 0; y < 20; y++)
    for (let x = 0; x < 40; x++) {
      const i = (y * 40 + x) * 3;
      assert.equal(out.data[i], (x + 20) * 3, `column ${x} comes from column ${x + 20}`);
      assert.equal(out.data[i + 1], y * 10);
    }
  // A tall one scaled down by 2 on both axes: rows keep the same factor as columns (no stretch).
  const tall = image(40, 120, (x, y) => [x * 4, y * 2, 0]);
  const t = await resizeRgb(tall, { width: 20, height: 20 }, 'cover');
  const at = (x: number, y: number, ch: number) => t.data[(y * 20 + x) * 3 + ch] as number;
  const dx = (at(15, 10, 0) - at(5, 10, 0)) / 10;
  const dy = (at(10, 15, 1) - at(10, 5, 1)) / 10;
  assert.ok(Math.abs(dx / 4 - dy / 2) < 0.05, `x scale ${dx / 4}, y scale ${dy / 2}`);
  assert.ok(Math.abs(at(10, 10, 1) / 2 - 60) <= 2, `centre row ${at(10, 10, 1) / 2} of 120`);
});
