/**
 * `facenet-nn4small2`: the course exercise's FaceNet as a FaceEncoder. 128-d L2-normalised descriptors compared by
 * Euclidean distance with the exercise's threshold 0.7.
 *
 * Input preparation follows the exercise's `img_to_encoding` (fr_utils.py), which is:
 *     img1 = cv2.imread(path, 1)          # OpenCV decodes to BGR
 *     img = img1[..., ::-1]               # reverses the channel axis: BGR → RGB
 *     img = np.around(np.transpose(img, (2, 0, 1)) / 255.0, decimals=12)
 * so the network is fed RGB/255 (OpenFace trained nn4.small2 on RGB). Our crops arrive as RGB already, so the
 * channel order is kept; `INPUT_CHANNEL_ORDER` is the one switch should the reproduction test ever disagree.
 */
import type * as TF from '@tensorflow/tfjs';
import { initBackend, tf } from '../../runtime/tf.ts';
import { FacegateError } from '../../util/errors.ts';
import type { EncoderOptions, FaceCrop, FaceEncoder } from '../encoder.ts';
import { EMBEDDING_SIZE, INPUT_SIZE } from './architecture.ts';
import { loadFacenetBinary } from './binary.ts';
import { FacenetNetwork } from './network.ts';
import type { WeightTable } from './weight-table.ts';

export const FACENET_ENCODER_ID = 'facenet-nn4small2';
/** The exercise's decision threshold on the Euclidean distance between two encodings. */
export const FACENET_THRESHOLD = 0.7;
/** Channel order the network expects (see the header comment for why this is RGB, not BGR). */
export const INPUT_CHANNEL_ORDER: 'rgb' | 'bgr' = 'rgb';

/**
 * Face crop (RGB 0..255, [h, w, 3], any size) → network input [1, 96, 96, 3] in `INPUT_CHANNEL_ORDER`, /255.
 * Resizing uses half-pixel centres, the convention of OpenCV's and sharp's bilinear resize; 96x96 crops (the
 * exercise's) pass through untouched.
 */
export function preprocessCrop(crop: FaceCrop): TF.Tensor4D {
  if (crop.rank !== 3 || crop.shape[2] !== 3) {
    throw new FacegateError(`FaceNet expects an RGB crop [h, w, 3], got [${crop.shape.join(', ')}]`);
  }
  if (crop.shape[0] < 1 || crop.shape[1] < 1) throw new FacegateError('FaceNet crop is empty');
  return tf.tidy(() => {
    let x: TF.Tensor3D = tf.cast(crop, 'float32');
    if (x.shape[0] !== INPUT_SIZE || x.shape[1] !== INPUT_SIZE) {
      x = tf.image.resizeBilinear(x, [INPUT_SIZE, INPUT_SIZE], false, true);
    }
    if (INPUT_CHANNEL_ORDER === 'bgr') x = tf.reverse(x, -1);
    return tf.expandDims(tf.div(x, 255), 0) as TF.Tensor4D;
  });
}

export interface FacenetEncoderOptions extends EncoderOptions {
  /** Where the weights come from; default: the imported binary under `modelsDir`. Tests pass a CSV table. */
  weights?: () => Promise<WeightTable>;
}

class FacenetNn4Small2 implements FaceEncoder {
  readonly id = FACENET_ENCODER_ID;
  readonly dimension = EMBEDDING_SIZE;
  readonly defaultThreshold = FACENET_THRESHOLD;
  readonly cropSize = INPUT_SIZE;
  /** OpenFace's alignment, which nn4.small2 was trained on (96x96, inner eyes and bottom lip on its template). */
  readonly alignment = 'openface';
  readonly #source: () => Promise<WeightTable>;
  #network: Promise<FacenetNetwork> | undefined;

  constructor(opts: FacenetEncoderOptions) {
    this.#source = opts.weights ?? (() => loadFacenetBinary(opts.modelsDir));
  }

  #ensure(): Promise<FacenetNetwork> {
    if (!this.#network) {
      const loading = (async () => {
        await initBackend();
        return FacenetNetwork.fromWeights(await this.#source());
      })();
      // A failed load (weights not imported yet) must not stick: the next call tries again.
      loading.catch(() => {
        if (this.#network === loading) this.#network = undefined;
      });
      this.#network = loading;
    }
    return this.#network;
  }

  async load(): Promise<void> {
    await this.#ensure();
  }

  async encode(faceCrop: FaceCrop): Promise<Float32Array> {
    const network = await this.#ensure();
    const input = preprocessCrop(faceCrop);
    let output: TF.Tensor2D | undefined;
    try {
      output = network.forward(input);
      const values = await output.data();
      return Float32Array.from(values);
    } finally {
      tf.dispose([input, ...(output ? [output] : [])]);
    }
  }

  dispose(): void {
    const network = this.#network;
    this.#network = undefined;
    network?.then((n) => n.dispose()).catch(() => undefined);
  }
}

export function createFacenetNn4Small2(opts: FacenetEncoderOptions): FaceEncoder {
  return new FacenetNn4Small2(opts);
}
