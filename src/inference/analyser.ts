/**
 * The main-thread side of the inference worker: a FaceAnalyser that never runs a model itself.
 *
 * Frames are handed over latest-wins: at most one frame is in the worker and one waits; a newer frame replaces the
 * waiting one (whose call resolves null and is counted as dropped), so latency cannot grow under load. Pixels are
 * transferred, not copied, when the frame owns its whole buffer (after the call the frame's `image.data` is then
 * detached: callers that keep frames pass a copy).
 *
 * A worker that dies is logged, raised as a `worker-crash` alarm and restarted with backoff; meanwhile every frame
 * resolves null, so the door flow sees nothing and the door stays locked.
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { EventBus } from '../bus/event-bus.ts';
import type { FaceAnalyser, FrameAnalysis } from '../bus/module.ts';
import type { Frame } from '../hardware/camera/frame.ts';
import type { EnrollSampleResult } from '../recognition/enrollment.ts';
import type { RgbImage } from '../runtime/image.ts';
import { siblingEntry, startWorker } from '../util/entry.ts';
import { FacegateError } from '../util/errors.ts';
import { PendingRequests } from '../util/pending-requests.ts';
import type { FromWorker, InferenceOptions, ToWorker, WireImage, WorkerMemory } from './protocol.ts';

const ENTRY = siblingEntry(import.meta.url, 'worker');
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;

interface PendingFrame {
  frame: Frame;
  resolve: (analysis: FrameAnalysis | null) => void;
}

export interface AnalyserDeps {
  logger: Logger;
  bus?: EventBus;
}

/**
 * A copy of `bytes` in an ArrayBuffer of its own, safe to transfer. Not `bytes.slice().buffer`: on a Node Buffer,
 * `slice` is a view into the same (possibly pooled) memory, and Node 24 refuses to transfer the pool
 * (DataCloneError, seen with `readFile` results); Node 20 would have detached the whole pool.
 */
function ownCopy(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}

/** Hands the pixels over without a copy when the frame owns its whole buffer; otherwise copies once. */
function toWire(image: RgbImage): { wire: WireImage; transfer: ArrayBuffer[] } {
  const { data } = image;
  const owns =
    data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
  const pixels = owns ? (data.buffer as ArrayBuffer) : ownCopy(data);
  return { wire: { width: image.width, height: image.height, pixels }, transfer: [pixels] };
}

export class WorkerAnalyser implements FaceAnalyser {
  encoderId = '';
  threshold = 0;
  backend = '';
  /** The detector the worker runs (`yunet`, `tiny`, `ssd`). */
  detector = '';
  /** Passive PAD in the worker: 'ready', 'off' (not asked for) or why it could not load. */
  padStatus = 'off';
  private worker: Worker | null = null;
  private inFlight: (PendingFrame & { id: number }) | null = null;
  private waiting: PendingFrame | null = null;
  private readonly jobs = new PendingRequests<EnrollSampleResult[]>();
  private readonly memoryRequests = new PendingRequests<WorkerMemory>();
  private nextId = 1;
  private dropped = 0;
  private analysed = 0;
  private crashes = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Time spent inside the worker on the last frame (for the benchmark). */
  lastInferenceMs = 0;

  private constructor(
    private readonly options: InferenceOptions,
    private readonly deps: AnalyserDeps,
  ) {}

  /** Starts the worker and waits until the models are loaded; a bad model setup rejects with its message. */
  static async start(options: InferenceOptions, deps: AnalyserDeps): Promise<WorkerAnalyser> {
    const analyser = new WorkerAnalyser(options, deps);
    await analyser.spawn();
    return analyser;
  }

  get droppedFrames(): number {
    return this.dropped;
  }

  get analysedFrames(): number {
    return this.analysed;
  }

  get workerCrashes(): number {
    return this.crashes;
  }

  /** True while a worker with loaded models is running. */
  get ready(): boolean {
    return this.worker !== null;
  }

  analyseFrame(frame: Frame): Promise<FrameAnalysis | null> {
    if (this.closed || !this.worker) return Promise.resolve(null);
    return new Promise((resolve) => {
      if (!this.inFlight) {
        this.send({ frame, resolve });
        return;
      }
      if (this.waiting) {
        this.dropped += 1;
        this.waiting.resolve(null);
      }
      this.waiting = { frame, resolve };
    });
  }

  enrollImages(images: Uint8Array[], source: string): Promise<EnrollSampleResult[]> {
    // Copies: the caller's buffers (an MQTT payload) stay usable.
    const buffers = images.map(ownCopy);
    return this.inEnrollmentWorker((enroller) =>
      enroller.job((id) => ({ type: 'enroll-images', id, images: buffers, source }), buffers),
    );
  }

  enrollFrames(frames: Frame[], source: string): Promise<EnrollSampleResult[]> {
    const wires = frames.map((f) => {
      const pixels = ownCopy(f.image.data);
      return { width: f.image.width, height: f.image.height, pixels };
    });
    return this.inEnrollmentWorker((enroller) =>
      enroller.job(
        (id) => ({ type: 'enroll-frames', id, frames: wires, source }),
        wires.map((w) => w.pixels),
      ),
    );
  }

  /**
   * Enrollment runs in a worker of its own that exits afterwards. Photos (tight crops included) need the 416 px
   * detector and its padded retries, which grow a tfjs wasm heap by ~90 MB that never shrinks; in the live worker
   * that memory would stay for the daemon's lifetime (measured: wasm heap 209 MB instead of 120 MB). The price is
   * a few seconds of model loading per enrollment, on a command admins run rarely.
   */
  private async inEnrollmentWorker<T>(run: (enroller: WorkerAnalyser) => Promise<T>): Promise<T> {
    if (this.closed) throw new FacegateError('the face analyser is closed');
    // No bus: a crash of this worker is an enrollment error, not a door alarm.
    // Nor anti-spoofing: enrollment photos are not live frames.
    const { antiSpoofing: _liveOnly, ...options } = this.options;
    const enroller = await WorkerAnalyser.start(options, { logger: this.deps.logger });
    try {
      return await run(enroller);
    } finally {
      await enroller.close();
    }
  }

  /** The worker's wasm heap and V8 heap sizes (for the benchmark's memory breakdown). */
  workerMemory(): Promise<WorkerMemory> {
    const worker = this.worker;
    if (this.closed || !worker)
      return Promise.reject(new FacegateError('the inference worker is not running (restarting)'));
    const id = this.nextId++;
    return this.memoryRequests.add(id, () => worker.postMessage({ type: 'memory', id } satisfies ToWorker));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const worker = this.worker;
    this.worker = null;
    this.abandonAll('inference worker closed');
    if (worker) await worker.terminate();
  }

  /** Kills the worker as a crash would (tests, and a stuck worker). */
  async kill(): Promise<void> {
    await this.worker?.terminate();
  }

  private job(build: (id: number) => ToWorker, transfer: ArrayBuffer[]): Promise<EnrollSampleResult[]> {
    const worker = this.worker;
    if (this.closed || !worker)
      return Promise.reject(new FacegateError('the inference worker is not running (restarting)'));
    const id = this.nextId++;
    return this.jobs.add(id, () => worker.postMessage(build(id), transfer));
  }

  private send(pending: PendingFrame): void {
    const worker = this.worker;
    if (!worker) {
      pending.resolve(null);
      return;
    }
    const id = this.nextId++;
    this.inFlight = { ...pending, id };
    const { wire, transfer } = toWire(pending.frame.image);
    const message: ToWorker = { type: 'analyse', id, ...wire };
    worker.postMessage(message, transfer);
  }

  private onMessage(msg: FromWorker): void {
    if (msg.type === 'memory') {
      const { type: _type, id, ...memory } = msg;
      this.memoryRequests.resolve(id, memory);
      return;
    }
    if (msg.type === 'analysis') {
      const current = this.inFlight;
      if (!current || current.id !== msg.id) return;
      this.inFlight = null;
      this.analysed += 1;
      this.lastInferenceMs = msg.inferenceMs;
      current.resolve({
        seq: current.frame.seq,
        capturedAt: current.frame.capturedAt,
        faces: msg.faces,
        analysedAt: Date.now(),
      });
      const next = this.waiting;
      this.waiting = null;
      if (next) this.send(next);
      return;
    }
    if (msg.type === 'enrolled' || msg.type === 'failed') {
      if (
        msg.type === 'enrolled'
          ? this.jobs.resolve(msg.id, msg.results)
          : this.jobs.reject(msg.id, new FacegateError(msg.message))
      )
        return;
      // A failed frame analysis: report nothing for it and move on.
      if (msg.type === 'failed' && this.inFlight?.id === msg.id) {
        this.deps.logger.warn({ event: 'inference-error', error: msg.message }, 'frame analysis failed');
        this.inFlight.resolve(null);
        this.inFlight = null;
        const next = this.waiting;
        this.waiting = null;
        if (next) this.send(next);
      }
    }
  }

  /** Resolves when the worker reports ready; rejects with the worker's own message when the models cannot load. */
  private spawn(): Promise<void> {
    const worker = startWorker(ENTRY, { workerData: { options: this.options } });
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          ready = true;
          if (this.closed) {
            void worker.terminate();
            resolve();
            return;
          }
          this.encoderId = msg.encoderId;
          this.threshold = msg.threshold;
          this.detector = msg.detector;
          this.backend = msg.backend;
          this.padStatus = msg.pad;
          this.worker = worker;
          resolve();
        } else if (msg.type === 'init-error') {
          reject(new FacegateError(`inference worker: ${msg.message}`));
        } else {
          this.onMessage(msg);
        }
      });
      worker.on('error', (err) => {
        this.deps.logger.error({ event: 'worker-error', error: err.message }, 'inference worker error');
        if (!ready) reject(new FacegateError(`inference worker failed to start: ${err.message}`));
      });
      worker.on('exit', (code) => {
        if (!ready) {
          reject(new FacegateError(`inference worker exited during start-up (code ${code})`));
          return;
        }
        if (this.worker === worker) this.onCrash(code);
      });
    });
  }

  private onCrash(code: number): void {
    this.worker = null;
    if (this.closed) return;
    this.crashes += 1;
    const detail = `inference worker stopped (exit code ${code}); restarting, the door stays locked meanwhile`;
    if (this.deps.bus) this.deps.bus.alarm('worker-crash', detail);
    else this.deps.logger.error({ event: 'alarm', kind: 'worker-crash', code }, detail);
    this.abandonAll('the inference worker crashed');
    this.scheduleRestart(0);
  }

  private scheduleRestart(attempt: number): void {
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** attempt);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.closed) return;
      this.spawn().then(
        () => this.deps.logger.info({ event: 'worker-restarted', backend: this.backend }, 'inference worker restarted'),
        (err: Error) => {
          this.deps.logger.error(
            { event: 'worker-restart-failed', error: err.message },
            'inference worker restart failed',
          );
          this.scheduleRestart(attempt + 1);
        },
      );
    }, delay);
  }

  private abandonAll(why: string): void {
    this.inFlight?.resolve(null);
    this.inFlight = null;
    this.waiting?.resolve(null);
    this.waiting = null;
    this.jobs.rejectAll(() => new FacegateError(why));
    this.memoryRequests.rejectAll(() => new FacegateError(why));
  }
}
