/**
 * The contracts between the daemon's parts. The controller builds a DaemonContext and starts each feature module
 * (door flow, MQTT, display, metrics...) with it; modules talk through the event bus, not to each other.
 */
import type { Logger } from 'pino';
import type { Frame } from '../hardware/camera/frame.ts';
import type { EnrollSampleResult } from '../recognition/enrollment.ts';
import type { FaceBox } from '../recognition/pipeline.ts';
import type { FaceDb } from '../store/face-db.ts';
import type { EventBus } from './event-bus.ts';

/** Each feature of the daemon: started after the context is ready, stopped in reverse order on shutdown. */
export interface DaemonModule {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What the inference worker saw in one frame. Descriptors stay in the daemon process, never in events or logs. */
export interface FrameAnalysis {
  seq: number;
  capturedAt: number;
  /**
   * Largest face first. With anti-spoofing on, the largest face also carries `pad` (fused MiniFASNet P(real) on the
   * whole frame, 0..1) and/or `landmarks68` (x0, y0, x1, y1 ... in frame pixels, 136 values) for the challenge.
   */
  faces: Array<{ box: FaceBox; score: number; descriptor: Float32Array; pad?: number; landmarks68?: Float32Array }>;
  analysedAt: number;
}

/** Frame totals since start: captured by the camera, analysed by the inference worker, dropped (latest-wins). */
export interface FrameCounters {
  readonly capturedFrames: number;
  readonly analysedFrames: number;
  readonly droppedFrames: number;
}

/**
 * The face models, running off the main thread. `analyseFrame` is latest-wins: while the worker is busy a newer
 * frame replaces a waiting one, and the replaced call resolves to null (counted as dropped).
 */
export interface FaceAnalyser {
  readonly encoderId: string;
  /** The threshold in force (config override or the encoder's default). */
  readonly threshold: number;
  analyseFrame(frame: Frame): Promise<FrameAnalysis | null>;
  /** Encoded JPEG/PNG images (e.g. from an MQTT enroll command) through decode + quality gate + encoder. */
  enrollImages(images: Uint8Array[], source: string): Promise<EnrollSampleResult[]>;
  /** Quality gate + encoding for frames already captured (enrollment by capture). */
  enrollFrames(frames: Frame[], source: string): Promise<EnrollSampleResult[]>;
  readonly droppedFrames: number;
  /** Frames analysed since start (for metrics); optional so simple fakes need not count. */
  readonly analysedFrames?: number;
  close(): Promise<void>;
}

export interface DaemonContext {
  bus: EventBus;
  db: FaceDb;
  analyser: FaceAnalyser;
  logger: Logger;
  /** Stable id of this kiosk (MQTT base topic, fleet records). */
  kioskId: string;
  /** Writable directory for journals, nonces, caches (e.g. `data/`). */
  dataDir: string;
  /** Collects the next `samples` frames with exactly one good face, for enrollment by capture. */
  captureFrames(samples: number, timeoutMs: number, signal?: AbortSignal): Promise<Frame[]>;
}
