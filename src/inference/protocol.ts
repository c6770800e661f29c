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
  /** Anti-spoofing on live frames (issue 12); absent = none. See liveness-analysis.ts. */
  antiSpoofing?: LivenessOptions;
}

export interface LivenessOptions {
  /** The two MiniFASNet ONNX files (sha256-checked by the caller), or null: no passive PAD score. */
  padFiles: { v2: string; v1se: string } | null;
  /** Compute face-api's 68 landmarks of the largest face (the active challenge). */
  landmarks: boolean;
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
  /** Largest face, passive anti-spoofing on: fused MiniFASNet P(real) on the whole frame (0..1). */
  pad?: number;
  /** Largest face, active anti-spoofing on: 68 landmarks as x0, y0, x1, y1 ... in frame pixels. */
  landmarks68?: Float32Array;
}

export type FromWorker =
  | {
      type: 'ready';
      encoderId: string;
      threshold: number;
      backend: string;
      detector: string;
      /** Passive PAD: 'ready', 'off' (not asked for), or why it could not load (the door then fails secure). */
      pad: string;
    }
  | { type: 'init-error'; message: string }
  | { type: 'analysis'; id: number; faces: WireFace[]; inferenceMs: number }
  | { type: 'enrolled'; id: number; results: EnrollSampleResult[] }
  | { type: 'failed'; id: number; message: string }
  | ({ type: 'memory'; id: number } & WorkerMemory);
