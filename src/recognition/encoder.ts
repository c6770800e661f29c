/**
 * Face encoders turn an aligned face crop into a fixed-length descriptor. They are pluggable: the database
 * records which encoder produced each vector and never compares vectors of different encoders.
 */
import type * as TF from '@tensorflow/tfjs';

/**
 * An aligned face crop: RGB, values 0..255 (float32 or int32), shape [height, width, 3], any size — each encoder
 * resizes to its own input. Kept as a tensor so the pipeline does not round-trip pixels through JS arrays.
 */
export type FaceCrop = TF.Tensor3D;

/** How descriptors are compared: raw Euclidean distance, or cosine distance `1 - cos` (see embed/metric.ts). */
export type DistanceMetric = 'euclidean' | 'cosine';

export interface FaceEncoder {
  /** Stable id stored with every encoding, e.g. `dlib-resnet128`, `facenet-nn4small2`. */
  readonly id: string;
  readonly dimension: number;
  /** The metric of `defaultThreshold` and of every distance between this encoder's descriptors; absent = Euclidean. */
  readonly metric?: DistanceMetric;
  /** Distance (in `metric`) below which two descriptors are the same person, for this encoder. */
  readonly defaultThreshold: number;
  /** Side of the square crop the pipeline should cut for this encoder (before its own resize). */
  readonly cropSize: number;
  /**
   * How the pipeline aligns the face before encoding: face-api's dlib-style box (default), or OpenFace's affine
   * alignment on the inner eyes and bottom lip to a `cropSize` square (src/recognition/align-openface.ts), or a
   * similarity transform from YuNet's five keypoints (reid-0095: only the yunet pipeline can feed it).
   */
  readonly alignment?: 'dlib' | 'openface' | 'five-point';
  /** Loads weights; safe to call more than once. */
  load(): Promise<void>;
  /** The caller keeps ownership of `faceCrop` and disposes it. */
  encode(faceCrop: FaceCrop): Promise<Float32Array>;
  dispose(): void;
}

export interface EncoderOptions {
  modelsDir: string;
}

export type EncoderFactory = (opts: EncoderOptions) => FaceEncoder;
