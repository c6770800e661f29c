/** Messages between the daemon's main thread and its inference worker. Pixels and descriptors travel as transferred buffers. */

import type { EnrollSampleResult } from '../recognition/enrollment.ts';
import type { FaceBox, FiveKeypoints, PipelineOptions } from '../recognition/pipeline.ts';

export interface InferenceOptions {
  pipeline: PipelineOptions;
  /**
   * TinyFaceDetector input side for live frames (`analyse`); enrollment keeps `pipeline.tinyInputSize`. Undefined =
   * `DEFAULT_LIVE_TINY_INPUT_SIZE`, the same default as the `recognition.liveTinyInputSize` config key.
   */
  liveTinyInputSize?: number;
  /** Distance threshold override; null = the encoder's default. */
  threshold: number | null;
  /** The enrollment quality gate. */
  gate: { minFaceSize: number; minScore: number };
  /** Enrollment images larger than this are refused before decoding. */
  maxImagePixels: number;
}

/** Matches the `recognition.liveTinyInputSize` default (see its comment for the measurements). */
export const DEFAULT_LIVE_TINY_INPUT_SIZE = 224;

export interface WireImage {
  width: number;
  height: number;
  /** Packed RGB bytes (`width * height * 3`). */
  pixels: ArrayBuffer;
}

export type ToWorker =
  | ({ type: 'analyse'; id: number } & WireImage)
  | { type: 'enroll-images'; id: number; images: ArrayBuffer[]; source: string }
  | { type: 'enroll-frames'; id: number; frames: WireImage[]; source: string }
  | { type: 'memory'; id: number };

/** The worker's own memory (RSS is per process, so these are what the worker thread adds on top of the daemon). */
export interface WorkerMemory {
  /** The tfjs wasm backend's linear memory: it grows to the largest working set and never shrinks. */
  wasmHeapBytes: number;
  /** The worker isolate's V8 heap (reserved, used). */
  jsHeapTotalBytes: number;
  jsHeapUsedBytes: number;
}

export interface WireFace {
  /** Full-frame coordinates. */
  box: FaceBox;
  score: number;
  descriptor: Float32Array;
  /** YuNet's five keypoints in full-frame coordinates (the default pipeline; absent with tiny/ssd). */
  keypoints?: FiveKeypoints;
}

export type FromWorker =
  | { type: 'ready'; encoderId: string; threshold: number; backend: string; detector: string }
  | { type: 'init-error'; message: string }
  | { type: 'analysis'; id: number; faces: WireFace[]; inferenceMs: number }
  | { type: 'enrolled'; id: number; results: EnrollSampleResult[] }
  | { type: 'failed'; id: number; message: string }
  | ({ type: 'memory'; id: number } & WorkerMemory);
