/**
 * The frame path: camera → analyser → an ordered list of in-process consumers (portrait capture and enrollment
 * capture observe, then the door flow decides).
 *
 * Why pixels and descriptors travel here and never on the bus: the bus is where every feature listens (MQTT
 * journals events to disk and a broker, the display pushes them to a browser, metrics count them, listeners log
 * them on failure). A frame is a picture of whoever stands at the door, and a descriptor is their biometric
 * identifier; both must stay inside this process, in memory, with the few consumers that need them, and be
 * forgotten after. So they move by direct calls along this pipeline; the bus only carries what was decided
 * (`access`, `flowState`, `cameraState`...). The one exception, `portraitCandidate`, holds the face crop of a
 * visitor who consented to a welcome portrait, emitted by the portrait capture below for the portrait renderer.
 *
 * A camera that is missing or failing is a state (`cameraState` on the bus, a `camera-lost` alarm), never an error.
 */
import type { Logger } from 'pino';
import type { EventBus } from '../bus/event-bus.ts';
import type { FaceAnalyser, FrameConsumer, FramePath } from '../bus/module.ts';
import type { CameraSource, CameraState } from '../hardware/camera/camera.ts';
import type { Frame } from '../hardware/camera/frame.ts';
import { errorMessage } from '../util/errors.ts';

export function cloneFrame(frame: Frame): Frame {
  return { ...frame, image: { ...frame.image, data: frame.image.data.slice() } };
}

export interface FramePipelineDeps {
  analyser: FaceAnalyser;
  bus: EventBus;
  logger: Logger;
}

export class FramePipeline implements FramePath {
  private readonly deps: FramePipelineDeps;
  private consumers: FrameConsumer[] = [];
  private camera: CameraSource | null = null;
  private captured = 0;
  private state: CameraState = 'starting';

  constructor(deps: FramePipelineDeps) {
    this.deps = deps;
  }

  get capturedFrames(): number {
    return this.captured;
  }

  get analysedFrames(): number {
    return this.deps.analyser.analysedFrames;
  }

  get droppedFrames(): number {
    return this.deps.analyser.droppedFrames;
  }

  get cameraState(): CameraState {
    return this.state;
  }

  get cameraDescription(): string | null {
    return this.camera?.description ?? null;
  }

  /** Observers first, in the order added, then the decider(s): see FrameConsumer. */
  use(consumer: FrameConsumer): () => void {
    const observers = this.consumers.filter((c) => c.phase === 'observe');
    const deciders = this.consumers.filter((c) => c.phase === 'decide');
    this.consumers =
      consumer.phase === 'observe' ? [...observers, consumer, ...deciders] : [...observers, ...deciders, consumer];
    return () => {
      this.consumers = this.consumers.filter((c) => c !== consumer);
    };
  }

  /** Starts the camera; frames flow from now on. */
  start(camera: CameraSource): void {
    this.camera = camera;
    camera.start(
      (frame) => this.onFrame(frame),
      (state, detail) => this.onCameraState(state, detail),
    );
  }

  async stop(): Promise<void> {
    await this.camera?.stop();
    this.consumers = [];
  }

  private onFrame(frame: Frame): void {
    this.captured += 1;
    // The analyser takes the pixels (transferred to the worker); a consumer that keeps them gets one shared copy.
    const consumers = [...this.consumers];
    const wanting = new Set(consumers.filter((c) => c.wantsPixels?.() === true));
    const kept = wanting.size > 0 ? cloneFrame(frame) : null;
    this.deps.analyser.analyseFrame(frame).then(
      (analysis) => {
        if (!analysis) return;
        for (const consumer of consumers) {
          if (!this.consumers.includes(consumer)) continue;
          try {
            consumer.onAnalysis(analysis, wanting.has(consumer) ? kept : null);
          } catch (err) {
            this.deps.logger.error(
              { event: 'frame-consumer-error', consumer: consumer.name, error: errorMessage(err) },
              `${consumer.name} failed on a frame`,
            );
          }
        }
      },
      (err: unknown) =>
        this.deps.logger.error({ event: 'inference-error', error: errorMessage(err) }, 'frame analysis failed'),
    );
  }

  private onCameraState(state: CameraState, detail?: string): void {
    const previous = this.state;
    this.state = state;
    this.deps.bus.emit('cameraState', { state, detail });
    // The camera source logs its own transitions; this line is for following the wiring.
    this.deps.logger.debug({ event: 'camera-state', state, detail }, `camera ${state}`);
    if (previous === 'streaming' && state !== 'streaming') {
      this.deps.bus.alarm('camera-lost', `camera ${state}${detail ? `: ${detail}` : ''}`);
    }
  }
}
