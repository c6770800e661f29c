/**
 * The shapes every face pipeline shares (face-api's `tiny`/`ssd` + 68 landmarks, and YuNet + five-point alignment):
 * what `analyse` returns, its options, and the keypoint types. Kept apart from the pipelines so the detectors and
 * the pipelines can import them without importing each other.
 */
import type { RgbImage } from '../runtime/image.ts';
import type { FaceEncoder } from './encoder.ts';

export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

/** Image-left eye, image-right eye, nose tip, image-left mouth corner, image-right mouth corner. */
export type FiveKeypoints = [Point, Point, Point, Point, Point];

/** `yunet` pairs with the five-point encoder (reid-0095); `tiny` and `ssd` with the 68-landmark encoders. */
export type DetectorName = 'yunet' | 'tiny' | 'ssd';

export interface FaceObservation {
  /** In the full-resolution input image's coordinates. */
  box: FaceBox;
  score: number;
  descriptor: Float32Array;
  /** True when the face was only found after padding (a tight crop). */
  padded: boolean;
  /** YuNet's five keypoints in the input image's coordinates (absent with the face-api detectors). */
  keypoints?: FiveKeypoints;
}

export interface AnalyseOptions {
  /** Encode every face found, largest first (default: only the largest). */
  allFaces?: boolean;
  /** The image is already a face crop: skip detection and encode it whole. */
  noDetect?: boolean;
  /** When nothing is found, retry on the image padded with a grey margin (default true; tight crops need it). */
  padRetry?: boolean;
  /** TinyFaceDetector input side for this call's first detection (default: the pipeline's `tinyInputSize`). */
  tinyInputSize?: number;
}

export interface StageTimings {
  detectMs: number;
  /** 68 landmarks + alignment (face-api), or the five-point warp (YuNet). */
  landmarksMs: number;
  encodeMs: number;
}

export interface AnalyseResult {
  faces: FaceObservation[];
  /** Faces detected (before `allFaces` trimming), so an enrollment gate can insist on exactly one. */
  detectedCount: number;
  timings: StageTimings;
}

/** What the CLI, the inference worker and the benchmarks hold: either pipeline. */
export interface FaceAnalysisPipeline {
  readonly backend: string;
  readonly detector: DetectorName;
  readonly encoder: FaceEncoder;
  analyse(image: RgbImage, opts?: AnalyseOptions): Promise<AnalyseResult>;
  dispose(): void;
}
