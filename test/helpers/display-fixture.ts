/**
 * Shared set-up for the display, metrics and portrait tests: a real EventBus and FaceDb in a temp dir, a fake
 * analyser (the page tests need no models), a fake portrait renderer, free ports, and Chromium through
 * playwright-core.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { EventBus } from '../../src/bus/event-bus.ts';
import type { DaemonContext, FaceAnalyser } from '../../src/bus/module.ts';
import { type HttpConfig, httpSection } from '../../src/config/sections/http.ts';
import { createDisplayModule, type DisplayDeps, type DisplayModule } from '../../src/display/module.ts';
import type { PortraitRenderer, RenderRequest } from '../../src/display/renderer.ts';
import { FramePipeline } from '../../src/inference/frame-pipeline.ts';
import { createMetrics, type Metrics } from '../../src/metrics/metrics.ts';
import { loadImage, type RgbImage } from '../../src/runtime/image.ts';
import { FaceDb } from '../../src/store/face-db.ts';
import { repoRoot, sharedPath } from './shared.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const skipUnlessChromium: string | false = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} not found (apt-get install chromium; .ci/run installs it)`;
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];
export const ARTIFACTS = path.join(repoRoot, 'test-artifacts');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export const silentLogger = pino({ level: 'silent' });

export class FakeAnalyser implements FaceAnalyser {
  readonly encoderId = 'fake';
  readonly threshold = 0.6;
  readonly backend = 'fake';
  readonly droppedFrames = 0;
  readonly analysedFrames = 0;
  ready = true;
  analyseFrame() {
    return Promise.resolve(null);
  }
  enrollImages() {
    return Promise.resolve([]);
  }
  enrollFrames() {
    return Promise.resolve([]);
  }
  close() {
    return Promise.resolve();
  }
}

/** A stand-in for the NST job: inverts a warm tint after `delayMs`, rejecting as soon as the signal aborts. */
export function fakeRenderer(delayMs = 50): PortraitRenderer & { calls: number; requests: RenderRequest[] } {
  const renderer = {
    calls: 0,
    requests: [] as RenderRequest[],
    render(face: RgbImage, request: RenderRequest, control: { signal: AbortSignal }): Promise<RgbImage> {
      renderer.calls += 1;
      renderer.requests.push(request);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const data = new Uint8Array(face.data.length);
          for (let i = 0; i < data.length; i += 3) {
            data[i] = Math.min(255, (face.data[i] ?? 0) * 0.7 + 70);
            data[i + 1] = (face.data[i + 1] ?? 0) * 0.6 + 30;
            data[i + 2] = 200 - (face.data[i + 2] ?? 0) * 0.5;
          }
          resolve({ data, width: face.width, height: face.height });
        }, delayMs);
        control.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new DOMException('aborted', 'AbortError'));
        });
      });
    },
  };
  return renderer;
}

/** A real face when ../shared is there (nicer screenshots), otherwise a synthetic gradient. */
export async function sampleFace(): Promise<RgbImage> {
  const file = sharedPath('data', 'faces', 'happy-house', 'younes.jpg');
  if (existsSync(file)) return loadImage(file);
  const size = 160;
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i += 1) {
    data[i * 3] = (i % size) + 60;
    data[i * 3 + 1] = Math.floor(i / size) + 40;
    data[i * 3 + 2] = 120;
  }
  return { data, width: size, height: size };
}

export interface Fixture {
  dir: string;
  bus: EventBus;
  db: FaceDb;
  ctx: DaemonContext;
  analyser: FakeAnalyser;
  metrics: Metrics;
  /** Starts a display module on the fixture's port (again after a stop: the "daemon restart"). */
  startDisplay(deps?: Partial<DisplayDeps>): Promise<DisplayModule>;
  http: HttpConfig;
  url: string;
  close(): Promise<void>;
}

export async function createFixture(http: Record<string, unknown> = {}): Promise<Fixture> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-display-'));
  await mkdir(path.join(dir, 'data'), { recursive: true });
  const bus = new EventBus();
  const db = await FaceDb.open(path.join(dir, 'data', 'faces.json'));
  db.onChange((id, change) => bus.emit('identitiesChanged', { id, change }));
  const analyser = new FakeAnalyser();
  const metrics = createMetrics();
  // As the daemon's metrics module does: the counters follow the bus.
  const offMetrics = metrics.attachBus(bus);
  const ctx: DaemonContext = {
    bus,
    db,
    analyser,
    logger: silentLogger,
    kioskId: 'test-kiosk',
    dataDir: path.join(dir, 'data'),
    frames: new FramePipeline({ analyser, bus, logger: silentLogger }),
    metrics,
    captureFrames: () => Promise.resolve([]),
  };
  const port = await freePort();
  const config = httpSection.parse({ port, siteName: 'Happy House Lab', ...http });
  const started: DisplayModule[] = [];
  return {
    dir,
    bus,
    db,
    ctx,
    analyser,
    metrics,
    http: config,
    url: `http://127.0.0.1:${port}/`,
    async startDisplay(deps = {}) {
      const module = createDisplayModule(ctx, config, { metrics, ...deps });
      await module.start();
      started.push(module);
      return module;
    },
    async close() {
      for (const module of started) await module.stop();
      offMetrics();
      metrics.close();
      bus.removeAllListeners();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Adds an identity the way enrollment would (encodings are irrelevant to the display). */
export async function addPerson(db: FaceDb, id: string, name: string, portraitConsent: boolean): Promise<void> {
  await db.upsert({ id, name, badges: [`badge-${id}-0001`], enabled: true, portraitConsent });
}
