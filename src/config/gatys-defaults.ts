/**
 * The constants of Gatys style transfer as the course exercise runs it, in one tf-free module so the CLI's help
 * text and the config schema read the same values as the optimisation (and a test that pins one pins all uses).
 *
 * The exercise's run: `J = total_cost(J_content, J_style, alpha = 10, beta = 80)` — `total_cost`'s own defaults
 * are 10/40, the training cell passes 80 — Adam with learning rate 2.0 (TF1's beta1 0.9, beta2 0.999, epsilon
 * 1e-8), 200 iterations, a start image of 60 % uniform noise in [-20, 20] plus 40 % content, 400x300 images,
 * content cost on conv4_2, style cost on conv1_1..conv5_1 at 0.2 each, and MatConvNet's VGG means subtracted in
 * RGB order (the exercise reads images with scipy, i.e. RGB, and VGG-19.mat was trained on RGB).
 * test/README.md lists the test that pins each of these.
 */

/** MatConvNet's VGG-19 per-channel means, in R, G, B order. */
export const MEANS: readonly [number, number, number] = [123.68, 116.779, 103.939];

export const CONTENT_LAYER = 'conv4_2';

export const STYLE_LAYERS: readonly [string, number][] = [
  ['conv1_1', 0.2],
  ['conv2_1', 0.2],
  ['conv3_1', 0.2],
  ['conv4_1', 0.2],
  ['conv5_1', 0.2],
];

/** `generate_noise_image`: `np.random.uniform(-20, 20, ...)`. */
export const NOISE_RANGE = 20;

/** `tf.train.AdamOptimizer(2.0)`'s other arguments, TF1's defaults. */
export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;

/** The exercise's `total_cost` signature defaults (alpha = 10, beta = 40); its training run uses beta 80. */
export const TOTAL_COST_DEFAULTS = { alpha: 10, beta: 40 } as const;

export interface GatysRunDefaults {
  iterations: number;
  alpha: number;
  beta: number;
  learningRate: number;
  noiseRatio: number;
  /** Report (and optionally snapshot) every N iterations: the exercise prints every 20. */
  reportEvery: number;
}

/** The training run's values (beta 80, not `total_cost`'s 40). */
export const DEFAULT_GATYS: GatysRunDefaults = {
  iterations: 200,
  alpha: 10,
  beta: 80,
  learningRate: 2.0,
  noiseRatio: 0.6,
  reportEvery: 20,
};

/** The exercise's image size; other inputs are scaled to cover it and centre-cropped (gatys-input.ts). */
export const GATYS_DEFAULT_SIZE: { readonly width: number; readonly height: number } = { width: 400, height: 300 };
