/**
 * The default face pipeline (issue 17): YuNet finds faces and five keypoints in the full-resolution frame → a
 * similarity transform from the keypoints onto reid-0095's template, warped from the full-resolution frame (not
 * from the detector's scaled copy) → the 256-d embedding, compared by cosine distance. No face-api net is loaded.
 *
 * No padded retry (the face-api pipeline needs one for tight crops): YuNet at 320 px found the face directly in all
 * 57 shared tight crops (40 bbt 150x150, 17 happy-house 96x96), and also 57/57 with a 0.25 or 0.5 grey margin, so a
 * retry would only cost time on frames with nobody in them. `padRetry` and `tinyInputSize` are ignored here.
 */

import { verifiedModelFiles } from '../models/pinned-kind.ts';
import type { RgbImage } from '../runtime/image.ts';
import { type BackendName, initBackend, tf } from '../runtime/tf.ts';
import { FacegateError } from '../util/errors.ts';
import { YunetDetector } from './detect/yunet.ts';
import { alignForReid } from './embed/reid-0095.ts';
import type { FaceEncoder } from './encoder.ts';
import { createEncoder, DEFAULT_ENCODER } from './encoders.ts';
import type {
  AnalyseOptions,
  AnalyseResult,
  FaceAnalysisPipeline,
  FaceObservation,
  StageTimings,
} from './face-types.ts';
import { YUNET_FILE, yunetSpec } from './graph-model-kinds.ts';

export interface YunetPipelineOptions {
  backend?: BackendName;
  /** The frame's longer side is scaled to this many pixels before detection (default 320). */
  yunetInputSize?: number;
  encoder?: string;
  modelsDir?: string;
}

export class YunetPipeline implements FaceAnalysisPipeline {
  readonly detector = 'yunet' as const;

  private constructor(
    readonly backend: string,
    readonly encoder: FaceEncoder,
    private readonly yunet: YunetDetector,
  ) {}

  static async create(opts: YunetPipelineOptions = {}): Promise<YunetPipeline> {
    const modelsDir = opts.modelsDir ?? 'models';
    const encoder = createEncoder(opts.encoder ?? DEFAULT_ENCODER, { modelsDir });
    if (encoder.alignment !== 'five-point') {
      throw new FacegateError(`the yunet detector feeds five-point encoders (reid-0095), not ${encoder.id}`);
    }
    const files = await verifiedModelFiles(modelsDir, yunetSpec);
    const backend = await initBackend(opts.backend ?? 'auto');
    await encoder.load();
    const yunet = await YunetDetector.load(files[YUNET_FILE]!, { inputLongSide: opts.yunetInputSize ?? 320 });
    return new YunetPipeline(backend, encoder, yunet);
  }

  async analyse(image: RgbImage, opts: AnalyseOptions = {}): Promise<AnalyseResult> {
    const timings: StageTimings = { detectMs: 0, landmarksMs: 0, encodeMs: 0 };
    if (opts.noDetect) {
      // A crop given as a face: encoded whole (resized to the encoder's input), without alignment.
      const t0 = performance.now();
      const descriptor = await this.encodeRgb(image);
      timings.encodeMs = performance.now() - t0;
      const box = { x: 0, y: 0, width: image.width, height: image.height };
      return { faces: [{ box, score: 1, descriptor, padded: false }], detectedCount: 1, timings };
    }
    let t0 = performance.now();
    const detections = await this.yunet.detect(image);
    timings.detectMs = performance.now() - t0;
    detections.sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
    const chosen = opts.allFaces ? detections : detections.slice(0, 1);
    const faces: FaceObservation[] = [];
    for (const d of chosen) {
      t0 = performance.now();
      const aligned = alignForReid(image, d.keypoints);
      timings.landmarksMs += performance.now() - t0;
      t0 = performance.now();
      const descriptor = await this.encodeRgb(aligned);
      timings.encodeMs += performance.now() - t0;
      faces.push({ box: d.box, score: d.score, descriptor, padded: false, keypoints: d.keypoints });
    }
    return { faces, detectedCount: detections.length, timings };
  }

  private async encodeRgb(image: RgbImage): Promise<Float32Array> {
    const crop = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
    try {
      return await this.encoder.encode(crop);
    } finally {
      crop.dispose();
    }
  }

  dispose(): void {
    this.yunet.dispose();
    this.encoder.dispose();
  }
}
