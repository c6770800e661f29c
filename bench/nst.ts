/**
 * `facegate bench nst`: fast style at 400x300 and 640x480 (median ms, peak RSS) and one Gatys iteration with
 * full VGG-19 shapes and random weights at 400x300 (the .mat is not needed for timing).
 * Peak RSS is the process high-water mark (getrusage), so the fast runs go first, before Gatys' larger heap.
 */
import { performance } from 'node:perf_hooks';
import { buildFastStyleNet, stylizeFast } from '../src/nst/fast-net.ts';
import { loadStyleByName } from '../src/nst/fast-style-kind.ts';
import { runGatys } from '../src/nst/gatys.ts';
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
  log?: (line: string) => void;
}

export interface NstBenchResult {
  fast: { style: string; '400x300Ms': number; '640x480Ms': number; peakRssMB: number };
  gatys: { '400x300IterMs': number | null; iterations: number };
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
  const iterations = opts.gatysIterations ?? 3;
  if (!opts.skipGatys) {
    const vgg = buildVgg(syntheticVggConvs(1));
    const stamps: number[] = [];
    await runGatys(
      vgg,
      testImage(400, 300, 3),
      testImage(400, 300, 11),
      { iterations: iterations + 1, reportEvery: 1 },
      {
        onProgress: (p) => {
          stamps.push(performance.now());
          log(`gatys iteration ${p.iteration}: J=${p.J.toExponential(3)}`);
        },
      },
    );
    vgg.dispose();
    // The first iteration also computes the targets; time the ones after it.
    const per = stamps.slice(1).map((t, i) => t - (stamps[i] as number));
    log(`gatys 400x300 per iteration: ${per.map((t) => t.toFixed(0)).join(', ')} ms`);
    iterMs = Math.round(median(per));
  }
  return {
    fast: { style, '400x300Ms': small, '640x480Ms': large, peakRssMB },
    gatys: { '400x300IterMs': iterMs, iterations },
    backend,
  };
}
