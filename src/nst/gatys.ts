/**
 * Gatys et al. style transfer exactly as the exercise: VGG-19 activations, content cost on conv4_2, Gram-matrix
 * style cost on conv1_1..conv5_1 (0.2 each), J = alpha·J_content + beta·J_style, Adam (lr 2.0) on the pixels of
 * a start image made of 60 % uniform noise in [-20, 20] and 40 % content.
 */
import type { Scalar, Tensor, Tensor2D, Tensor4D, Variable } from '@tensorflow/tfjs';
import type { RgbImage } from '../runtime/image.ts';
import { tf } from '../runtime/tf.ts';
import { FacegateError } from '../util/errors.ts';
import type { VggNet } from './vgg.ts';

export const MEANS: readonly [number, number, number] = [123.68, 116.779, 103.939];
/** tfjs types customGrad's callback as variadic; ours take exactly their inputs and the save function. */
type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

export const CONTENT_LAYER = 'conv4_2';
export const STYLE_LAYERS: readonly [string, number][] = [
  ['conv1_1', 0.2],
  ['conv2_1', 0.2],
  ['conv3_1', 0.2],
  ['conv4_1', 0.2],
  ['conv5_1', 0.2],
];

export interface GatysOptions {
  iterations: number;
  alpha: number;
  beta: number;
  learningRate: number;
  noiseRatio: number;
  /** Report (and optionally snapshot) every N iterations. */
  reportEvery: number;
  /** Seed-free by design (the exercise is too); tests pass their own start image when they need determinism. */
  startImage?: Tensor4D;
}

export const DEFAULT_GATYS: GatysOptions = {
  iterations: 200,
  alpha: 10,
  beta: 40,
  learningRate: 2.0,
  noiseRatio: 0.6,
  reportEvery: 20,
};

export interface GatysProgress {
  iteration: number;
  total: number;
  J: number;
  Jcontent: number;
  Jstyle: number;
  /** Split Gatys: how many bands (threads) computed this iteration. */
  bands?: number;
}

/** `sum((a_C - a_G)^2) / (4·nH·nW·nC)`. */
export function contentCost(aC: Tensor4D, aG: Tensor4D): Scalar {
  const [, nH, nW, nC] = aG.shape;
  return tf.tidy(() => tf.div(tf.sum(tf.squaredDifference(aC, aG)), 4 * nH * nW * nC) as Scalar);
}

/**
 * `G = A·Aᵀ` with A the (nC, nH·nW) unrolled activations, i.e. `Bᵀ·B` with B = Aᵀ (the NHWC reshape).
 * Computed as an explicit transpose then a plain matMul: the wasm BatchMatMul with `transposeA` takes a slow
 * path (measured 283 ms for conv1_1 at 400x300, 405 ms for conv3_1) while transpose + matMul takes 45 / 24 ms,
 * which cut ~1.5 s from every Gatys iteration. Custom gradient: dJ/dB = B·(dG + dGᵀ), one untransposed matmul.
 */
export const gramMatrix = tf.customGrad(((b: Tensor, save: (t: Tensor[]) => void) => {
  save([b]);
  return {
    value: tf.tidy(() => tf.matMul(tf.transpose(b as Tensor2D), b as Tensor2D)),
    gradFunc: (dy: Tensor, saved: Tensor[]) =>
      tf.matMul(saved[0] as Tensor2D, tf.add(dy, tf.transpose(dy)) as Tensor2D),
  };
}) as unknown as CustomGradientFunc) as unknown as (b: Tensor2D) => Tensor2D;

export function unroll(a: Tensor4D): Tensor2D {
  const [, nH, nW, nC] = a.shape;
  return tf.reshape(a, [nH * nW, nC]);
}

/** Per layer: `sum((G_S - G_G)^2) / (4·nC²·(nH·nW)²)`, given the style Gram and the generated activations. */
export function layerStyleCost(gS: Tensor2D, aG: Tensor4D): Scalar {
  const [, nH, nW, nC] = aG.shape;
  return tf.tidy(() => {
    const gG = gramMatrix(unroll(aG));
    return tf.div(tf.sum(tf.squaredDifference(gS, gG)), 4 * nC * nC * (nH * nW) ** 2) as Scalar;
  });
}

export function totalCost(jContent: Scalar, jStyle: Scalar, alpha: number, beta: number): Scalar {
  return tf.tidy(() => tf.add(tf.mul(alpha, jContent), tf.mul(beta, jStyle)) as Scalar);
}

/** RGB 0..255 → `[1, H, W, 3]` minus MEANS. */
export function normalizeImage(img: RgbImage): Tensor4D {
  return tf.tidy(
    () =>
      tf.sub(
        tf.tensor4d(img.data, [1, img.height, img.width, 3], 'int32').toFloat(),
        tf.tensor1d([...MEANS]),
      ) as Tensor4D,
  );
}

/** Plus MEANS, clip to 0..255, round to uint8. */
export async function denormalizeImage(t: Tensor4D): Promise<RgbImage> {
  const [, height, width] = t.shape;
  const ints = tf.tidy(() =>
    tf
      .clipByValue(tf.add(t, tf.tensor1d([...MEANS])), 0, 255)
      .round()
      .toInt(),
  );
  const values = await ints.data();
  ints.dispose();
  return { data: Uint8Array.from(values), width, height };
}

export interface GatysHooks {
  onProgress?: (p: GatysProgress) => void;
  onSnapshot?: (iteration: number, image: RgbImage) => Promise<void> | void;
  /** Checked between iterations; throwing stops the run (the job runner throws an AbortError). */
  checkCancelled?: () => void;
}

/** The options in force, after checking what both Gatys paths (one thread, bands) require of their inputs. */
export function gatysOptions(content: RgbImage, style: RgbImage, options: Partial<GatysOptions>): GatysOptions {
  const opts = { ...DEFAULT_GATYS, ...options };
  if (content.width !== style.width || content.height !== style.height) {
    throw new FacegateError(
      `content ${content.width}x${content.height} and style ${style.width}x${style.height} must have the same size`,
    );
  }
  if (!(opts.iterations >= 0) || !Number.isInteger(opts.iterations))
    throw new FacegateError('iterations must be a whole number ≥ 0');
  return opts;
}

/** Runs the optimisation; content and style images must have the same size. */
export async function runGatys(
  vgg: VggNet,
  content: RgbImage,
  style: RgbImage,
  options: Partial<GatysOptions> = {},
  hooks: GatysHooks = {},
): Promise<RgbImage> {
  const opts = gatysOptions(content, style, options);
  const styleNames = STYLE_LAYERS.map(([n]) => n);
  const targets = tf.tidy(() => {
    const c = normalizeImage(content);
    const aC = vgg.activations(c, [CONTENT_LAYER]).get(CONTENT_LAYER) as Tensor4D;
    const acts = vgg.activations(normalizeImage(style), styleNames);
    const grams = styleNames.map((n) => gramMatrix(unroll(acts.get(n) as Tensor4D)));
    const start =
      opts.startImage?.clone() ??
      tf.add(tf.mul(tf.randomUniform(c.shape, -20, 20), opts.noiseRatio), tf.mul(c, 1 - opts.noiseRatio));
    return { aC, grams, start: start as Tensor4D };
  });
  const generated: Variable = tf.variable(targets.start, true);
  targets.start.dispose();
  const optimizer = tf.train.adam(opts.learningRate, 0.9, 0.999, 1e-8);
  const parts = { jc: 0, js: 0 };
  const costOnce = (record: boolean): Scalar => {
    const acts = vgg.activations(generated as unknown as Tensor4D, [CONTENT_LAYER, ...styleNames]);
    const jc = contentCost(targets.aC, acts.get(CONTENT_LAYER) as Tensor4D);
    let js = tf.scalar(0);
    STYLE_LAYERS.forEach(([n, w], i) => {
      js = tf.add(js, tf.mul(w, layerStyleCost(targets.grams[i] as Tensor2D, acts.get(n) as Tensor4D)));
    });
    if (record) {
      // dataSync on scalars only: cheap, and the progress report needs the parts.
      parts.jc = jc.dataSync()[0] as number;
      parts.js = js.dataSync()[0] as number;
    }
    return totalCost(jc, js as Scalar, opts.alpha, opts.beta);
  };
  try {
    for (let i = 1; i <= opts.iterations; i++) {
      hooks.checkCancelled?.();
      const report = i % opts.reportEvery === 0 || i === opts.iterations || i === 1;
      const cost = optimizer.minimize(() => costOnce(report), report, [generated]);
      if (report && cost) {
        const J = (await cost.data())[0] as number;
        cost.dispose();
        hooks.onProgress?.({ iteration: i, total: opts.iterations, J, Jcontent: parts.jc, Jstyle: parts.js });
        if (hooks.onSnapshot && i % opts.reportEvery === 0)
          await hooks.onSnapshot(i, await denormalizeImage(generated as unknown as Tensor4D));
      }
      // Yield so a message port (cancel) or timer can run between iterations.
      await new Promise((r) => setImmediate(r));
    }
    return await denormalizeImage(generated as unknown as Tensor4D);
  } finally {
    optimizer.dispose();
    generated.dispose();
    tf.dispose([targets.aC, ...targets.grams]);
  }
}

/** J of an image without optimising (tests and the benchmark). */
export function evaluateCost(
  vgg: VggNet,
  generated: Tensor4D,
  content: Tensor4D,
  style: Tensor4D,
  alpha = 10,
  beta = 40,
): number {
  return tf.tidy(() => {
    const styleNames = STYLE_LAYERS.map(([n]) => n);
    const aC = vgg.activations(content, [CONTENT_LAYER]).get(CONTENT_LAYER) as Tensor4D;
    const sActs = vgg.activations(style, styleNames);
    const gActs = vgg.activations(generated, [CONTENT_LAYER, ...styleNames]);
    let js = tf.scalar(0);
    for (const [n, w] of STYLE_LAYERS) {
      const gS = gramMatrix(unroll(sActs.get(n) as Tensor4D));
      js = tf.add(js, tf.mul(w, layerStyleCost(gS, gActs.get(n) as Tensor4D)));
    }
    return totalCost(
      contentCost(aC, gActs.get(CONTENT_LAYER) as Tensor4D),
      js as Scalar,
      alpha,
      beta,
    ).dataSync()[0] as number;
  });
}
