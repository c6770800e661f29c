/**
 * `facegate bench e2e`: the running daemon (composed in-process, inference worker, door flow in face mode) fed a
 * face clip from a `dir` folder or a `video` file built from the shared bbt photos, each person in front of the
 * camera for 2 s, with empty frames between visits. Measures capture → decision latency (access events),
 * capture → analysis latency per frame, analysed fps, dropped frames, the main thread's event-loop lag p99 while
 * inference runs, and RSS at the end.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { defaultConfig } from '../src/config/load.ts';
import type { FacegateConfig } from '../src/config/schema.ts';
import { compose } from '../src/daemon/compose.ts';
import type { BackendName } from '../src/runtime/tf.ts';
import { FacegateError } from '../src/util/errors.ts';
import { median, percentile, round1 } from '../src/util/stats.ts';
import { composeFacePng } from './face-frames.ts';

/** People whose 5th photo the tiny detector finds in a 640x480 frame at this size. */
const PEOPLE = ['amy', 'penny', 'raj', 'sheldon', 'bernadette', 'howard'];
const FPS = 10;
const VISIT_FRAMES = 20;
const EMPTY_FRAMES = 5;

export interface E2eBenchOptions {
  sharedDir: string;
  source: 'dir' | 'video';
  durationS: number;
  backend?: BackendName;
  /** `default`: YuNet + reid-0095 (weights from `modelsDir`); `face-api`: tiny + dlib-resnet128 (issue 17's old). */
  pipeline?: 'default' | 'face-api';
  /** Where YuNet/reid-0095 are (default: `<shared>/models`, laid out as `facegate models import` does). */
  modelsDir?: string;
  /** `door.antiSpoofing.mode` for the run (default off: the figures before issue 12 were taken without it). */
  antiSpoofing?: FacegateConfig['door']['antiSpoofing']['mode'];
  log?: (line: string) => void;
}

export interface E2eBenchResult {
  source: string;
  /** detector + encoder that ran. */
  pipeline: string;
  durationS: number;
  backend: string;
  latency: { p50Ms: number; p95Ms: number; decisions: number };
  frameLatency: { p50Ms: number; p95Ms: number };
  inferenceMs: { p50Ms: number; p95Ms: number };
  capturedFrames: number;
  analysedFrames: number;
  analysedFps: number;
  droppedFrames: number;
  eventLoopLagP99Ms: number;
  rssMB: number;
  /** Where the RSS goes (MB): V8 heaps of both threads, the worker's wasm heap, and main-thread ArrayBuffers. */
  memory: {
    /** RSS before the daemon starts (bench + CLI modules), once the worker has its models, after enrollment. */
    rssBeforeStartMB: number;
    rssWorkerReadyMB: number;
    rssEnrolledMB: number;
    mainJsHeapMB: number;
    arrayBuffersMB: number;
    workerJsHeapMB: number | null;
    workerWasmHeapMB: number | null;
  };
  decisions: { granted: number; denied: number; deniedReasons: Record<string, number> };
}

const toMB = (bytes: number) => Math.round(bytes / 2 ** 20);

async function buildClip(sharedDir: string, workDir: string, source: 'dir' | 'video'): Promise<string> {
  const framesDir = path.join(workDir, 'frames');
  await mkdir(framesDir, { recursive: true });
  const blank = await composeFacePng(path.join(sharedDir, 'data', 'faces', 'bbt', 'amy', 'amy1.png'), 1);
  let n = 0;
  const name = () => path.join(framesDir, `frame${String(n++).padStart(4, '0')}.png`);
  for (const person of PEOPLE) {
    const png = await composeFacePng(path.join(sharedDir, 'data', 'faces', 'bbt', person, `${person}5.png`)).catch(
      () => {
        throw new FacegateError(`bench e2e needs the shared bbt photos (${sharedDir})`);
      },
    );
    for (let i = 0; i < VISIT_FRAMES; i++) await writeFile(name(), png);
    for (let i = 0; i < EMPTY_FRAMES; i++) await writeFile(name(), blank);
  }
  if (source === 'dir') return `dir:${framesDir}`;
  const video = path.join(workDir, 'clip.mp4');
  try {
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-framerate',
      String(FPS),
      '-i',
      path.join(framesDir, 'frame%04d.png'),
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      video,
    ]);
  } catch (err) {
    throw new FacegateError(
      `bench e2e --source video needs ffmpeg (Debian package ffmpeg): ${(err as Error).message.split('\n')[0]}`,
    );
  }
  return `video:${video}`;
}

export async function benchE2e(opts: E2eBenchOptions): Promise<E2eBenchResult> {
  const log = opts.log ?? (() => {});
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'facegate-bench-e2e-'));
  try {
    const cameraSpec = await buildClip(opts.sharedDir, workDir, opts.source);
    const base = defaultConfig();
    const config: FacegateConfig = {
      ...base,
      kioskId: 'bench',
      recognition: {
        ...base.recognition,
        backend: opts.backend ?? 'auto',
        ...(opts.pipeline === 'face-api'
          ? { detector: 'tiny' as const, encoder: 'dlib-resnet128' }
          : { modelsDir: opts.modelsDir ?? path.join(opts.sharedDir, 'models'), fetchModels: false }),
      },
      camera: { ...base.camera, source: cameraSpec, fps: FPS, loop: true },
      door: {
        ...base.door,
        mode: 'face',
        cooldownMs: 500,
        relay: 'simulated',
        antiSpoofing: { ...base.door.antiSpoofing, mode: opts.antiSpoofing ?? 'off' },
      },
      badge: { ...base.badge, sources: ['none'] },
      data: { dir: workDir, dbFile: path.join(workDir, 'faces.json') },
      logging: { level: 'silent' },
    };
    log(`starting the daemon on ${cameraSpec}`);
    const rssBeforeStartMB = toMB(process.memoryUsage().rss);
    const daemon = await compose(config, { logger: pino({ level: 'silent' }), features: [] });
    const rssWorkerReadyMB = toMB(process.memoryUsage().rss);
    try {
      for (const person of PEOPLE) {
        const images = await Promise.all(
          [1, 2, 3, 4].map((i) =>
            readFile(path.join(opts.sharedDir, 'data', 'faces', 'bbt', person, `${person}${i}.png`)),
          ),
        );
        const encodings = (await daemon.analyser.enrollImages(images, 'bench')).flatMap((r) =>
          r.encoding ? [r.encoding] : [],
        );
        await daemon.db.upsert({ id: person, name: person, badges: [], enabled: true });
        await daemon.db.addEncodings(person, encodings);
      }
      const rssEnrolledMB = toMB(process.memoryUsage().rss);
      log(`enrolled ${PEOPLE.length} people; warming up 5 s, then measuring ${opts.durationS} s`);
      await new Promise((r) => setTimeout(r, 5000));

      const decisionLatencies: number[] = [];
      const frameLatencies: number[] = [];
      const inference: number[] = [];
      const decisions = { granted: 0, denied: 0, deniedReasons: {} as Record<string, number> };
      const offAccess = daemon.bus.on('access', (e) => {
        if (e.latencyMs !== null) decisionLatencies.push(e.latencyMs);
        if (e.decision === 'granted') decisions.granted += 1;
        else {
          decisions.denied += 1;
          decisions.deniedReasons[e.reason] = (decisions.deniedReasons[e.reason] ?? 0) + 1;
        }
      });
      // Per-frame latency: a frame-path consumer sees each analysis in the same turn as the door flow.
      const { analyser, frames } = daemon;
      const offFrames = frames.use({
        name: 'bench',
        phase: 'observe',
        onAnalysis: (analysis) => {
          frameLatencies.push(Date.now() - analysis.capturedAt);
          inference.push(analyser.lastInferenceMs);
        },
      });
      const startCaptured = frames.capturedFrames;
      const startAnalysed = analyser.analysedFrames;
      const startDropped = analyser.droppedFrames;
      const lag = monitorEventLoopDelay({ resolution: 10 });
      lag.enable();
      const t0 = performance.now();
      let nextReport = 10;
      while ((performance.now() - t0) / 1000 < opts.durationS) {
        await new Promise((r) => setTimeout(r, 1000));
        const elapsed = (performance.now() - t0) / 1000;
        if (elapsed >= nextReport) {
          log(
            `${Math.round(elapsed)} s: ${analyser.analysedFrames - startAnalysed} analysed, ${decisionLatencies.length} decisions, RSS ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB`,
          );
          nextReport += 10;
        }
      }
      lag.disable();
      const seconds = (performance.now() - t0) / 1000;
      offAccess();
      offFrames();
      const analysed = analyser.analysedFrames - startAnalysed;
      const worker = await analyser.workerMemory().catch(() => null);
      const main = process.memoryUsage();
      return {
        source: opts.source,
        pipeline: `${daemon.analyser.detector ?? '?'} + ${daemon.analyser.encoderId}`,
        durationS: round1(seconds),
        backend: analyser.backend,
        latency: {
          p50Ms: round1(median(decisionLatencies)),
          p95Ms: round1(percentile(decisionLatencies, 95)),
          decisions: decisionLatencies.length,
        },
        frameLatency: { p50Ms: round1(median(frameLatencies)), p95Ms: round1(percentile(frameLatencies, 95)) },
        inferenceMs: { p50Ms: round1(median(inference)), p95Ms: round1(percentile(inference, 95)) },
        capturedFrames: frames.capturedFrames - startCaptured,
        analysedFrames: analysed,
        analysedFps: round1(analysed / seconds),
        droppedFrames: analyser.droppedFrames - startDropped,
        eventLoopLagP99Ms: round1(lag.percentile(99) / 1e6),
        rssMB: toMB(main.rss),
        memory: {
          rssBeforeStartMB,
          rssWorkerReadyMB,
          rssEnrolledMB,
          mainJsHeapMB: toMB(main.heapTotal),
          arrayBuffersMB: toMB(main.arrayBuffers),
          workerJsHeapMB: worker ? toMB(worker.jsHeapTotalBytes) : null,
          workerWasmHeapMB: worker ? toMB(worker.wasmHeapBytes) : null,
        },
        decisions,
      };
    } finally {
      await daemon.stop();
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
