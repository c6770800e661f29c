/**
 * The composition root: builds the whole daemon in start-up order — relay LOCKED first (exit guards before anything
 * can fail), face database, inference worker, frame pipeline, door flow, metrics, the feature modules of FEATURES,
 * badge sources, door contact, camera, then READY to systemd. Shutdown runs the other way and always ends with the
 * relay in its fail state (locked). A camera that is missing or failing is a state, never a reason to stop.
 *
 * Adding a feature: one file in its folder exporting a `Feature` (src/bus/module.ts), and one line in FEATURES.
 * Features talk through the bus; frames reach them through `ctx.frames` (src/inference/frame-pipeline.ts).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { auditFeature } from '../audit/module.ts';
import { EventBus } from '../bus/event-bus.ts';
import type { DaemonContext, Feature } from '../bus/module.ts';
import { faceDbFile } from '../config/locations.ts';
import type { FacegateConfig } from '../config/schema.ts';
import { displayFeature } from '../display/module.ts';
import { DoorFlow } from '../door/door-flow.ts';
import { DoorLock } from '../door/door-lock.ts';
import { DoorMonitor } from '../door/door-monitor.ts';
import { scheduledUnlockFeature } from '../door/scheduled-unlock.ts';
import type { BadgeSource } from '../hardware/badge/badge-source.ts';
import { createBadgeSource } from '../hardware/badge/create.ts';
import type { CameraSource } from '../hardware/camera/camera.ts';
import { createCamera } from '../hardware/camera/create.ts';
import { createDoorContact } from '../hardware/contact/create.ts';
import { createRelayDriver } from '../hardware/relay/create.ts';
import { WorkerAnalyser } from '../inference/analyser.ts';
import { EnrollmentCapture } from '../inference/enrollment-capture.ts';
import { FramePipeline } from '../inference/frame-pipeline.ts';
import { createMetricsModule } from '../metrics/module.ts';
import { resolveModelsDir } from '../models/paths.ts';
import { mqttFeature } from '../mqtt/module.ts';
import { metricLabel, metricOfEncoder } from '../recognition/encoder-traits.ts';
import { FaceDb } from '../store/face-db.ts';
import { ExitCode, errorMessage, FacegateError } from '../util/errors.ts';
import { prepareAntiSpoofing } from './anti-spoofing.ts';
import { type GuardedProcess, installExitGuards, signalExitCode } from './lifecycle.ts';
import { initSdNotify, type SdNotifier } from './sd-notify.ts';

/**
 * The feature modules, started in this order after the door flow and stopped in reverse. The access log first, so it
 * records what the others do; the display before MQTT: it must be listening when MQTT announces its first broker
 * state.
 */
export const FEATURES: readonly Feature[] = [auditFeature, scheduledUnlockFeature, displayFeature, mqttFeature];

export interface ComposeOptions {
  logger: Logger;
  /** Replaces the configured camera (tests, benchmarks). */
  camera?: CameraSource;
  /** Where the `stdin` badge source reads (tests); default process.stdin. */
  badgeInput?: Readable;
  /** Features to consider (each still asks the config); default FEATURES. Tests and the bench pass `[]`. */
  features?: readonly Feature[];
  /**
   * The real process: install the signal/crash guards on it. A terminating signal then stops the daemon and
   * resolves `exited` with the exit code (see signalExitCode). Omitted in-process in tests and the bench.
   */
  guardProcess?: GuardedProcess;
  /** Told the kiosk page's address once it listens (the run command's first-run hint). */
  onDisplayUrl?: (url: string) => void;
}

/** The running daemon. */
export interface Daemon {
  readonly bus: EventBus;
  readonly config: FacegateConfig;
  readonly logger: Logger;
  readonly doorLock: DoorLock;
  readonly db: FaceDb;
  readonly analyser: WorkerAnalyser;
  readonly flow: DoorFlow;
  readonly frames: FramePipeline;
  readonly context: DaemonContext;
  /** Resolves with the process exit code once a signal-driven shutdown finished (with `guardProcess` only). */
  readonly exited: Promise<number>;
  /**
   * SIGHUP (`systemctl reload facegate`): re-reads what may change under a running daemon (the face database).
   * Never drives the relay; a running pulse ends on its own timer.
   */
  reload(): Promise<void>;
  /**
   * Re-reads the face database now: every changed id goes out as `identitiesChanged`, so the door flow, the
   * matching index and the portrait cache follow. A file that no longer validates is refused (logged) and the
   * database in memory stays as it was. Never rejects; resolves to the number of changed ids, or null when refused.
   */
  reloadDatabase(): Promise<number | null>;
  /** Stops everything in reverse order; the relay ends in its fail state (locked). Safe to call twice. */
  stop(): Promise<void>;
}

/** Builds and starts the daemon; on a failure part-way, stops what started (the relay ends locked) and rethrows. */
export async function compose(config: FacegateConfig, options: ComposeOptions): Promise<Daemon> {
  const { logger } = options;
  const { door, recognition } = config;
  const bus = new EventBus(logger);
  // What started, in order; stop() walks it backwards.
  const stoppers: Array<{ what: string; stop: () => Promise<void> | void }> = [];
  let sd: SdNotifier | null = null;
  let removeGuards: (() => void) | null = null;
  let stopping: Promise<void> | null = null;
  let stopSignal: NodeJS.Signals | null = null;
  let resolveExited: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => {
    resolveExited = resolve;
  });

  /** Stops what started so far, newest first. */
  const unwind = async (): Promise<void> => {
    for (const { what, stop } of stoppers.splice(0).reverse()) {
      try {
        await stop();
      } catch (err) {
        logger.error({ event: 'shutdown-error', step: what, error: errorMessage(err) }, `stopping ${what} failed`);
      }
    }
  };
  const stopAll = async (): Promise<void> => {
    logger.info({ event: 'stopping' }, 'facegate stopping');
    sd?.stopping();
    await unwind();
    sd?.stop();
    removeGuards?.();
    bus.removeAllListeners();
    logger.info({ event: 'stopped' }, 'facegate stopped');
  };
  const stop = (): Promise<void> => {
    stopping ??= stopAll();
    return stopping;
  };

  // 1. The door: guards first, so any failure from here on leaves it locked.
  const failState = door.failSafe ? 'unlocked' : 'locked';
  const driver = createRelayDriver(door.relay, { activeLow: door.activeLow, failState, logger });
  const doorLock = new DoorLock(driver, { unlockPulseMs: door.unlockPulseMs, failSafe: door.failSafe, bus, logger });
  let db: FaceDb | null = null;
  const reloadDatabase = async (): Promise<number | null> => {
    if (!db) return null;
    try {
      const changed = await db.reload();
      logger.info({ event: 'db-reloaded', changed }, `face database reloaded: ${changed} identities changed`);
      return changed;
    } catch (err) {
      logger.error({ event: 'db-reload-failed', error: errorMessage(err) }, errorMessage(err));
      return null;
    }
  };
  const reload = async (): Promise<void> => {
    if (stopping) return;
    logger.info({ event: 'reload' }, 'reload requested');
    await reloadDatabase();
  };
  if (options.guardProcess) {
    removeGuards = installExitGuards(doorLock, options.guardProcess, {
      onSignal: async (signal) => {
        stopSignal = signal;
        await stop();
        resolveExited(signalExitCode(signal));
      },
      onReload: reload,
    });
  }
  stoppers.push({ what: 'door lock', stop: () => doorLock.stop() });
  try {
    await doorLock.start();

    // 2. Data and models.
    const dataDir = path.resolve(config.data.dir);
    await mkdir(dataDir, { recursive: true });
    // Followed: a change by the CLI or another writer is picked up within a second (FaceDb's watch + poll).
    const faces = await FaceDb.open(faceDbFile(config.data), {
      watch: true,
      onWatchError: (message) =>
        logger.warn({ event: 'db-reload-failed', error: message }, `face database change not loaded: ${message}`),
      onExternalChange: (changed) =>
        logger.info({ event: 'db-changed', changed }, `face database changed by another process: ${changed} ids`),
    });
    db = faces;
    // The face database writes each change atomically as it happens: nothing is pending once the modules stopped.
    stoppers.push({ what: 'face database', stop: () => faces.close() });
    faces.onChange((id, change) => bus.emit('identitiesChanged', { id, change }));
    // Detector and encoder: the database's encoder if it was enrolled with another one (logged once, with how to
    // re-enroll), YuNet/reid-0095 fetched when missing, else the face-api pipeline with a warning.
    const modelsDir = resolveModelsDir(undefined, recognition.modelsDir ?? undefined);
    const { choosePipeline } = await import('../recognition/pipeline-choice.ts');
    const choice = await choosePipeline({
      detector: recognition.detector,
      encoder: recognition.encoder,
      modelsDir,
      identities: faces.list(),
      fetchMissing: recognition.fetchModels,
    });
    for (const note of choice.notes) logger[note.level]({ event: note.event }, note.message);
    const antiSpoofing = await prepareAntiSpoofing(config, modelsDir, logger);
    const analyser = await WorkerAnalyser.start(
      {
        pipeline: {
          backend: recognition.backend,
          detector: choice.detector,
          yunetInputSize: recognition.yunetInputSize,
          tinyInputSize: recognition.tinyInputSize,
          encoder: choice.encoder,
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
    stoppers.push({ what: 'inference worker', stop: () => analyser.close() });
    const padAvailable = analyser.padStatus === 'ready';
    const padProblem = antiSpoofing.needsPad && !padAvailable ? (antiSpoofing.problem ?? analyser.padStatus) : null;
    if (padProblem)
      logger.warn(
        { event: 'anti-spoofing-unavailable', error: padProblem },
        `anti-spoofing unavailable: ${padProblem}`,
      );
    // A signal during model loading: stop() is already running; do not start anything else.
    if (stopping) {
      throw new FacegateError(
        'stopped by a signal during start-up',
        stopSignal ? signalExitCode(stopSignal) : ExitCode.ok,
      );
    }

    // 3. The frame path and the door flow, the metrics, then the feature modules.
    const frames = new FramePipeline({ analyser, bus, logger });
    const enrollment = new EnrollmentCapture(recognition.minFaceSize);
    frames.use(enrollment);
    const metrics = createMetricsModule(bus, frames);
    const context: DaemonContext = {
      bus,
      db: faces,
      analyser,
      logger,
      kioskId: config.kioskId,
      dataDir,
      frames,
      metrics,
      captureFrames: (samples, timeoutMs, signal) => enrollment.capture(samples, timeoutMs, signal),
      onDisplayUrl: options.onDisplayUrl,
    };
    const flow = new DoorFlow({
      bus,
      db: faces,
      door: doorLock,
      logger,
      settings: door,
      encoderId: analyser.encoderId,
      threshold: analyser.threshold,
      logFullBadge: config.badge.logFull,
      kioskId: config.kioskId,
      liveness: { padAvailable },
    });
    await flow.start();
    stoppers.push({ what: 'door flow', stop: () => flow.stop() });
    frames.use({ name: 'door-flow', phase: 'decide', onAnalysis: (analysis) => flow.onFrameAnalysis(analysis) });
    const features = (options.features ?? FEATURES).filter((feature) => feature.enabled(config));
    const builders = [() => metrics, ...features.map((feature) => () => feature.create(context, config))];
    for (const build of builders) {
      const module = build();
      await module.start();
      stoppers.push({ what: module.name, stop: () => module.stop() });
      logger.info({ event: 'module-started', module: module.name }, `module ${module.name} started`);
    }
    stoppers.push({ what: 'enrollment capture', stop: () => enrollment.stop() });
    // Raised once the modules listen, so MQTT publishes it and /healthz shows it.
    if (padProblem) {
      const policy =
        door.antiSpoofing.whenUnavailable === 'deny'
          ? 'face claims are denied (fail secure)'
          : 'face claims are decided WITHOUT passive anti-spoofing (whenUnavailable: allow)';
      bus.alarm('anti-spoofing-unavailable', `anti-spoofing model unavailable: ${policy}`);
    }

    // 4. Inputs: badges, the door contact, then the camera.
    const badgeSources: BadgeSource[] = [];
    for (const spec of config.badge.sources) {
      // MQTT badges arrive through the MQTT module, which emits badgeRead itself.
      if (spec === 'mqtt' || spec === 'none') continue;
      const source = createBadgeSource(spec, { input: options.badgeInput, format: config.badge.format, logger });
      source.start((badge: string) => bus.emit('badgeRead', { badge, source: spec }));
      badgeSources.push(source);
      stoppers.push({ what: 'badge source', stop: () => source.stop() });
    }
    if (door.contact) {
      const inputOpts = { activeLow: door.inputsActiveLow, logger };
      const monitor = new DoorMonitor({
        contact: createDoorContact(door.contact, inputOpts),
        rex: door.rex ? createDoorContact(door.rex, inputOpts) : undefined,
        bus,
        heldOpenMs: door.heldOpenMs,
        logger,
      });
      stoppers.push({ what: 'door monitor', stop: () => monitor.stop() });
      await monitor.start();
    }
    const camera = options.camera ?? configuredCamera(config, logger);
    stoppers.push({ what: 'camera', stop: () => frames.stop() });
    let shownCamera = frames.cameraState;
    bus.on('cameraState', ({ state, detail }) => {
      if (state !== shownCamera) sd?.status(`camera ${state}${detail ? `: ${detail}` : ''}`);
      shownCamera = state;
    });
    frames.start(camera);

    // READY only now: systemd's start-up timeout covers model loading, and the watchdog pings from the main loop.
    sd = initSdNotify({ logger });
    sd.ready(`${door.mode} mode, camera ${frames.cameraState}`);
    logger.info(
      {
        event: 'started',
        mode: door.mode,
        antiSpoofing: door.antiSpoofing.mode,
        backend: analyser.backend,
        detector: analyser.detector,
        encoder: analyser.encoderId,
        threshold: analyser.threshold,
        camera: camera.description,
        relay: driver.description,
        badgeSources: config.badge.sources,
        db: faces.file,
      },
      `facegate running as kiosk ${config.kioskId}: ${door.mode} mode, ${analyser.backend} backend, ${analyser.detector} + ${analyser.encoderId} at ${analyser.threshold} (${metricLabel(metricOfEncoder(analyser.encoderId))})`,
    );
    return {
      bus,
      config,
      logger,
      doorLock,
      db: faces,
      analyser,
      flow,
      frames,
      context,
      exited,
      reload,
      reloadDatabase,
      stop,
    };
  } catch (err) {
    await stop().catch(() => {});
    // A signal during start-up began stopping while parts were still starting: stop those too.
    await unwind();
    throw err;
  }
}

function configuredCamera(config: FacegateConfig, logger: Logger): CameraSource {
  const { camera } = config;
  return createCamera(camera.source, {
    width: camera.width,
    height: camera.height,
    fps: camera.fps,
    loop: camera.loop,
    // intervalMs paces stills; for the other sources the rate comes from fps.
    intervalMs: camera.source.startsWith('webcam:') ? camera.intervalMs : undefined,
    logger,
  });
}
