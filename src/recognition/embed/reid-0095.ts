/**
 * `reid-0095`: OpenVINO face-reidentification-retail-0095 (MobileNetV2-like, 1.1 M parameters, Apache-2.0) as a
 * face encoder. Input: the face aligned by a similarity transform from YuNet's five keypoints onto the model card's
 * template x 128, warped from the full-resolution frame, BGR float 0..255 (mean/scale are inside the graph);
 * output: 256 values, L2-normalised here, compared by cosine distance `1 - cos`.
 * Default threshold 0.60 (strict option 0.55), from issue 17's measurement on the shared sets.
 */
import type * as TF from '@tensorflow/tfjs';
import { verifiedModelFiles } from '../../models/pinned-kind.ts';
import { type GraphModel, loadIrModel } from '../../runtime/graph/executor.ts';
import type { RgbImage } from '../../runtime/image.ts';
import { tf } from '../../runtime/tf.ts';
import type { FiveKeypoints, Point } from '../detect/yunet.ts';
import type { EncoderFactory, EncoderOptions, FaceCrop, FaceEncoder } from '../encoder.ts';
import { faceReidSpec, REID_BIN, REID_XML } from '../graph-model-kinds.ts';
import { type Similarity, similarityTransform, warpSimilarity } from './align.ts';
import { l2Normalise } from './metric.ts';

export const REID_ID = 'reid-0095';
export const REID_SIZE = 128;
export const REID_DIMENSION = 256;
export const REID_THRESHOLD = 0.6;
export const REID_STRICT_THRESHOLD = 0.55;

/** Model card template: left eye, right eye, nose tip, left and right mouth corners, as fractions of the side. */
export const REID_TEMPLATE: readonly Point[] = [
  { x: 0.31556875, y: 0.46157411 },
  { x: 0.68262292, y: 0.46157411 },
  { x: 0.5002625, y: 0.64050536 },
  { x: 0.34947188, y: 0.82469196 },
  { x: 0.65343646, y: 0.82469196 },
];

/** The similarity transform taking a detection's keypoints onto the template x 128. */
export function reidAlignment(keypoints: FiveKeypoints): Similarity {
  return similarityTransform(
    keypoints,
    REID_TEMPLATE.map((p) => ({ x: p.x * REID_SIZE, y: p.y * REID_SIZE })),
  );
}

/** The aligned 128x128 RGB face, cut from the full-resolution frame the keypoints refer to. */
export function alignForReid(frame: RgbImage, keypoints: FiveKeypoints): RgbImage {
  return warpSimilarity(frame, reidAlignment(keypoints), REID_SIZE);
}

export class Reid0095 {
  private readonly model: GraphModel;

  private constructor(model: GraphModel) {
    this.model = model;
  }

  static async load(xmlFile: string, binFile?: string): Promise<Reid0095> {
    return new Reid0095(await loadIrModel(xmlFile, binFile));
  }

  /** The L2-normalised embedding of an aligned RGB crop ([H, W, 3], 0..255; resized to 128 if needed). */
  async embed(crop: FaceCrop): Promise<Float32Array> {
    const input = tf.tidy(() => {
      let x = tf.cast(crop, 'float32') as TF.Tensor3D;
      if (x.shape[0] !== REID_SIZE || x.shape[1] !== REID_SIZE) {
        x = tf.image.resizeBilinear(x, [REID_SIZE, REID_SIZE], false, true);
      }
      return tf.expandDims(tf.reverse(x, -1), 0);
    });
    let out: Record<string, TF.Tensor>;
    try {
      out = this.model.run({ [this.model.inputs[0]!.name]: input });
    } finally {
      input.dispose();
    }
    const t = out[this.model.outputs[0]!]!;
    try {
      return l2Normalise(Float32Array.from(await t.data()));
    } finally {
      t.dispose();
    }
  }

  /** Aligns the face from the full frame and embeds it. */
  async embedFace(frame: RgbImage, keypoints: FiveKeypoints): Promise<Float32Array> {
    const aligned = alignForReid(frame, keypoints);
    const crop = tf.tensor3d(aligned.data, [REID_SIZE, REID_SIZE, 3], 'int32');
    try {
      return await this.embed(crop);
    } finally {
      crop.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}

/**
 * The FaceEncoder for the encoder registry. `encode` takes a crop already aligned by `alignForReid` (the yunet
 * pipeline calls `embedFace` with the full frame instead). Weights come from `<models dir>/face-reid-0095/`,
 * sha256-checked.
 */
export const createReid0095: EncoderFactory = (opts: EncoderOptions): FaceEncoder => {
  let net: Reid0095 | undefined;
  return {
    id: REID_ID,
    dimension: REID_DIMENSION,
    metric: 'cosine',
    defaultThreshold: REID_THRESHOLD,
    cropSize: REID_SIZE,
    alignment: 'five-point',
    async load() {
      if (net) return;
      const files = await verifiedModelFiles(opts.modelsDir, faceReidSpec);
      net = await Reid0095.load(files[REID_XML]!, files[REID_BIN]!);
    },
    async encode(faceCrop: FaceCrop): Promise<Float32Array> {
      if (!net) await this.load();
      return net!.embed(faceCrop);
    },
    dispose() {
      net?.dispose();
      net = undefined;
    },
  };
};
