/**
 * The contracts between the daemon's parts. The composition root (src/daemon/compose.ts) builds a DaemonContext and
 * starts each feature module with it; modules talk through the event bus, not to each other. A feature is one
 * `Feature` value (here its shape) exported by its folder and one line in compose's FEATURES list.
 */
import type { Logger } from 'pino';
import type { FacegateConfig } from '../config/schema.ts';
import type { Frame } from '../hardware/camera/frame.ts';
import type { EnrollSampleResult } from '../recognition/enrollment.ts';
import type { FaceBox, FiveKeypoints } from '../recognition/pipeline.ts';
import type { FaceDb } from '../store/face-db.ts';
import type { EventBus } from './event-bus.ts';

/** Each feature of the daemon: started after the context is ready, stopped in reverse order on shutdown. */
export interface DaemonModule {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A feature the composition root lists: whether the config turns it on, and how to build its module. */
export interface Feature {
  readonly name: string;
  enabled(config: FacegateConfig): boolean;
  create(ctx: DaemonContext, config: FacegateConfig): DaemonModule;
}

/** What the inference worker saw in one frame. Descriptors stay in the daemon process, never in events or logs. */
export interface FrameAnalysis {
  seq: number;
  capturedAt: number;
  /**
   * Largest face first; boxes (and YuNet's keypoints, when the default pipeline runs) in full-frame coordinates.
   * With anti-spoofing on, the largest face also carries `pad` (fused MiniFASNet P(real) on the whole frame, 0..1)
   * and/or `landmarks68` (x0, y0, x1, y1 ... in frame pixels, 136 values) for the challenge.
   */
  faces: Array<{
    box: FaceBox;
    score: number;
    descriptor: Float32Array;
    keypoints?: FiveKeypoints;
    pad?: number;
    landmarks68?: Float32Array;
  }>;
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
 * frame replaces a waiting one, and the replaced call resolves to null (counted as dropped). The real analyser and
 * every fake provide all of this: nobody probes for a member.
 */
export interface FaceAnalyser {
  readonly encoderId: string;
  /** The threshold in force (config override or the encoder's default). */
  readonly threshold: number;
  /** The tfjs backend the models run on (`wasm`, `tensorflow`, `cpu`), or a fake's name. */
  readonly backend: string;
  /** True while the models are loaded and answering (/healthz reports a dead worker otherwise). */
  readonly ready: boolean;
  analyseFrame(frame: Frame): Promise<FrameAnalysis | null>;
  /** Encoded JPEG/PNG images (e.g. from an MQTT enroll command) through decode + quality gate + encoder. */
  enrollImages(images: Uint8Array[], source: string): Promise<EnrollSampleResult[]>;
  /** Quality gate + encoding for frames already captured (enrollment by capture). */
  enrollFrames(frames: Frame[], source: string): Promise<EnrollSampleResult[]>;
  /** Frames replaced while the worker was busy, since start. */
  readonly droppedFrames: number;
  /** Frames analysed since start. */
  readonly analysedFrames: number;
  close(): Promise<void>;
}

/**
 * An in-process consumer of analysed frames (src/inference/frame-pipeline.ts). `observe` consumers run before the
 * `decide` one (the door flow), so a consumer that keeps the deciding frame has it before the decision's events.
 */
export interface FrameConsumer {
  readonly name: string;
  readonly phase: 'observe' | 'decide';
  /**
   * Asked as each frame arrives, before the analyser takes its pixels: true to be handed a copy of them with the
   * analysis. Pixels are copied only while someone asks.
   */
  wantsPixels?(): boolean;
  /** The analysis, with the frame's pixels when `wantsPixels()` said so when it arrived (else null). */
  onAnalysis(analysis: FrameAnalysis, frame: Frame | null): void;
}

/** The frame path as feature modules see it: they add consumers and read the totals. */
export interface FramePath extends FrameCounters {
  /** Adds a consumer; returns the function that removes it. */
  use(consumer: FrameConsumer): () => void;
}

/** The main thread's event-loop delay over the last window. */
export interface EventLoopLag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** What the metrics module shows to whoever serves it (the display's /metrics and /healthz). */
export interface MetricsView {
  readonly contentType: string;
  render(): Promise<string>;
  eventLoopLag(): EventLoopLag;
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
  /** Camera → analyser → consumers; pixels and descriptors travel here, never on the bus. */
  frames: FramePath;
  /** The metrics registry's read side. */
  metrics: MetricsView;
  /** Collects the next `samples` frames with exactly one good face, for enrollment by capture. */
  captureFrames(samples: number, timeoutMs: number, signal?: AbortSignal): Promise<Frame[]>;
  /** Told the kiosk page's address once it listens (the first-run hint on a terminal). */
  onDisplayUrl?: (url: string) => void;
}
