/**
 * Gatys et al. style transfer exactly as the exercise: VGG-19 activations, content cost on conv4_2, Gram-matrix
 * style cost on conv1_1..conv5_1 (0.2 each), J = alpha·J_content + beta·J_style (the run: 10 and 80), Adam (lr
 * 2.0) on the pixels of a start image made of 60 % uniform noise in [-20, 20] and 40 % content; the result gets
 * the means back, is clipped to 0..255 and truncated as `astype('uint8')` does. Constants: gatys-defaults.ts.
 */
import type { Scalar, Tensor, Tensor2D, Tensor4D, Variable } from '@tensorflow/tfjs';
import {
  ADAM,
  CONTENT_LAYER,
  DEFAULT_GATYS,
  type GatysRunDefaults,
  MEANS,
  NOISE_RANGE,
  STYLE_LAYERS,
  TOTAL_COST_DEFAULTS,
} from '../../config/gatys-defaults.ts';
import type { RgbImage } from '../../runtime/image.ts';
import { tf } from '../../runtime/tf.ts';
import { FacegateError } from '../../util/errors.ts';
import type { VggNet } from './vgg.ts';

export { CONTENT_LAYER, DEFAULT_GATYS, MEANS, STYLE_LAYERS };

/** tfjs types customGrad's callback as variadic; ours take exactly their inputs and the save function. */
type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

export interface GatysOptions extends GatysRunDefaults {
  /** The start image, instead of noise plus content (tests). */
  startImage?: Tensor4D;
  /** Seed of the start image's noise; unseeded by default, as the exercise's `np.random.uniform`. */
  seed?: number;
}

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

/** The exercise's `total_cost(J_content, J_style, alpha = 10, beta = 40)`; the run passes DEFAULT_GATYS (beta 80). */
export function totalCost(
  jContent: Scalar,
  jStyle: Scalar,
  alpha: number = TOTAL_COST_DEFAULTS.alpha,
  beta: number = TOTAL_COST_DEFAULTS.beta,
): Scalar {
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

/**
 * Plus MEANS, clip to 0..255, then truncate as the exercise's `np.clip(image, 0, 255).astype('uint8')` does
 * (after the clip every value is ≥ 0, so truncation is the floor).
 */
export async function denormalizeImage(t: Tensor4D): Promise<RgbImage> {
  const [, height, width] = t.shape;
  const ints = tf.tidy(() =>
    tf
      .clipByValue(tf.add(t, tf.tensor1d([...MEANS])), 0, 255)
      .floor()
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

/**
 * `generate_noise_image`: uniform noise in [-NOISE_RANGE, NOISE_RANGE] times `noiseRatio`, plus the (normalised)
 * content times `1 - noiseRatio`.
 */
export function noiseStartImage(content: Tensor4D, noiseRatio: number, seed?: number): Tensor4D {
  return tf.tidy(() => {
    const noise = tf.randomUniform(content.shape, -NOISE_RANGE, NOISE_RANGE, 'float32', seed);
    return tf.add(tf.mul(noise, noiseRatio), tf.mul(content, 1 - noiseRatio)) as Tensor4D;
  });
}

/** `tf.train.AdamOptimizer(learning_rate)` with TF1's other defaults. */
export function gatysOptimizer(learningRate: number) {
  return tf.train.adam(learningRate, ADAM.beta1, ADAM.beta2, ADAM.epsilon);
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
  for (const key of ['alpha', 'beta'] as const) {
    if (!(Number.isFinite(opts[key]) && opts[key] >= 0)) throw new FacegateError(`${key} must be a number ≥ 0`);
  }
  if (!(Number.isFinite(opts.learningRate) && opts.learningRate > 0))
    throw new FacegateError('learning rate must be a number > 0');
  if (!(opts.noiseRatio >= 0 && opts.noiseRatio <= 1)) throw new FacegateError('noise ratio must be in 0..1');
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
    const start = opts.startImage?.clone() ?? noiseStartImage(c, opts.noiseRatio, opts.seed);
    return { aC, grams, start };
  });
  const generated: Variable = tf.variable(targets.start, true);
  targets.start.dispose();
  const optimizer = gatysOptimizer(opts.learningRate);
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
  alpha = DEFAULT_GATYS.alpha,
  beta = DEFAULT_GATYS.beta,
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
