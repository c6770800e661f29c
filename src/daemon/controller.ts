/**
 * The daemon's wiring, in start-up order: relay LOCKED first (exit guards before anything can fail), face
 * database, inference worker, door flow, feature modules (MQTT, display...), badge sources, door contact, camera,
 * then READY to systemd. Shutdown runs the other way and always ends with the relay in its fail state (locked).
 * A camera that is missing or failing is a state, never a reason to stop.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { EventBus } from '../bus/event-bus.ts';
import type { DaemonContext, DaemonModule, FaceAnalyser } from '../bus/module.ts';
import type { FacegateConfig } from '../config/schema.ts';
import { cropFace } from '../display/card.ts';
import { DoorFlow } from '../door/door-flow.ts';
import { DoorLock } from '../door/door-lock.ts';
import { DoorMonitor } from '../door/door-monitor.ts';
import type { BadgeSource } from '../hardware/badge/badge-source.ts';
import { createBadgeSource } from '../hardware/badge/create.ts';
import type { CameraSource, CameraState } from '../hardware/camera/camera.ts';
import { createCamera } from '../hardware/camera/create.ts';
import type { Frame } from '../hardware/camera/frame.ts';
import { createDoorContact } from '../hardware/contact/create.ts';
import { createRelayDriver } from '../hardware/relay/create.ts';
import { WorkerAnalyser } from '../inference/analyser.ts';
import { resolveModelsDir } from '../models/paths.ts';
import type { FaceBox } from '../recognition/pipeline.ts';
import { FaceDb } from '../store/face-db.ts';
import { ExitCode, errorMessage, FacegateError } from '../util/errors.ts';
import { prepareAntiSpoofing } from './anti-spoofing.ts';
import { type GuardedProcess, installExitGuards } from './lifecycle.ts';
import { initSdNotify, type SdNotifier } from './sd-notify.ts';

/** A feature module built from the context once it exists (MQTT and display append theirs to `extraModules`). */
export type ModuleFactory = (ctx: DaemonContext, config: FacegateConfig) => DaemonModule;

/** Feature modules started after the door flow, stopped in reverse. Add new ones here. */
export const extraModules: ModuleFactory[] = [];

export interface ControllerOptions {
  config: FacegateConfig;
  logger: Logger;
  /** Replaces the configured camera (tests, benchmarks). */
  camera?: CameraSource;
  /** Where the `stdin` badge source reads (tests); default process.stdin. */
  badgeInput?: Readable;
  /** Modules to start; default `extraModules`. */
  modules?: ModuleFactory[];
  /** Install the signal/crash guards on this process (the real daemon); omit in-process in tests. */
  guardProcess?: GuardedProcess;
  /** Called after a signal-driven shutdown finished (the run command exits there, see signalExitCode). */
  onSignalShutdown?: (signal: NodeJS.Signals) => void;
}

/** The last frame analysed while a claim was being verified, kept for a consenting visitor's welcome portrait. */
interface VerifiedFrame {
  image: Frame['image'];
  box: FaceBox;
}

interface CaptureRequest {
  samples: number;
  frames: Frame[];
  done: () => void;
}

function cloneFrame(frame: Frame): Frame {
  return { ...frame, image: { ...frame.image, data: frame.image.data.slice() } };
}

export class Controller {
  readonly bus: EventBus;
  readonly config: FacegateConfig;
  readonly logger: Logger;
  doorLock!: DoorLock;
  db!: FaceDb;
  analyser!: FaceAnalyser & { readonly backend?: string };
  flow!: DoorFlow;
  context!: DaemonContext;
  camera: CameraSource | null = null;
  cameraState: CameraState = 'starting';
  framesCaptured = 0;
  private readonly opts: ControllerOptions;
  private readonly modules: DaemonModule[] = [];
  private readonly badgeSources: BadgeSource[] = [];
  private readonly captures = new Set<CaptureRequest>();
  private doorMonitor: DoorMonitor | null = null;
  private lastVerifiedFrame: VerifiedFrame | null = null;
  private sd: SdNotifier | null = null;
  private removeGuards: (() => void) | null = null;
  private stopping: Promise<void> | null = null;

  private constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.config = opts.config;
    this.logger = opts.logger;
    this.bus = new EventBus(opts.logger);
  }

  static async start(opts: ControllerOptions): Promise<Controller> {
    const controller = new Controller(opts);
    try {
      await controller.startAll();
    } catch (err) {
      await controller.stop().catch(() => {});
      throw err;
    }
    return controller;
  }

  private async startAll(): Promise<void> {
    const { config, logger, bus } = this;
    const { door, recognition } = config;

    // 1. The door: guards first, so any failure from here on leaves it locked.
    const failState = door.failSafe ? 'unlocked' : 'locked';
    const driver = createRelayDriver(door.relay, { activeLow: door.activeLow, failState, logger });
    this.doorLock = new DoorLock(driver, { unlockPulseMs: door.unlockPulseMs, failSafe: door.failSafe, bus, logger });
    if (this.opts.guardProcess) {
      this.removeGuards = installExitGuards(this.doorLock, this.opts.guardProcess, {
        onSignal: async (signal) => {
          await this.stop();
          this.opts.onSignalShutdown?.(signal);
        },
        onReload: () => this.reload(),
      });
    }
    await this.doorLock.start();

    // 2. Data and models.
    const dataDir = path.resolve(config.data.dir);
    await mkdir(dataDir, { recursive: true });
    // Followed: a change by the CLI or another writer is picked up within a second (FaceDb's watch + poll).
    this.db = await FaceDb.open(config.data.dbFile ?? path.join(dataDir, 'faces.json'), {
      watch: true,
      onWatchError: (message) =>
        logger.warn({ event: 'db-reload-failed', error: message }, `face database change not loaded: ${message}`),
      onExternalChange: (changed) =>
        logger.info({ event: 'db-changed', changed }, `face database changed by another process: ${changed} ids`),
    });
    this.db.onChange((id, change) => bus.emit('identitiesChanged', { id, change }));
    const modelsDir = resolveModelsDir(undefined, recognition.modelsDir ?? undefined);
    const antiSpoofing = await prepareAntiSpoofing(config, modelsDir, logger);
    const worker = await WorkerAnalyser.start(
      {
        pipeline: {
          backend: recognition.backend,
          detector: recognition.detector,
          tinyInputSize: recognition.tinyInputSize,
          encoder: recognition.encoder,
          minScore: recognition.minScore,
          modelsDir,
        },
        liveTinyInputSize: recognition.liveTinyInputSize,
        threshold: recognition.threshold,
        gate: { minFaceSize: recognition.minFaceSize, minScore: recognition.minScore },
        maxImagePixels: recognition.maxImagePixels,
        antiSpoofing: antiSpoofing.worker,
      },
      { logger, bus },
    );
    this.analyser = worker;
    const padAvailable = worker.padStatus === 'ready';
    const padProblem = antiSpoofing.needsPad && !padAvailable ? (antiSpoofing.problem ?? worker.padStatus) : null;
    if (padProblem) {
      logger.warn(
        { event: 'anti-spoofing-unavailable', error: padProblem },
        `anti-spoofing unavailable: ${padProblem}`,
      );
    }
    // A signal during model loading: stop() is already running; do not start anything else.
    if (this.stopping) throw new FacegateError('stopped by a signal during start-up', ExitCode.ok);
    this.context = {
      bus,
      db: this.db,
      analyser: this.analyser,
      logger,
      kioskId: config.kioskId,
      dataDir,
      captureFrames: (samples, timeoutMs, signal) => this.captureFrames(samples, timeoutMs, signal),
    };

    // 3. The door flow, then the feature modules.
    this.flow = new DoorFlow({
      bus,
      db: this.db,
      door: this.doorLock,
      logger,
      settings: door,
      encoderId: this.analyser.encoderId,
      threshold: this.analyser.threshold,
      logFullBadge: config.badge.logFull,
      liveness: { padAvailable },
    });
    await this.flow.start();
    bus.on('access', (event) => this.offerPortrait(event.decision, event.reason, event.identityId));
    bus.on('flowState', ({ state }) => {
      if (state === 'IDLE') this.lastVerifiedFrame = null;
    });
    for (const factory of this.opts.modules ?? extraModules) {
      const module = factory(this.context, config);
      await module.start();
      this.modules.push(module);
      logger.info({ event: 'module-started', module: module.name }, `module ${module.name} started`);
    }
    // Raised once the modules listen, so MQTT publishes it and /healthz shows it.
    if (padProblem) {
      const policy =
        door.antiSpoofing.whenUnavailable === 'deny'
          ? 'face claims are denied (fail secure)'
          : 'face claims are decided WITHOUT passive anti-spoofing (whenUnavailable: allow)';
      bus.alarm('anti-spoofing-unavailable', `anti-spoofing model unavailable: ${policy}`);
    }

    // 4. Inputs: badges, then the camera.
    for (const spec of config.badge.sources) {
      // MQTT badges arrive through the MQTT module, which emits badgeRead itself.
      if (spec === 'mqtt' || spec === 'none') continue;
      const source = createBadgeSource(spec, { input: this.opts.badgeInput, format: config.badge.format, logger });
      source.start((badge: string) => bus.emit('badgeRead', { badge, source: spec }));
      this.badgeSources.push(source);
    }
    if (door.contact) {
      const inputOpts = { activeLow: door.inputsActiveLow, logger };
      this.doorMonitor = new DoorMonitor({
        contact: createDoorContact(door.contact, inputOpts),
        rex: door.rex ? createDoorContact(door.rex, inputOpts) : undefined,
        bus,
        heldOpenMs: door.heldOpenMs,
        logger,
      });
      await this.doorMonitor.start();
    }
    this.camera = this.opts.camera ?? this.createConfiguredCamera();
    this.camera.start(
      (frame) => this.onFrame(frame),
      (state, detail) => this.onCameraState(state, detail),
    );

    // READY only now: systemd's start-up timeout covers model loading, and the watchdog pings from the main loop.
    this.sd = initSdNotify({ logger });
    this.sd.ready(`${door.mode} mode, camera ${this.cameraState}`);
    logger.info(
      {
        event: 'started',
        kioskId: config.kioskId,
        mode: door.mode,
        antiSpoofing: door.antiSpoofing.mode,
        backend: this.analyser.backend,
        encoder: this.analyser.encoderId,
        threshold: this.analyser.threshold,
        camera: this.camera.description,
        relay: driver.description,
        badgeSources: config.badge.sources,
        db: this.db.file,
      },
      `facegate running: ${door.mode} mode, ${this.analyser.backend} backend, ${this.analyser.encoderId} at ${this.analyser.threshold}`,
    );
  }

  private createConfiguredCamera(): CameraSource {
    const { camera } = this.config;
    return createCamera(camera.source, {
      width: camera.width,
      height: camera.height,
      fps: camera.fps,
      loop: camera.loop,
      // intervalMs paces stills; for the other sources the rate comes from fps.
      intervalMs: camera.source.startsWith('webcam:') ? camera.intervalMs : undefined,
      logger: this.logger,
    });
  }

  private onFrame(frame: Frame): void {
    this.framesCaptured += 1;
    // The analyser takes the pixels; a pending enrollment capture keeps its own copy.
    const kept = this.captures.size > 0 ? cloneFrame(frame) : null;
    // Pixels are copied only while a claim is being verified: the deciding frame may become a welcome portrait.
    const verifying = this.flow.state === 'VERIFYING' ? cloneFrame(frame) : null;
    this.analyser.analyseFrame(frame).then(
      (analysis) => {
        if (!analysis) return;
        const face = analysis.faces[0];
        if (verifying && face) this.lastVerifiedFrame = { image: verifying.image, box: face.box };
        this.flow.onFrameAnalysis(analysis);
        if (kept && analysis.faces.length === 1) {
          const face = analysis.faces[0];
          if (face && Math.min(face.box.width, face.box.height) >= this.config.recognition.minFaceSize)
            this.offerCapture(kept);
        }
      },
      (err: unknown) =>
        this.logger.error({ event: 'inference-error', error: errorMessage(err) }, 'frame analysis failed'),
    );
  }

  private onCameraState(state: CameraState, detail?: string): void {
    const previous = this.cameraState;
    this.cameraState = state;
    this.bus.emit('cameraState', { state, detail });
    if (state !== previous) this.sd?.status(`camera ${state}${detail ? `: ${detail}` : ''}`);
    // The camera source logs its own transitions; this line is for following the wiring.
    this.logger.debug({ event: 'camera-state', state, detail }, `camera ${state}`);
    if (previous === 'streaming' && state !== 'streaming') {
      this.bus.alarm('camera-lost', `camera ${state}${detail ? `: ${detail}` : ''}`);
    }
  }

  /**
   * On a face match of someone with `portraitConsent: true`, hands the face crop of the deciding frame to the
   * display's portrait queue (in memory only). Nobody else's face is ever kept.
   */
  private offerPortrait(decision: string, reason: string, identityId: string | null): void {
    const verified = this.lastVerifiedFrame;
    this.lastVerifiedFrame = null;
    if (decision !== 'granted' || reason !== 'match' || !identityId || !verified) return;
    const identity = this.db.get(identityId);
    if (identity?.portraitConsent !== true) return;
    this.bus.emit('portraitCandidate', {
      identityId,
      name: identity.name,
      faceCrop: cropFace(verified.image, verified.box),
      time: Date.now(),
    });
  }

  /**
   * SIGHUP (`systemctl reload facegate`): re-reads what may change under a running daemon (the face database).
   * Never drives the relay; a running pulse ends on its own timer.
   */
  async reload(): Promise<void> {
    if (this.stopping) return;
    this.logger.info({ event: 'reload' }, 'reload requested');
    await this.reloadDatabase();
  }

  /** Collects the next `samples` frames showing exactly one big-enough face (enrollment by capture). */
  captureFrames(samples: number, timeoutMs: number, signal?: AbortSignal): Promise<Frame[]> {
    return new Promise((resolve) => {
      const request: CaptureRequest = { samples, frames: [], done: () => {} };
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        this.captures.delete(request);
        resolve(request.frames);
      };
      request.done = finish;
      const timer = setTimeout(finish, timeoutMs);
      signal?.addEventListener('abort', finish);
      this.captures.add(request);
    });
  }

  private offerCapture(frame: Frame): void {
    for (const request of this.captures) {
      request.frames.push(frame);
      if (request.frames.length >= request.samples) request.done();
    }
  }

  /**
   * Re-reads the face database now (SIGHUP, `systemctl reload`): every changed id goes out as `identitiesChanged`,
   * so the door flow, the matching index and the portrait cache follow. A file that no longer validates is refused
   * (logged) and the database in memory stays as it was. Never rejects, so a signal handler can call it as is;
   * resolves to the number of changed ids, or null when the file was refused.
   */
  async reloadDatabase(): Promise<number | null> {
    try {
      const changed = await this.db.reload();
      this.logger.info({ event: 'db-reloaded', changed }, `face database reloaded: ${changed} identities changed`);
      return changed;
    } catch (err) {
      this.logger.error({ event: 'db-reload-failed', error: errorMessage(err) }, errorMessage(err));
      return null;
    }
  }

  /** Stops everything in reverse order; the relay ends in its fail state (locked). Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    const step = async (what: string, fn: () => Promise<void> | void) => {
      try {
        await fn();
      } catch (err) {
        this.logger.error({ event: 'shutdown-error', step: what, error: errorMessage(err) }, `stopping ${what} failed`);
      }
    };
    this.logger.info({ event: 'stopping' }, 'facegate stopping');
    this.sd?.stopping();
    if (this.camera) await step('camera', () => this.camera?.stop());
    for (const source of this.badgeSources) await step('badge source', () => source.stop());
    if (this.doorMonitor) await step('door monitor', () => this.doorMonitor?.stop());
    for (const request of this.captures) request.done();
    for (const module of [...this.modules].reverse()) await step(module.name, () => module.stop());
    if (this.flow) await step('door flow', () => this.flow.stop());
    if (this.analyser) await step('inference worker', () => this.analyser.close());
    // The face database writes each change atomically as it happens: nothing is pending once the modules stopped.
    if (this.db) await step('face database', () => this.db.close());
    if (this.doorLock) await step('door lock', () => this.doorLock.stop());
    this.sd?.stop();
    this.removeGuards?.();
    this.bus.removeAllListeners();
    this.logger.info({ event: 'stopped' }, 'facegate stopped');
  }
}
