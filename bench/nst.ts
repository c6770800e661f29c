/**
 * `facegate bench nst`: fast style at 400x300 and 640x480 (median ms, peak RSS), each interleaved with the plain
 * reference implementation (nst-compare.ts), and one Gatys iteration with full VGG-19 shapes and random weights
 * at 400x300 (the .mat is not needed for timing).
 * Peak RSS is the process high-water mark (getrusage), so the fast runs go first, before Gatys' larger heap.
 */

import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { FastParts } from '../src/nst/fast/split.ts';
import { runGatys } from '../src/nst/gatys/gatys.ts';
import { runGatysSplit } from '../src/nst/gatys/split/split.ts';
import { buildVgg } from '../src/nst/gatys/vgg.ts';
import { syntheticVggConvs } from '../src/nst/gatys/vgg-synthetic.ts';
import { type BackendName, initBackend } from '../src/runtime/tf.ts';
import { compareFast, type FastComparison, WASM_CONV_GFLOPS } from './nst-compare.ts';
import { testImage } from './test-image.ts';

export interface NstBenchOptions {
  modelsDir: string;
  style?: string;
  backend?: BackendName;
  fastRuns?: number;
  gatysIterations?: number;
  skipGatys?: boolean;
  /** 2 = split Gatys on this thread plus a helper worker (default when 2+ cores); 1 = the single-thread path. */
  gatysParts?: number;
  /** Fast style: 1 band, 2 bands, or 'auto' (the product's default: 2 unless the second core is busy). */
  fastParts?: FastParts;
  log?: (line: string) => void;
}

export interface NstBenchResult {
  fast: {
    style: string;
    '400x300Ms': number;
    '640x480Ms': number;
    peakRssMB: number;
    parts: FastParts;
    /** Per size: facegate vs the plain reference, interleaved in the same minutes. */
    vsPlain: FastComparison[];
    oneThreadGflops: number;
  };
  gatys: { '400x300IterMs': number | null; iterations: number; parts: number; bandsPerIteration: number[] };
  backend: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export async function benchNst(opts: NstBenchOptions): Promise<NstBenchResult> {
  const log = opts.log ?? (() => {});
  const backend = await initBackend(opts.backend ?? 'wasm');
  const style = opts.style ?? 'udnie';
  const runs = opts.fastRuns ?? 5;
  const fastParts = opts.fastParts ?? 'auto';
  const { rows, peakRssMB } = await compareFast({
    modelsDir: opts.modelsDir,
    style,
    backend,
    parts: fastParts,
    runs: ({ width }) => (width > 400 ? Math.max(1, Math.ceil(runs / 2)) : runs),
    image: testImage,
    log,
  });
  const ms = (size: string) => rows.find((r) => r.size === size)?.facegateMs ?? Number.NaN;

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
    fast: {
      style,
      '400x300Ms': ms('400x300'),
      '640x480Ms': ms('640x480'),
      peakRssMB,
      parts: fastParts,
      vsPlain: rows,
      oneThreadGflops: WASM_CONV_GFLOPS,
    },
    gatys: { '400x300IterMs': iterMs, iterations, parts, bandsPerIteration: bandsTimed },
    backend,
  };
}
