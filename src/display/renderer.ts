/**
 * How portraits get painted: the display codes against `PortraitRenderer` (tests use a fake), and
 * `createNstRenderer` adapts the NST job API (src/nst/job.ts), which runs each job in its own worker thread at
 * the lowest OS priority and stops it at once when the signal aborts (the worker is terminated).
 */
import path from 'node:path';
import { vgg19Path } from '../nst/catalog.ts';
import type { JobEvent, JobOptions } from '../nst/job.ts';
import { stylize } from '../nst/job.ts';
import { loadImage, type RgbImage } from '../runtime/image.ts';

export interface RenderRequest {
  method: 'fast' | 'gatys';
  /** Fast: the style's name. Gatys: the style painting's file. */
  style: string;
  /** Output size, pixels (fast: a square; Gatys: the face crop scaled to cover it, centre-cropped). */
  size: { width: number; height: number };
  /** Gatys only. */
  iterations: number;
  /** Gatys only: the cost weights and Adam's learning rate (config `gatysAlpha`, `gatysBeta`, `gatysLearningRate`). */
  gatys?: { alpha: number; beta: number; learningRate: number };
}

export interface RenderControl {
  signal: AbortSignal;
  /** 0..1 as the job advances (Gatys iterations; fast styles may not report). */
  onProgress?: (fraction: number) => void;
}

export interface PortraitRenderer {
  /** Rejects with an AbortError soon after `signal` aborts. */
  render(face: RgbImage, request: RenderRequest, control: RenderControl): Promise<RgbImage>;
}

/** Nice 19: recognition always wins the CPU. */
const LOWEST_PRIORITY = 19;

export interface NstRendererOptions {
  modelsDir: string;
  /** Gatys: the VGG-19 file; default `<modelsDir>/vgg19/imagenet-vgg-verydeep-19.mat`. */
  vggFile?: string;
  /** Nice value of the job's worker thread: 19, the lowest, so recognition always wins the CPU. */
  priority?: number;
}

export function createNstRenderer(opts: NstRendererOptions): PortraitRenderer {
  const styleImages = new Map<string, RgbImage>();
  return {
    async render(face, request, control) {
      const onProgress = (event: JobEvent) => {
        if (event.kind === 'iteration') control.onProgress?.(event.iteration / Math.max(1, event.total));
        else if (event.kind === 'layer') control.onProgress?.(event.index / Math.max(1, event.of));
      };
      if (request.method === 'fast') {
        const priority = opts.priority ?? LOWEST_PRIORITY;
        return stylize(
          face,
          { method: 'fast', style: request.style, modelsDir: opts.modelsDir, size: request.size, priority },
          { signal: control.signal, onProgress },
        );
      }
      let styleImage = styleImages.get(request.style);
      if (!styleImage) {
        styleImage = await loadImage(request.style);
        styleImages.set(request.style, styleImage);
      }
      return stylize(face, gatysJobOptions(request, styleImage, opts), { signal: control.signal, onProgress });
    },
  };
}

/** The NST job a Gatys portrait request becomes: every optimisation setting comes from the request (config). */
export function gatysJobOptions(request: RenderRequest, styleImage: RgbImage, opts: NstRendererOptions): JobOptions {
  return {
    method: 'gatys',
    styleImage,
    vggFile: opts.vggFile ?? vgg19Path(opts.modelsDir),
    modelsDir: opts.modelsDir,
    size: request.size,
    iterations: request.iterations,
    alpha: request.gatys?.alpha,
    beta: request.gatys?.beta,
    learningRate: request.gatys?.learningRate,
    reportEvery: 1,
    priority: opts.priority ?? LOWEST_PRIORITY,
  };
}

/** The caption's style name: a fast style's name, or a Gatys painting's file name without extension. */
export function styleLabel(request: Pick<RenderRequest, 'method' | 'style'>): string {
  return request.method === 'fast'
    ? request.style.replace(/_/g, ' ')
    : path.parse(request.style).name.replace(/[_-]/g, ' ');
}
