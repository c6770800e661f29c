/**
 * Passive presentation-attack detection with MiniFASNetV2 (crop scale 2.7) and MiniFASNetV1SE (crop scale 4.0),
 * fed exactly as the original Silent-Face-Anti-Spoofing project (src/generate_patches.py CropImage, test.py):
 * the detector's face box scaled about its centre by the model's scale — reduced when the scaled box would not fit
 * the frame, then shifted inside it — cut from the whole frame, resized to 80x80 (cv2.resize bilinear), BGR float
 * 0..255 NCHW; softmax over 3 classes, class 1 = real. Fused score = mean of the two models' P(real) (the original
 * sums both softmax vectors and halves class 1). A tight face crop with no surroundings is outside what the
 * networks were trained on: do not score `--no-detect` crops.
 */
import type * as TF from '@tensorflow/tfjs';
import { type GraphModel, loadOnnxModel } from '../../runtime/graph/executor.ts';
import type { RgbImage } from '../../runtime/image.ts';
import { type PixelRect, resizeRgbRegion } from '../../runtime/rgb-resize.ts';
import { tf } from '../../runtime/tf.ts';
import type { FaceBox } from '../pipeline.ts';

export const MINIFAS_SIZE = 80;
export const MINIFAS_V2_SCALE = 2.7;
export const MINIFAS_V1SE_SCALE = 4.0;
export const PAD_THRESHOLD = 0.5;
const REAL_CLASS = 1;

/**
 * The original's `_get_new_box`: the crop, as an inclusive integer rectangle, for a face box `[x, y, w, h]` in a
 * `frameW` x `frameH` frame. The scale shrinks to min((H-1)/h, (W-1)/w) when needed; a box crossing an edge is
 * shifted back inside; coordinates are truncated to integers as Python's int().
 */
export function padCropRect(frameW: number, frameH: number, box: FaceBox, scale: number): PixelRect {
  if (!(box.width > 0 && box.height > 0)) throw new Error('face box has no area');
  const s = Math.min((frameH - 1) / box.height, (frameW - 1) / box.width, scale);
  const newW = box.width * s;
  const newH = box.height * s;
  const cx = box.width / 2 + box.x;
  const cy = box.height / 2 + box.y;
  let left = cx - newW / 2;
  let top = cy - newH / 2;
  let right = cx + newW / 2;
  let bottom = cy + newH / 2;
  if (left < 0) {
    right -= left;
    left = 0;
  }
  if (top < 0) {
    bottom -= top;
    top = 0;
  }
  if (right > frameW - 1) {
    left -= right - frameW + 1;
    right = frameW - 1;
  }
  if (bottom > frameH - 1) {
    top -= bottom - frameH + 1;
    bottom = frameH - 1;
  }
  // int() truncates toward zero; float error can leave -1e-13 after a shift, which is 0 for int() too.
  return { left: Math.trunc(left), top: Math.trunc(top), right: Math.trunc(right), bottom: Math.trunc(bottom) };
}

/** The 80x80 RGB patch a MiniFASNet of crop scale `scale` sees for this face. */
export function minifasPatch(frame: RgbImage, box: FaceBox, scale: number): RgbImage {
  return resizeRgbRegion(frame, padCropRect(frame.width, frame.height, box, scale), MINIFAS_SIZE, MINIFAS_SIZE);
}

export function softmax(logits: ArrayLike<number>): number[] {
  const max = Math.max(...Array.from(logits));
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

export interface PadScore {
  /** Mean P(real) of the two networks, 0..1. */
  score: number;
  /** P(real) of MiniFASNetV2 (2.7) and MiniFASNetV1SE (4.0). */
  perModel: [number, number];
}

export class MiniFasNet {
  private readonly nets: [{ model: GraphModel; scale: number }, { model: GraphModel; scale: number }];

  private constructor(v2: GraphModel, v1se: GraphModel) {
    this.nets = [
      { model: v2, scale: MINIFAS_V2_SCALE },
      { model: v1se, scale: MINIFAS_V1SE_SCALE },
    ];
  }

  static async load(v2File: string, v1seFile: string): Promise<MiniFasNet> {
    const v2 = await loadOnnxModel(v2File);
    try {
      return new MiniFasNet(v2, await loadOnnxModel(v1seFile));
    } catch (err) {
      v2.dispose();
      throw err;
    }
  }

  /** Raw logits of one network for an 80x80 RGB patch. */
  async logits(which: 0 | 1, patch: RgbImage): Promise<Float32Array> {
    const { model } = this.nets[which];
    const input = tf.tidy(() =>
      tf.expandDims(tf.reverse(tf.tensor3d(patch.data, [patch.height, patch.width, 3], 'float32'), -1), 0),
    );
    let out: Record<string, TF.Tensor>;
    try {
      out = model.run({ [model.inputs[0]!.name]: input });
    } finally {
      input.dispose();
    }
    const t = out[model.outputs[0]!]!;
    try {
      return Float32Array.from(await t.data());
    } finally {
      t.dispose();
    }
  }

  /** Scores the face `box` (full-frame coordinates from the detector) in `frame`. */
  async score(frame: RgbImage, box: FaceBox): Promise<PadScore> {
    const perModel: number[] = [];
    for (const [i, net] of this.nets.entries()) {
      const p = softmax(await this.logits(i as 0 | 1, minifasPatch(frame, box, net.scale)));
      perModel.push(p[REAL_CLASS]!);
    }
    const [a, b] = perModel as [number, number];
    return { score: (a + b) / 2, perModel: [a, b] };
  }

  dispose(): void {
    for (const n of this.nets) n.model.dispose();
  }
}
