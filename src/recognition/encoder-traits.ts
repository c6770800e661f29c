/**
 * What callers must know about an encoder without loading it (no tfjs, no weights): the metric its distances and
 * threshold use, and the alignment it needs (which decides the detector). The door flow, the matcher and the CLI's
 * pipeline choice read this; test/recognition/pipeline-choice.test.ts checks it against the encoders themselves.
 */

import { cosineDistance } from './embed/metric.ts';
import type { DistanceMetric, FaceEncoder } from './encoder.ts';
import { euclidean } from './matching.ts';

/** The default encoder (issue 17): YuNet + five-point alignment + reid-0095, cosine distance. */
export const DEFAULT_ENCODER = 'reid-0095';
/** The face-api pipeline's encoder when none is named, and the fallback when the YuNet/reid models are missing. */
export const FACE_API_DEFAULT_ENCODER = 'dlib-resnet128';

export interface EncoderTraits {
  metric: DistanceMetric;
  /** `five-point`: needs YuNet's keypoints (the yunet detector); `68`: face-api's 68 landmarks (tiny or ssd). */
  landmarks: 'five-point' | '68';
}

const TRAITS: Record<string, EncoderTraits> = {
  'reid-0095': { metric: 'cosine', landmarks: 'five-point' },
  'dlib-resnet128': { metric: 'euclidean', landmarks: '68' },
  'facenet-nn4small2': { metric: 'euclidean', landmarks: '68' },
};

/** Unknown ids (a database from a newer build) are treated as Euclidean, 68-landmark encoders. */
export function encoderTraits(encoderId: string): EncoderTraits {
  return TRAITS[encoderId] ?? { metric: 'euclidean', landmarks: '68' };
}

export function metricOfEncoder(encoderId: string): DistanceMetric {
  return encoderTraits(encoderId).metric;
}

/** The distance between two descriptors of one encoder, in that encoder's metric. */
export function encoderDistance(encoderId: string, a: Float32Array, b: Float32Array): number {
  return metricOfEncoder(encoderId) === 'cosine' ? cosineDistance(a, b) : euclidean(a, b);
}

/** How CLI output and logs name a metric. */
export function metricLabel(metric: DistanceMetric): string {
  return metric === 'cosine' ? 'cosine distance 1-cos' : 'Euclidean distance';
}

/** The traits an encoder declares of itself, to compare with the table above. */
export function declaredTraits(encoder: Pick<FaceEncoder, 'metric' | 'alignment'>): EncoderTraits {
  return {
    metric: encoder.metric ?? 'euclidean',
    landmarks: encoder.alignment === 'five-point' ? 'five-point' : '68',
  };
}
