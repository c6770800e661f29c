/**
 * One entry point for both methods, used in-process by the CLI and inside the job worker: options in, image out,
 * progress through hooks. Weights are cached per thread so a worker that renders many portraits loads them once.
 */
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { DEFAULT_GATYS, GATYS_DEFAULT_SIZE } from '../config/gatys-defaults.ts';
import type { RgbImage } from '../runtime/image.ts';
import { type BackendName, initBackend } from '../runtime/tf.ts';
import { FacegateError } from '../util/errors.ts';
import { buildFastStyleNet, type FastStyleNet, stylizeFast } from './fast/net.ts';
import { type FastParts, runFastSplit, warmFastHelper } from './fast/split.ts';
import { loadStyleByName } from './fast/style-kind.ts';
import type { FastStyleWeights } from './fast/weights.ts';
import type { GatysProgress } from './gatys/gatys.ts';
import { runGatysSplit } from './gatys/split/split.ts';
import { loadVgg19, type VggConv } from './gatys/vgg.ts';

export interface StylizeOptions {
  method: 'fast' | 'gatys';
  /** Fast: style name or style directory. */
  style?: string;
  /** Gatys: the style painting. */
  styleImage?: RgbImage;
  modelsDir: string;
  /** Gatys: path of imagenet-vgg-verydeep-19.mat. */
  vggFile?: string;
  /** Output size; fast keeps the content's size when absent, Gatys uses 400x300. */
  size?: { width: number; height: number };
  /** Gatys: unset ones take the exercise's run values (DEFAULT_GATYS in gatys-defaults.ts). */
  iterations?: number;
  alpha?: number;
  beta?: number;
  learningRate?: number;
  /** Gatys: seed of the start image's noise (unseeded when absent). */
  seed?: number;
  reportEvery?: number;
  backend?: BackendName;
  /** Gatys: bands processed in parallel (2 = this thread plus a helper worker); default 2 on 2+ cores. */
  gatysParts?: number;
  /** Fast: 1 = this thread, 2 = two bands (this thread plus a helper worker), 'auto' (default) = two bands
   * unless other processes keep the second core busy. */
  fastParts?: FastParts;
}

export type StylizeProgress =
  | { kind: 'loading'; what: string }
  | { kind: 'layer'; index: number; of: number }
  | ({ kind: 'iteration' } & GatysProgress);

export interface EngineHooks {
  onProgress?: (p: StylizeProgress) => void;
  onSnapshot?: (iteration: number, image: RgbImage) => Promise<void> | void;
  checkCancelled?: () => void;
}

export { GATYS_DEFAULT_SIZE };

export function parseSize(text: string): { width: number; height: number } {
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(text);
  const width = Number(m?.[1]);
  const height = Number(m?.[2]);
  if (!m || width < 4 || height < 4 || width * height > 16_000_000) {
    throw new FacegateError(`invalid size "${text}" (expected WIDTHxHEIGHT, e.g. 400x300, each at least 4)`);
  }
  return { width, height };
}

/**
 * `fill` stretches to the size; `cover` (Gatys) scales both axes by the same factor to cover the size and cuts the
 * overflow equally from both sides, so nothing is distorted and the centre (a portrait's face) stays the centre.
 */
export async function resizeRgb(
  img: RgbImage,
  size: { width: number; height: number },
  fit: 'fill' | 'cover' = 'fill',
): Promise<RgbImage> {
  if (img.width === size.width && img.height === size.height) return img;
  const { data, info } = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .resize(size.width, size.height, { fit, position: 'centre' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
  };
}

/** The resident style: its tensors and its raw weights (the helper thread of the band split gets a copy). */
let fastCache: { key: string; net: FastStyleNet; weights: FastStyleWeights } | undefined;
/** Raw weights, not tensors: split Gatys builds its bands from them (and sends a copy to its helper worker). */
let vggCache: { file: string; convs: VggConv[] } | undefined;

async function fastNet(modelsDir: string, style: string): Promise<NonNullable<typeof fastCache>> {
  const key = `${modelsDir}\0${style}`;
  if (fastCache?.key !== key) {
    // One style resident at a time: each is ~7 MB of tensors, and the kiosk switches rarely.
    fastCache?.net.dispose();
    fastCache = undefined;
    const weights = await loadStyleByName(modelsDir, style);
    fastCache = { key, net: buildFastStyleNet(weights), weights };
  }
  return fastCache;
}

async function vggConvs(file: string): Promise<VggConv[]> {
  if (vggCache?.file !== file) vggCache = { file, convs: await loadVgg19(file) };
  return vggCache.convs;
}

export async function runStylize(
  content: RgbImage,
  options: StylizeOptions,
  hooks: EngineHooks = {},
): Promise<RgbImage> {
  const parts = options.fastParts ?? 'auto';
  const backend = await initBackend(options.backend ?? 'auto');
  if (options.method === 'fast') {
    if (!options.style) throw new FacegateError('fast style transfer needs --style <name>');
    // The helper thread loads tfjs while this one loads the weights and resizes the image.
    if (parts !== 1) warmFastHelper(backend);
    hooks.onProgress?.({ kind: 'loading', what: `style ${options.style}` });
    const { net, weights, key } = await fastNet(options.modelsDir, options.style);
    const input = options.size ? await resizeRgb(content, options.size) : content;
    if (input.width < 4 || input.height < 4)
      throw new FacegateError(`image ${input.width}x${input.height} is too small (at least 4x4)`);
    const onLayer = (index: number) => {
      hooks.checkCancelled?.();
      hooks.onProgress?.({ kind: 'layer', index, of: 9 });
    };
    return stylizeFast(net, input, onLayer, async (x, hook) => {
      const r = await runFastSplit({ net, weights, key, parts, backend }, x, hook);
      return r.output;
    });
  }
  if (!options.styleImage) throw new FacegateError('gatys style transfer needs --style-image <image>');
  if (!options.vggFile) throw new FacegateError('gatys style transfer needs the VGG-19 weights (--vgg <file>)');
  hooks.onProgress?.({ kind: 'loading', what: 'VGG-19' });
  const convs = await vggConvs(options.vggFile);
  const size = options.size ?? GATYS_DEFAULT_SIZE;
  return runGatysSplit(
    convs,
    await resizeRgb(content, size, 'cover'),
    await resizeRgb(options.styleImage, size, 'cover'),
    {
      iterations: options.iterations ?? DEFAULT_GATYS.iterations,
      alpha: options.alpha ?? DEFAULT_GATYS.alpha,
      beta: options.beta ?? DEFAULT_GATYS.beta,
      learningRate: options.learningRate ?? DEFAULT_GATYS.learningRate,
      reportEvery: options.reportEvery ?? DEFAULT_GATYS.reportEvery,
      seed: options.seed,
    },
    {
      onProgress: (p) => hooks.onProgress?.({ kind: 'iteration', ...p }),
      onSnapshot: hooks.onSnapshot,
      checkCancelled: hooks.checkCancelled,
    },
    { parts: options.gatysParts ?? (availableParallelism() >= 2 ? 2 : 1) },
  );
}
