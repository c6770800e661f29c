/**
 * The enrollment quality gate: a stored encoding is only as good as the photo it came from, so enrollment
 * samples must show exactly one face (unless the caller chose the largest explicitly), big enough and detected
 * with confidence. Rejections say why, in a word a script can match and a person can read.
 */
import type { StoredEncoding } from '../store/schema.ts';
import type { AnalyseResult } from './pipeline.ts';

/** The outcome of checking one enrollment image or camera sample against the quality gate. */
export interface EnrollSampleResult {
  accepted: boolean;
  /** Why it was rejected: `no-face`, `several-faces`, `face-too-small`, `low-score`, `not-an-image: ...`. */
  reason: string | null;
  encoding: StoredEncoding | null;
}

export interface QualityGate {
  /** Smallest accepted face box side, in pixels of the input image. */
  minFaceSize: number;
  /** Smallest accepted detector score (0..1). */
  minScore: number;
  /** Accept images with several faces by taking the largest (an explicit choice, e.g. `--largest`). */
  allowMultiple?: boolean;
}

// TinyFaceDetector boxes are tight (brows to chin): the 96x96 exercise crops give 36-79 px boxes.
export const DEFAULT_QUALITY_GATE: QualityGate = { minFaceSize: 32, minScore: 0.5 };

export function checkEnrollmentSample(
  result: AnalyseResult,
  gate: QualityGate,
  source: string,
  encoderId: string,
  now: Date = new Date(),
): EnrollSampleResult {
  const reject = (reason: string): EnrollSampleResult => ({ accepted: false, reason, encoding: null });
  const face = result.faces[0];
  if (!face || result.detectedCount === 0) return reject('no-face');
  if (result.detectedCount > 1 && !gate.allowMultiple) return reject('several-faces');
  const faceSize = Math.min(face.box.width, face.box.height);
  if (faceSize < gate.minFaceSize) return reject('face-too-small');
  if (face.score < gate.minScore) return reject('low-score');
  return {
    accepted: true,
    reason: null,
    encoding: {
      vector: Array.from(face.descriptor),
      encoder: encoderId,
      createdAt: now.toISOString(),
      quality: { score: Number(face.score.toFixed(4)), faceSize: Math.round(faceSize) },
      source,
    },
  };
}
