/**
 * `facegate bench nst`: fast style at 400x300 and 640x480 (median ms, peak RSS) and one Gatys iteration with
 * full VGG-19 shapes and random weights at 400x300 (the .mat is not needed for timing).
 * Peak RSS is the process high-water mark (getrusage), so the fast runs go first, before Gatys' larger heap.
 */

import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { buildFastStyleNet, stylizeFast } from '../src/nst/fast-net.ts';
import { loadStyleByName } from '../src/nst/fast-style-kind.ts';
import { runGatys } from '../src/nst/gatys.ts';
import { runGatysSplit } from '../src/nst/gatys-split.ts';
import { buildVgg } from '../src/nst/vgg.ts';
import { syntheticVggConvs } from '../src/nst/vgg-synthetic.ts';
import type { RgbImage } from '../src/runtime/image.ts';
import { type BackendName, initBackend } from '../src/runtime/tf.ts';

export interface NstBenchOptions {
  modelsDir: string;
  style?: string;
  backend?: BackendName;
  fastRuns?: number;
  gatysIterations?: number;
  skipGatys?: boolean;
  /** 2 = split Gatys on this thread plus a helper worker (default when 2+ cores); 1 = the single-thread path. */
  gatysParts?: number;
  log?: (line: string) => void;
}

export interface NstBenchResult {
  fast: { style: string; '400x300Ms': number; '640x480Ms': number; peakRssMB: number };
  gatys: { '400x300IterMs': number | null; iterations: number; parts: number; bandsPerIteration: number[] };
  backend: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function testImage(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 255) / width;
      data[i + 1] = (y * 255) / height;
      data[i + 2] = ((x ^ y) * seed) & 255;
    }
  return { data, width, height };
}

export async function benchNst(opts: NstBenchOptions): Promise<NstBenchResult> {
  const log = opts.log ?? (() => {});
  const backend = await initBackend(opts.backend ?? 'wasm');
  const style = opts.style ?? 'udnie';
  const net = buildFastStyleNet(await loadStyleByName(opts.modelsDir, style));
  const timeFast = async (w: number, h: number, runs: number): Promise<number> => {
    const img = testImage(w, h, 7);
    await stylizeFast(net, img); // warm-up: wasm code paths and heap growth
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await stylizeFast(net, img);
      times.push(performance.now() - t0);
    }
    log(`fast ${style} ${w}x${h}: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
    return Math.round(median(times));
  };
  const runs = opts.fastRuns ?? 5;
  const small = await timeFast(400, 300, runs);
  const large = await timeFast(640, 480, Math.max(1, Math.ceil(runs / 2)));
  net.dispose();
  const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);

  let iterMs: number | null = null;
  let bandsTimed: number[] = [];
  const iterations = opts.gatysIterations ?? 3;
  const parts = opts.gatysParts ?? (availableParallelism() >= 2 ? 2 : 1);
  if (!opts.skipGatys) {
    const convs = syntheticVggConvs(1);
    const stamps: number[] = [];
    const bands: number[] = [];
    const hooks = {
      onProgress: (p: { iteration: number; J: number; bands?: number }) => {
        stamps.push(performance.now());
        bands.push(p.bands ?? 1);
        log(`gatys iteration ${p.iteration}: J=${p.J.toExponential(3)}`);
      },
    };
    const content = testImage(400, 300, 3);
    const style = testImage(400, 300, 11);
    const gatysOpts = { iterations: iterations + 1, reportEvery: 1 };
    if (parts > 1) {
      await runGatysSplit(convs, content, style, gatysOpts, hooks, { parts });
    } else {
      const vgg = buildVgg(convs);
      await runGatys(vgg, content, style, gatysOpts, hooks);
      vgg.dispose();
    }
    // The first iteration also computes the targets; time the ones after it.
    const per = stamps.slice(1).map((t, i) => t - (stamps[i] as number));
    log(`gatys 400x300 per iteration: ${per.map((t) => t.toFixed(0)).join(', ')} ms`);
    iterMs = Math.round(median(per));
    // Split Gatys falls back to one band while other processes keep a core busy: say what was timed.
    bandsTimed = bands.slice(1);
  }
  return {
    fast: { style, '400x300Ms': small, '640x480Ms': large, peakRssMB },
    gatys: { '400x300IterMs': iterMs, iterations, parts, bandsPerIteration: bandsTimed },
    backend,
  };
}
