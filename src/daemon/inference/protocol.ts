/** Messages between the daemon's main thread and its inference worker. Pixels and descriptors travel as transferred buffers. */

import type { FaceBox, PipelineOptions } from '../../recognition/pipeline.ts';
import type { EnrollSampleResult } from '../module.ts';

export interface InferenceOptions {
  pipeline: PipelineOptions;
  /** Distance threshold override; null = the encoder's default. */
  threshold: number | null;
  /** The enrollment quality gate. */
  gate: { minFaceSize: number; minScore: number };
  /** Enrollment images larger than this are refused before decoding. */
  maxImagePixels: number;
}

export interface WireImage {
  width: number;
  height: number;
  /** Packed RGB bytes (`width * height * 3`). */
  pixels: ArrayBuffer;
}

export type ToWorker =
  | ({ type: 'analyse'; id: number } & WireImage)
  | { type: 'enroll-images'; id: number; images: ArrayBuffer[]; source: string }
  | { type: 'enroll-frames'; id: number; frames: WireImage[]; source: string };

export interface WireFace {
  box: FaceBox;
  score: number;
  descriptor: Float32Array;
}

export type FromWorker =
  | { type: 'ready'; encoderId: string; threshold: number; backend: string }
  | { type: 'init-error'; message: string }
  | { type: 'analysis'; id: number; faces: WireFace[]; inferenceMs: number }
  | { type: 'enrolled'; id: number; results: EnrollSampleResult[] }
  | { type: 'failed'; id: number; message: string };
