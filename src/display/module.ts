/**
 * The display feature module: the kiosk page with live state over Server-Sent Events, /healthz, /metrics, and the
 * idle-time welcome portraits. Everything it knows comes from the bus; it never acts on the door.
 *
 * A display that cannot listen (port taken) is logged and left off: the door keeps working without its screen.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { DaemonContext, DaemonModule, Feature, MetricsView } from '../bus/module.ts';
import type { HttpConfig } from '../config/sections/http.ts';
import { resolveModelsDir } from '../models/paths.ts';
import { DEFAULT_FAST_STYLES, fastStyleDir } from '../nst/catalog.ts';
import type { FaceBox } from '../recognition/pipeline.ts';
import type { RgbImage } from '../runtime/image.ts';
import { errorMessage } from '../util/errors.ts';
import { PortraitCache } from './portrait-cache.ts';
import { PortraitCapture } from './portrait-capture.ts';
import { type JobOutcome, PortraitService } from './portraits.ts';
import { createNstRenderer, type PortraitRenderer } from './renderer.ts';
import { type BinaryBody, DisplayServer, loadPageAssets } from './server.ts';
import { DisplayState } from './view.ts';

/** The latest camera picture and face box, for the optional preview (`http.preview: true`). */
export interface PreviewSource {
  latest(): { image: RgbImage; box: FaceBox | null } | null;
}

export interface DisplayDeps {
  /** What /metrics renders and /healthz reads the event-loop lag from; default the daemon's (`ctx.metrics`). */
  metrics?: MetricsView;
  /** Paints portraits; without one the slideshow shows what is cached and renders nothing new. */
  renderer?: PortraitRenderer;
  /** Liveness of the inference worker for /healthz; default: the analyser's `ready` flag. */
  workerAlive?: () => boolean;
  preview?: PreviewSource;
  /** `door.antiSpoofing` as configured, for /healthz (absent: reported as off). */
  antiSpoofing?: { mode: string; whenUnavailable: string };
  /** Observes each finished, failed or preempted portrait job (tests, benchmarks). */
  onPortraitJob?: (outcome: JobOutcome) => void;
  /** Whether a fast style is installed; only installed styles are rotated through. */
  styleInstalled?: (style: string) => boolean;
  /** Told the page's address once the server listens (the first-run hint on a terminal). */
  onListening?: (url: string) => void;
}

export interface DisplayModule extends DaemonModule {
  /** The port actually listened on (after start), or null when the server is off. */
  readonly port: number | null;
  readonly state: DisplayState;
  readonly portraits: PortraitService | null;
}

export function createDisplayModule(ctx: DaemonContext, config: HttpConfig, deps: DisplayDeps): DisplayModule {
  const { bus, logger } = ctx;
  const metrics = deps.metrics ?? ctx.metrics;
  let server: DisplayServer | null = null;
  let cache: PortraitCache | null = null;
  let portraits: PortraitService | null = null;
  let capture: PortraitCapture | null = null;
  let offs: Array<() => void> = [];
  let port: number | null = null;
  let broadcastQueued = false;
  let brokerConnected: boolean | null = null;
  let cameraState: string | null = null;
  let padUnavailable = false;
  const startedAt = Date.now();
  // Filled in start(), once the page files are read (their hash is the page version).
  let state = new DisplayState({
    siteName: config.siteName,
    slideSeconds: config.portraits.slideSeconds,
    preview: config.preview,
    pageVersion: '',
  });

  // Several bus events often arrive in one tick (GRANTED then COOLDOWN): send the page only the settled view.
  const scheduleBroadcast = () => {
    if (broadcastQueued) return;
    broadcastQueued = true;
    queueMicrotask(() => {
      broadcastQueued = false;
      server?.broadcast();
    });
  };
  const refreshPortraits = () => {
    const list = cache?.list() ?? [];
    state.setPortraits(
      list.map((e) => ({
        id: e.id,
        name: e.name,
        style: e.style,
        createdAt: e.createdAt,
        url: `/portraits/${e.id}.jpg`,
      })),
    );
  };

  const health = () => {
    const lag = metrics.eventLoopLag();
    const alive = deps.workerAlive?.() ?? ctx.analyser.ready;
    const worker = alive ? 'alive' : 'dead';
    const spoofing = deps.antiSpoofing;
    const antiSpoofing = !spoofing || spoofing.mode === 'off' ? 'off' : padUnavailable ? 'unavailable' : 'on';
    // A loop this late is not serving anyone (this answer itself came late); a dead worker means no face checks,
    // and so does a missing anti-spoofing model when the door fails secure without it.
    const denyingAll = antiSpoofing === 'unavailable' && spoofing?.whenUnavailable === 'deny';
    const ok = worker !== 'dead' && lag.p99Ms < 2000 && !denyingAll;
    return {
      ok,
      body: {
        status: ok ? 'ok' : 'unhealthy',
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        eventLoopLagMs: { p50: round(lag.p50Ms), p99: round(lag.p99Ms), max: round(lag.maxMs) },
        worker,
        camera: cameraState ?? 'unknown',
        antiSpoofing,
        broker: brokerConnected === null ? 'unknown' : brokerConnected ? 'connected' : 'disconnected',
        displayClients: server?.clientCount ?? 0,
        portraits: {
          cached: cache?.list().length ?? 0,
          queued: portraits?.queued ?? 0,
          rendering: portraits?.running ?? false,
        },
      },
    };
  };

  const preview = async (): Promise<BinaryBody | null> => {
    const shot = config.preview ? deps.preview?.latest() : null;
    if (!shot) return null;
    const { image, box } = shot;
    let pipeline = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
      raw: { width: image.width, height: image.height, channels: 3 },
    });
    if (box) {
      const overlay = `<svg xmlns="http://www.w3.org/2000/svg" width="${image.width}" height="${image.height}"><rect x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}" fill="none" stroke="#00e676" stroke-width="4"/></svg>`;
      pipeline = pipeline.composite([{ input: Buffer.from(overlay), top: 0, left: 0 }]);
    }
    return { body: await pipeline.jpeg({ quality: 70 }).toBuffer(), type: 'image/jpeg' };
  };

  return {
    name: 'display',
    get port() {
      return port;
    },
    get state() {
      return state;
    },
    get portraits() {
      return portraits;
    },

    async start() {
      if (!config.enabled) {
        logger.info(
          { event: 'display', enabled: false },
          'display, /healthz and /metrics are off (http.enabled: false)',
        );
        return;
      }
      const assets = await loadPageAssets();
      state = new DisplayState({
        siteName: config.siteName,
        slideSeconds: config.portraits.slideSeconds,
        preview: config.preview,
        pageVersion: assets.version,
      });
      offs = [
        state.onChange(scheduleBroadcast),
        bus.on('flowState', (event) => state.applyFlowState(event)),
        bus.on('cameraState', ({ state: camera, detail }) => {
          cameraState = camera;
          state.setCamera(camera, detail);
        }),
        bus.on('brokerState', ({ connected }) => {
          brokerConnected = connected;
          state.setBroker(connected);
        }),
        bus.on('doorState', ({ state: door }) => state.setDoor(door)),
        bus.on('alarm', ({ kind }) => {
          if (kind === 'anti-spoofing-unavailable') padUnavailable = true;
        }),
      ];

      const portraitsConfig = config.portraits;
      cache = await PortraitCache.open(path.join(ctx.dataDir, 'portraits'), {
        maxCount: portraitsConfig.maxCount,
        maxAgeMs: portraitsConfig.maxAgeDays * 86_400_000,
      });
      if (portraitsConfig.enabled && deps.renderer) {
        portraits = new PortraitService({
          bus,
          db: ctx.db,
          logger,
          cache,
          renderer: deps.renderer,
          config: portraitsConfig,
          styles: portraitsConfig.styles.length > 0 ? portraitsConfig.styles : DEFAULT_FAST_STYLES,
          styleInstalled: deps.styleInstalled,
          onPortraitsChanged: refreshPortraits,
          onProgress: (progress) => state.setProgress(progress),
          onJob: deps.onPortraitJob,
          nstJob: (result, method, seconds) => bus.emit('portraitJob', { result, method, seconds }),
        });
        await portraits.start();
        // Only a running portrait service gets frames: without it no face is ever copied for a portrait.
        capture = new PortraitCapture(bus, ctx.db);
        capture.start();
        offs.push(ctx.frames.use(capture));
      }
      refreshPortraits();

      const activeCache = cache;
      server = new DisplayServer({
        assets,
        snapshot: () => state.snapshot(),
        health,
        metrics: async () => ({ body: await metrics.render(), type: metrics.contentType }),
        portrait: async (id) => {
          const body = await activeCache.read(id);
          return body ? { body, type: 'image/jpeg' } : null;
        },
        preview,
        onError: (what, err) =>
          logger.warn(
            { event: 'display-error', what, error: errorMessage(err) },
            `display: ${what}: ${errorMessage(err)}`,
          ),
      });
      try {
        port = await server.listen(config.port, config.bind);
        const url = `http://${config.bind}:${port}/`;
        logger.info({ event: 'display', url }, `display on ${url}`);
        deps.onListening?.(url);
      } catch (err) {
        server = null;
        logger.error(
          { event: 'display', error: errorMessage(err) },
          `${errorMessage(err)}; the page, /healthz and /metrics are off, the door keeps working`,
        );
      }
    },

    async stop() {
      for (const off of offs) off();
      offs = [];
      capture?.stop();
      capture = null;
      await portraits?.stop();
      portraits = null;
      await server?.close();
      server = null;
      port = null;
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/**
 * The display feature for compose's list: the page with the real NST renderer, its models directory resolved like
 * the rest of the daemon's. On when `http.enabled`.
 */
export const displayFeature: Feature = {
  name: 'display',
  enabled: (config) => config.http.enabled,
  create: (ctx, config) => {
    const modelsDir = resolveModelsDir(undefined, config.recognition.modelsDir ?? undefined);
    return createDisplayModule(ctx, config.http, {
      antiSpoofing: config.door.mode === 'badge' ? undefined : config.door.antiSpoofing,
      styleInstalled: (style) => existsSync(fastStyleDir(modelsDir, style)),
      onListening: ctx.onDisplayUrl,
      renderer: createNstRenderer({ modelsDir }),
    });
  },
};
