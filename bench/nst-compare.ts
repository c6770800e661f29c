/**
 * The fast-style half of `facegate bench nst`: facegate's fast style against the plain reference (nst-plain.ts,
 * in a child process so its ~1.7 GB does not count in facegate's peak RSS), interleaved run by run in the same
 * minutes, at each size: medians, their ratio, achieved GFLOPS (from the network's layer shapes) against the
 * ~27 GFLOPS one wasm thread reaches on its convs, the bands each facegate run used, and the largest difference
 * between the two outputs (the comparison is only fair if they compute the same image).
 */
import { performance } from 'node:perf_hooks';
import { buildFastStyleNet, stylizeFast } from '../src/nst/fast/net.ts';
import { type FastParts, runFastSplit, stopFastHelper, warmFastHelper } from '../src/nst/fast/split.ts';
import { loadStyleByName } from '../src/nst/fast/style-kind.ts';
import { FAST_FILTER_SHAPES } from '../src/nst/fast/weights.ts';
import type { RgbImage } from '../src/runtime/image.ts';
import { forkEntry, siblingEntry } from '../src/util/entry.ts';
import type { PlainReply, PlainRequest } from './nst-plain-child.ts';

/** What one wasm thread's XNNPACK convs reach on this network's 3x3x128 layers (issue 16's figure). */
export const WASM_CONV_GFLOPS = 27;

/**
 * Multiply-add FLOPs (2 per multiply-add) of the network at H x W, from its layer shapes: output size of each
 * conv = input / stride; the transposed convs cost 9·in·out per input pixel (SAME, stride 2).
 */
export function fastStyleFlops(width: number, height: number): number {
  // Output scale (divisor of the image size) of each layer, in FAST_FILTER_SHAPES order.
  const scales = [1, 2, 4, ...Array.from({ length: 10 }, () => 4), 2, 1, 1];
  return FAST_FILTER_SHAPES.reduce((sum, [kh, kw, a, b], l) => {
    const s = scales[l] as number;
    const transposed = l === 13 || l === 14;
    // Transposed: filter [3, 3, out, in], counted per input pixel (input is at scale 2s).
    const pixels = transposed ? (width * height) / (4 * s * s) : (width * height) / (s * s);
    return sum + 2 * (kh as number) * (kw as number) * (a as number) * (b as number) * pixels;
  }, 0);
}

export interface FastComparison {
  size: string;
  facegateMs: number;
  plainMs: number;
  /** facegate / plain (lower is better; the goal is ≤ 0.5). */
  ratio: number;
  /**
   * The same for CPU time (all of facegate's threads; the plain child's): on a shared machine this is the
   * repeatable figure for the work done, while the wall-clock ratio is what two bands change.
   */
  facegateCpuMs: number;
  plainCpuMs: number;
  cpuRatio: number;
  gflop: number;
  gflops: number;
  /** Achieved GFLOPS over WASM_CONV_GFLOPS (above 1 needs the second core). */
  ofOneThread: number;
  /** Bands facegate used in each timed run. */
  bands: number[];
  maxAbsDiff: number;
  plainPeakRssMB: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** The plain reference's child process, one request at a time. */
function startPlain(): { call(m: PlainRequest): Promise<PlainReply>; stop(): void } {
  const child = forkEntry(siblingEntry(import.meta.url, 'nst-plain-child'), [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    call: (m) =>
      new Promise((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`plain reference exited with code ${code}`));
        child.once('exit', onExit);
        child.once('message', (r: PlainReply) => {
          child.off('exit', onExit);
          if (r.type === 'error') reject(new Error(`plain reference: ${r.message}`));
          else resolve(r);
        });
        child.send(m);
      }),
    stop: () => child.kill(),
  };
}

export interface CompareOptions {
  modelsDir: string;
  style: string;
  backend: string;
  parts: FastParts;
  runs: (size: { width: number; height: number }) => number;
  image: (width: number, height: number, seed: number) => RgbImage;
  log: (line: string) => void;
}

export async function compareFast(o: CompareOptions): Promise<{ rows: FastComparison[]; peakRssMB: number }> {
  const weights = await loadStyleByName(o.modelsDir, o.style);
  const net = buildFastStyleNet(weights);
  if (o.parts !== 1) warmFastHelper(o.backend);
  const plain = startPlain();
  const rows: FastComparison[] = [];
  try {
    await plain.call({ type: 'init', style: o.style, modelsDir: o.modelsDir, backend: o.backend });
    for (const size of [
      { width: 400, height: 300 },
      { width: 640, height: 480 },
    ]) {
      const { width, height } = size;
      const img = o.image(width, height, 7);
      const bands: number[] = [];
      const ours = async () => {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        const out = await stylizeFast(net, img, undefined, async (x) => {
          const r = await runFastSplit({ net, weights, key: o.style, parts: o.parts, backend: o.backend }, x);
          bands.push(r.bands);
          return r.output;
        });
        const c = process.cpuUsage(c0);
        return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, out };
      };
      const theirs = async (wantPixels: boolean) => {
        const r = await plain.call({ type: 'run', width, height, seed: 7, wantPixels });
        if (r.type !== 'ran') throw new Error('plain reference: unexpected reply');
        return r;
      };
      // Warm-up (operator caches, heap growth, the helper's first weights) and the like-for-like check.
      const first = await ours();
      const ref = await theirs(true);
      let maxAbsDiff = 0;
      const pixels = ref.pixels ?? [];
      for (let i = 0; i < pixels.length; i++)
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs((pixels[i] as number) - (first.out.data[i] as number)));
      bands.length = 0;
      const mine: number[] = [];
      const plainMs: number[] = [];
      const mineCpu: number[] = [];
      const plainCpu: number[] = [];
      let plainPeak = ref.rssMB;
      for (let i = 0; i < o.runs(size); i++) {
        const m = await ours();
        mine.push(m.ms);
        mineCpu.push(m.cpuMs);
        const r = await theirs(false);
        plainMs.push(r.ms);
        plainCpu.push(r.cpuMs);
        plainPeak = Math.max(plainPeak, r.rssMB);
      }
      const gflop = fastStyleFlops(width, height) / 1e9;
      const fm = median(mine);
      const pm = median(plainMs);
      o.log(
        `fast ${o.style} ${width}x${height}: facegate ${mine.map((t) => t.toFixed(0)).join(', ')} ms (bands ${bands.join(',')}); ` +
          `plain ${plainMs.map((t) => t.toFixed(0)).join(', ')} ms; CPU ${mineCpu.map((t) => t.toFixed(0)).join(', ')} vs ` +
          `${plainCpu.map((t) => t.toFixed(0)).join(', ')} ms; max |diff| ${maxAbsDiff}`,
      );
      rows.push({
        size: `${width}x${height}`,
        facegateMs: Math.round(fm),
        plainMs: Math.round(pm),
        ratio: Number((fm / pm).toFixed(2)),
        facegateCpuMs: Math.round(median(mineCpu)),
        plainCpuMs: Math.round(median(plainCpu)),
        cpuRatio: Number((median(mineCpu) / median(plainCpu)).toFixed(2)),
        gflop: Number(gflop.toFixed(1)),
        gflops: Number(((gflop * 1000) / fm).toFixed(1)),
        ofOneThread: Number(((gflop * 1000) / fm / WASM_CONV_GFLOPS).toFixed(2)),
        bands: [...bands],
        maxAbsDiff,
        plainPeakRssMB: plainPeak,
      });
    }
  } finally {
    plain.stop();
    net.dispose();
    await stopFastHelper();
  }
  return { rows, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) };
}
