import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Scalar, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import {
  CONTENT_LAYER,
  contentCost,
  gramMatrix,
  layerStyleCost,
  normalizeImage,
  runGatys,
  STYLE_LAYERS,
  totalCost,
  unroll,
} from '../../../src/nst/gatys/gatys.ts';
import { planBands } from '../../../src/nst/gatys/split/bands.ts';
import { LocalBand, runGatysSplit, SplitObjective } from '../../../src/nst/gatys/split/split.ts';
import { buildVgg } from '../../../src/nst/gatys/vgg.ts';
import { syntheticVggConvs } from '../../../src/nst/gatys/vgg-synthetic.ts';
import { initBackend, tf } from '../../../src/runtime/tf.ts';

before(async () => {
  await initBackend('wasm');
});

const styleNames = STYLE_LAYERS.map(([n]) => n);

function image(width: number, height: number, k: number) {
  const data = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * k + ((i / 3) | 0) * 7) % 256);
  return { data, width, height };
}

test('bands: VGG-19 at 400x300 splits the longer side on the pool grid with an 80-pixel halo', () => {
  const specs = planBands(syntheticVggConvs(16), 300, 400, 2);
  assert.equal(specs.length, 2);
  const [a, b] = specs as [(typeof specs)[0], (typeof specs)[0]];
  assert.equal(a.axis, 2);
  assert.deepEqual([a.start, a.end, b.start, b.end], [0, 288, 128, 400]);
  // Every used layer's positions are kept by exactly one band.
  for (const [name, [, nW]] of Object.entries(a.fullShape)) {
    const [f0, t0] = a.keep[name] as [number, number];
    const [f1, t1] = b.keep[name] as [number, number];
    const scale = 400 / nW > 8 ? 16 : Math.round(400 / nW);
    assert.equal(f0, 0);
    assert.equal(t0, f1 + b.start / scale, name);
    assert.equal(t1 + b.start / scale, nW, name);
  }
});

/** J and dJ/dx of the single-thread formulation (autodiff through vgg.ts and the gatys.ts cost functions). */
function unsplit(convs: ReturnType<typeof syntheticVggConvs>, x: Tensor4D, c: Tensor4D, s: Tensor4D) {
  const vgg = buildVgg(convs);
  const aC = vgg.activations(c, [CONTENT_LAYER]).get(CONTENT_LAYER) as Tensor4D;
  const sActs = vgg.activations(s, styleNames);
  const grams = styleNames.map((n) => gramMatrix(unroll(sActs.get(n) as Tensor4D)));
  const f = (t: Tensor) => {
    const acts = vgg.activations(t as Tensor4D, [CONTENT_LAYER, ...styleNames]);
    let js = tf.scalar(0);
    STYLE_LAYERS.forEach(([n, w], i) => {
      js = tf.add(js, tf.mul(w, layerStyleCost(grams[i] as Tensor2D, acts.get(n) as Tensor4D)));
    });
    return totalCost(contentCost(aC, acts.get(CONTENT_LAYER) as Tensor4D), js as Scalar, 10, 40);
  };
  const { value, grad } = tf.valueAndGrad(f)(x);
  const J = value.dataSync()[0] as number;
  const xActs = vgg.activations(x, styleNames);
  const layerGrams = styleNames.map((n) => gramMatrix(unroll(xActs.get(n) as Tensor4D)).dataSync() as Float32Array);
  vgg.dispose();
  return { J, grad, layerGrams };
}

for (const [width, height] of [
  [64, 48],
  [40, 224],
  [232, 36],
] as const) {
  test(`split J and gradient equal the unsplit ones to 1e-4 (${width}x${height}, tiny VGG)`, async () => {
    const convs = syntheticVggConvs(16, 5);
    const c = normalizeImage(image(width, height, 5));
    const s = normalizeImage(image(width, height, 11));
    const x = tf.tidy(() => tf.add(tf.mul(tf.randomUniform(c.shape, -20, 20, 'float32', 3), 0.6), tf.mul(c, 0.4)));
    const ref = unsplit(convs, x as Tensor4D, c, s);
    const plan = (at?: number, parts = 2) => planBands(convs, height, width, parts, at);
    const runners = plan().map(() => new LocalBand(convs));
    const objective = new SplitObjective(runners, plan, 10, 40, false);
    await objective.setTargets(c, s);
    const scale = tf.max(tf.abs(ref.grad)).dataSync()[0] as number;
    // The default (middle) split, the whole image on one band (the fallback under load), then a split moved
    // off-centre as the load balancer does between iterations.
    for (const at of [undefined, 'single', Math.max(height, width) - 48] as const) {
      if (at === 'single') objective.useSplit(false);
      else if (at !== undefined) {
        objective.useSplit(true);
        objective.moveSplit(at);
      }
      const { cost, gradient } = await objective.costAndGradient(x as Tensor4D);
      assert.ok(Math.abs(cost.J - ref.J) / ref.J < 1e-4, `split at ${at}: J ${cost.J} vs ${ref.J}`);
      // Layer by layer too: the deep layers' share of J is small, so J alone would hide a halo that is too thin.
      ref.layerGrams.forEach((g, i) => {
        const got = objective.lastGrams[i] as Float64Array;
        let worst = 0;
        let size = 0;
        g.forEach((v, k) => {
          worst = Math.max(worst, Math.abs(v - (got[k] as number)));
          size = Math.max(size, Math.abs(v));
        });
        assert.ok(
          size > 0 && worst / size < 1e-4,
          `split at ${at}: ${styleNames[i]} Gram differs by ${worst} of ${size}`,
        );
      });
      const diff = tf.max(tf.abs(tf.sub(gradient, ref.grad))).dataSync()[0] as number;
      assert.ok(scale > 0 && diff / scale < 1e-4, `split at ${at}: gradient differs by ${diff} (max |g| ${scale})`);
      gradient.dispose();
    }
    const specs = objective.bands;
    if (height > 200 || width > 200) {
      assert.ok((specs[1]?.start ?? 0) > 0, 'the halo case must really split');
      assert.notEqual(specs[0]?.end, plan()[0]?.end, 'the split must have moved');
    }
    objective.dispose();
    tf.dispose([c, s, x, ref.grad]);
    for (const r of runners) r.dispose();
  });
}

test('split Gatys with a helper worker follows the single-thread run (J per iteration, final image)', async () => {
  const convs = syntheticVggConvs(16, 7);
  const [width, height] = [40, 208];
  const content = image(width, height, 5);
  const style = image(width, height, 13);
  const start = tf.tidy(() =>
    tf.add(
      tf.mul(tf.randomUniform([1, height, width, 3], -20, 20, 'float32', 9), 0.6),
      tf.mul(normalizeImage(content), 0.4),
    ),
  ) as Tensor4D;
  const opts = { iterations: 3, reportEvery: 1, startImage: start };
  const single: number[] = [];
  const vgg = buildVgg(convs);
  const a = await runGatys(vgg, content, style, opts, { onProgress: (p) => single.push(p.J) });
  vgg.dispose();
  const split: number[] = [];
  const b = await runGatysSplit(convs, content, style, opts, { onProgress: (p) => split.push(p.J) }, { parts: 2 });
  assert.equal(split.length, 3);
  for (const [i, J] of split.entries()) {
    assert.ok(Math.abs(J - (single[i] as number)) / J < 1e-4, `iteration ${i + 1}: ${J} vs ${single[i]}`);
  }

  let worst = 0;
  for (let i = 0; i < a.data.length; i++)
    worst = Math.max(worst, Math.abs((a.data[i] as number) - (b.data[i] as number)));
  assert.ok(worst <= 1, `images differ by up to ${worst}`);
  start.dispose();
});
