/**
 * The face-api pipeline (`tiny` or `ssd` detector): detect → pick the largest face (or all) → 68 landmarks → aligned
 * crop → a 68-landmark encoder (dlib-resnet128, facenet-nn4small2). The default YuNet + reid-0095 pipeline is
 * yunet-pipeline.ts; create-pipeline.ts picks one.
 * Tight crops (a 96x96 face photo) give the detectors no context, so when nothing is found the image is padded
 * with a grey margin and searched again. "No face" is a result (an empty list), not an error.
 */
import type * as TF from '@tensorflow/tfjs';
import type { RgbImage } from '../runtime/image.ts';
import { type BackendName, initBackend, tf } from '../runtime/tf.ts';
import { FacegateError } from '../util/errors.ts';
import { alignOpenFace } from './align-openface.ts';
import type { FaceEncoder } from './encoder.ts';
import { createEncoder, FACE_API_DEFAULT_ENCODER } from './encoders.ts';
import { type FaceApiModule, loadFaceApiNets } from './face-api-models.ts';
import type {
  AnalyseOptions,
  AnalyseResult,
  DetectorName,
  FaceAnalysisPipeline,
  FaceObservation,
  StageTimings,
} from './face-types.ts';

export type {
  AnalyseOptions,
  AnalyseResult,
  DetectorName,
  FaceAnalysisPipeline,
  FaceBox,
  FaceObservation,
  FiveKeypoints,
  StageTimings,
} from './face-types.ts';

export interface PipelineOptions {
  backend?: BackendName;
  detector?: DetectorName;
  /** YuNet: the frame's longer side is scaled to this many pixels before detection (default 320). */
  yunetInputSize?: number;
  /** TinyFaceDetector input side (multiple of 32): smaller is faster, larger finds smaller faces. */
  tinyInputSize?: number;
  /** Detections scoring below this are ignored. */
  minScore?: number;
  encoder?: string;
  modelsDir?: string;
}

const PAD_GREY = 128;
/**
 * Retries for images with no face found: grey margin per side (fraction of the image) and detector input size.
 * Measured on the 57 shared tight crops: each try alone finds 55-56 of them, the three together find all.
 */
const PADDED_TRIES: ReadonlyArray<{ pad: number; tinyInputSize: number }> = [
  { pad: 0.5, tinyInputSize: 224 },
  { pad: 0.5, tinyInputSize: 320 },
  { pad: 1, tinyInputSize: 416 },
];

export class FacePipeline implements FaceAnalysisPipeline {
  readonly backend: string;
  readonly encoder: FaceEncoder;
  readonly detector: 'tiny' | 'ssd';
  private readonly api: FaceApiModule;
  private readonly detectorOptions:
    | InstanceType<FaceApiModule['TinyFaceDetectorOptions']>
    | InstanceType<FaceApiModule['SsdMobilenetv1Options']>;

  private constructor(backend: string, api: FaceApiModule, encoder: FaceEncoder, opts: PipelineOptions) {
    this.backend = backend;
    this.api = api;
    this.encoder = encoder;
    this.detector = opts.detector === 'ssd' ? 'ssd' : 'tiny';
    const minConfidence = opts.minScore ?? 0.5;
    this.detectorOptions =
      this.detector === 'tiny'
        ? new api.TinyFaceDetectorOptions({ inputSize: opts.tinyInputSize ?? 416, scoreThreshold: minConfidence })
        : new api.SsdMobilenetv1Options({ minConfidence });
  }

  static async create(opts: PipelineOptions = {}): Promise<FacePipeline> {
    if (opts.detector === 'yunet') throw new FacegateError('the face-api pipeline runs the tiny or ssd detector');
    const encoder = createEncoder(opts.encoder ?? FACE_API_DEFAULT_ENCODER, { modelsDir: opts.modelsDir ?? 'models' });
    if (encoder.alignment === 'five-point') {
      throw new FacegateError(`encoder ${encoder.id} needs the yunet detector's five keypoints, not tiny or ssd`);
    }
    const backend = await initBackend(opts.backend ?? 'auto');
    const detectorNet = opts.detector === 'ssd' ? 'ssdMobilenetv1' : 'tinyFaceDetector';
    const api = await loadFaceApiNets([detectorNet, 'faceLandmark68Net']);
    await encoder.load();
    return new FacePipeline(backend, api, encoder, opts);
  }

  async analyse(image: RgbImage, opts: AnalyseOptions = {}): Promise<AnalyseResult> {
    const timings: StageTimings = { detectMs: 0, landmarksMs: 0, encodeMs: 0 };
    const input = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
    try {
      if (opts.noDetect) {
        const t0 = performance.now();
        const descriptor = await this.encoder.encode(input);
        timings.encodeMs = performance.now() - t0;
        const box = { x: 0, y: 0, width: image.width, height: image.height };
        return { faces: [{ box, score: 1, descriptor, padded: false }], detectedCount: 1, timings };
      }
      let t0 = performance.now();
      let work: TF.Tensor3D = input;
      let offset = { x: 0, y: 0 };
      let detections = await this.detect(work, opts.tinyInputSize);
      for (const attempt of opts.padRetry === false ? [] : PADDED_TRIES) {
        if (detections.length > 0) break;
        if (work !== input) work.dispose();
        const padX = Math.round(image.width * attempt.pad);
        const padY = Math.round(image.height * attempt.pad);
        work = tf.pad(
          input,
          [
            [padY, padY],
            [padX, padX],
            [0, 0],
          ],
          PAD_GREY,
        ) as TF.Tensor3D;
        offset = { x: padX, y: padY };
        detections = await this.detect(work, attempt.tinyInputSize);
      }
      timings.detectMs = performance.now() - t0;
      detections.sort((a, b) => b.box.area - a.box.area);
      const chosen = opts.allFaces ? detections : detections.slice(0, 1);
      const faces: FaceObservation[] = [];
      for (const detection of chosen) {
        t0 = performance.now();
        const [faceTensor] = await this.api.extractFaceTensors(work as never, [detection]);
        const landmarks = (await this.api.nets.faceLandmark68Net.detectLandmarks(faceTensor as never)) as InstanceType<
          FaceApiModule['FaceLandmarks68']
        >;
        faceTensor!.dispose();
        const crop = await this.alignedCrop(work, landmarks.shiftBy(detection.box.x, detection.box.y));
        timings.landmarksMs += performance.now() - t0;
        t0 = performance.now();
        const descriptor = await this.encoder.encode(crop);
        crop.dispose();
        timings.encodeMs += performance.now() - t0;
        const b = detection.box;
        faces.push({
          box: { x: b.x - offset.x, y: b.y - offset.y, width: b.width, height: b.height },
          score: detection.score,
          descriptor,
          padded: work !== input,
        });
      }
      if (work !== input) work.dispose();
      return { faces, detectedCount: detections.length, timings };
    } finally {
      input.dispose();
    }
  }

  /** The encoder's alignment: OpenFace's affine warp for nn4.small2, else face-api's dlib-style box. */
  private async alignedCrop(
    work: TF.Tensor3D,
    landmarks: InstanceType<FaceApiModule['FaceLandmarks68']>,
  ): Promise<TF.Tensor3D> {
    if (this.encoder.alignment === 'openface') return alignOpenFace(work, landmarks.positions, this.encoder.cropSize);
    // Same alignment as face-api's withFaceDescriptors(): dlib-style box from the shifted landmarks.
    const aligned = landmarks.align(null, { useDlibAlignment: true });
    const [crop] = await this.api.extractFaceTensors(work as never, [aligned]);
    return crop as unknown as TF.Tensor3D;
  }

  private async detect(image: TF.Tensor3D, tinyInputSize?: number) {
    if (this.detector === 'tiny') {
      const base = this.detectorOptions as InstanceType<FaceApiModule['TinyFaceDetectorOptions']>;
      const options = tinyInputSize
        ? new this.api.TinyFaceDetectorOptions({ inputSize: tinyInputSize, scoreThreshold: base.scoreThreshold })
        : base;
      return this.api.nets.tinyFaceDetector.locateFaces(image as never, options);
    }
    return this.api.nets.ssdMobilenetv1.locateFaces(
      image as never,
      this.detectorOptions as InstanceType<FaceApiModule['SsdMobilenetv1Options']>,
    );
  }

  dispose(): void {
    this.encoder.dispose();
  }
}
