/**
 * Gatys on two cores: the image is cut into two bands (gatys-bands.ts), one processed in this thread and one in a
 * helper worker thread with its own tfjs/wasm instance and copy of the VGG weights (wasm in Node has no threads,
 * so a second wasm instance is the only way to use the second core).
 *
 * Each iteration is two phases because the style gradient needs the Gram matrices of the whole image:
 *   1. both bands run forward and return their content sum and partial Grams (sums over kept positions);
 *      here G = Σ partial Grams, J and dJ/dG = beta·w·2(G − G_S)/(4·nC²·(nH·nW)²) are computed;
 *   2. both bands backprop from their kept outputs with the combined dJ/dG; the input gradients overlap-add.
 * Adam then updates the whole image exactly as the single-thread runGatys does (same optimizer, same gradient
 * up to float summation order); test/nst/gatys/split.test.ts holds J and the gradient to 1e-4 relative of it.
 */
import { performance } from 'node:perf_hooks';
import type { Tensor4D, Variable } from '@tensorflow/tfjs';
import type { RgbImage } from '../../../runtime/image.ts';
import { tf } from '../../../runtime/tf.ts';
import { OtherLoad } from '../../cpu-share.ts';
import {
  CONTENT_LAYER,
  denormalizeImage,
  type GatysHooks,
  type GatysOptions,
  gatysOptimizer,
  gatysOptions,
  noiseStartImage,
  normalizeImage,
  STYLE_LAYERS,
} from '../gatys.ts';
import type { VggConv } from '../vgg.ts';
import { WorkerBand } from './band-client.ts';
import { planBands } from './bands.ts';
import { type BandSpec, VggBand } from './vgg-half.ts';

/**
 * What the coordinator needs from a band, wherever it runs. Remote bands are called first and the local band
 * waits one macrotask before computing (see afterPendingPosts), so both run at the same time.
 */
export interface BandRunner {
  targets(
    spec: BandSpec,
    content: Tensor4D,
    style: Tensor4D,
  ): Promise<{ contentKept: Tensor4D; grams: Float32Array[] }>;
  /** Takes ownership of `contentTarget` (the content activations on this band's kept positions). */
  phase1(
    spec: BandSpec,
    generated: Tensor4D,
    contentTarget: Tensor4D,
  ): Promise<{ contentSum: number; grams: Float32Array[] }>;
  phase2(dGram: Float32Array[], alpha: number): Promise<Tensor4D>;
  /** Compute milliseconds of the last phase 1 + phase 2 (for balancing the bands). */
  busyMs: number;
  dispose(): Promise<void> | void;
}

/**
 * Yields one macrotask. A remote band posts its request only after a microtask (it awaits its worker's start),
 * so the local band must not start its seconds of synchronous wasm work before those microtasks have run, or
 * the two bands would run one after the other instead of side by side (measured: that halved the speed-up).
 */
const afterPendingPosts = () => new Promise<void>((r) => setImmediate(r));

export class LocalBand implements BandRunner {
  private readonly band: VggBand;
  busyMs = 0;
  constructor(convs: readonly VggConv[]) {
    this.band = new VggBand(convs);
  }
  async targets(spec: BandSpec, content: Tensor4D, style: Tensor4D) {
    await afterPendingPosts();
    return this.band.targets(spec, content, style);
  }
  async phase1(spec: BandSpec, generated: Tensor4D, contentTarget: Tensor4D) {
    await afterPendingPosts();
    const t0 = performance.now();
    const r = this.band.phase1(spec, generated, contentTarget);
    this.busyMs = performance.now() - t0;
    return r;
  }
  async phase2(dGram: Float32Array[], alpha: number) {
    await afterPendingPosts();
    const t0 = performance.now();
    const g = this.band.phase2(dGram, alpha);
    this.busyMs += performance.now() - t0;
    return g;
  }
  dispose() {
    this.band.dispose();
  }
}

/** The part of `t` along `axis` from `start` to `end`. */
function along(t: Tensor4D, axis: 1 | 2, start: number, end: number): Tensor4D {
  const begin = [0, 0, 0, 0];
  const size = [...t.shape] as number[];
  begin[axis] = start;
  size[axis] = end - start;
  return tf.slice(t, begin, size);
}

export interface SplitCost {
  J: number;
  Jcontent: number;
  Jstyle: number;
}

/**
 * Cost and gradient of J over the whole image from per-band runners.
 *
 * Load balancing: the two bands run in lockstep, so an iteration takes as long as the slower band. When another
 * process shares one core, that band's thread runs at roughly half speed and the split loses most of its gain
 * (measured: 5.1–5.7 s instead of 3.4 s per VGG-19 iteration). So after every iteration the split point moves to
 * equalise the predicted band times, from each band's measured compute time per pixel of band (smoothed). Any
 * split point on the pool grid gives the same J and gradient, so this changes speed only.
 */
export class SplitObjective {
  private styleGrams: Float64Array[] = [];
  /** The whole image's conv4_2 content activations; each band gets its kept part with every phase 1. */
  private contentFull: Tensor4D | undefined;
  private specs: BandSpec[];
  /** The whole image's Gram matrices of the last phase 1 (tests compare them layer by layer). */
  lastGrams: Float64Array[] = [];
  /** Smoothed milliseconds per pixel of band, per band. */
  private rates: number[] = [];

  constructor(
    private readonly runners: BandRunner[],
    private readonly plan: (splitAt?: number, parts?: number) => BandSpec[],
    private readonly alpha: number,
    private readonly beta: number,
    private readonly rebalance = true,
  ) {
    this.specs = plan();
  }

  /** The current bands (they move when rebalancing). */
  get bands(): readonly BandSpec[] {
    return this.specs;
  }

  /** Moves the split point (pixels along the split axis, rounded to the pool grid); targets stay valid. */
  moveSplit(at: number): void {
    this.specs = this.plan(at);
  }

  /** True while both bands are used; false once `useSplit(false)` put the whole image on the local band. */
  get splitting(): boolean {
    return this.specs.length > 1;
  }

  /**
   * Switches between two bands and the whole image on the local band (runner 0). The targets (G_S and the whole
   * image's a_C) do not depend on the bands, so switching between iterations changes speed only.
   */
  useSplit(on: boolean): void {
    if (on === this.splitting || this.runners.length < 2) return;
    this.specs = on ? this.plan() : this.plan(undefined, 1);
    this.rates = [];
  }

  /** Remote runners first: their requests go out before the local band blocks this thread. */
  private async each<T>(fn: (r: BandRunner, s: BandSpec, i: number) => Promise<T>): Promise<T[]> {
    const order = this.runners.slice(0, this.specs.length).map((r, i) => ({ i, local: r instanceof LocalBand }));
    order.sort((x, y) => Number(x.local) - Number(y.local));
    const out: Promise<T>[] = [];
    for (const { i } of order) out[i] = fn(this.runners[i] as BandRunner, this.specs[i] as BandSpec, i);
    return Promise.all(out);
  }

  async setTargets(content: Tensor4D, style: Tensor4D): Promise<void> {
    const parts = await this.each((r, s) => {
      const c = along(content, s.axis, s.start, s.end);
      const st = along(style, s.axis, s.start, s.end);
      return r.targets(s, c, st).finally(() => tf.dispose([c, st]));
    });
    this.styleGrams = sumGrams(parts.map((p) => p.grams));
    this.contentFull?.dispose();
    const kept = parts.map((p) => p.contentKept);
    this.contentFull = kept.length === 1 ? kept[0] : (tf.concat(kept, (this.specs[0] as BandSpec).axis) as Tensor4D);
    if (kept.length > 1) tf.dispose(kept);
  }

  private contentTargetFor(s: BandSpec): Tensor4D {
    const [from, to] = s.keep[CONTENT_LAYER] as [number, number];
    const offset = s.start / 2 ** (Number(CONTENT_LAYER.slice(4, 5)) - 1);
    return along(this.contentFull as Tensor4D, s.axis, from + offset, to + offset);
  }

  /** Returns the costs and dJ/d(image), the latter owned by the caller. */
  async costAndGradient(generated: Tensor4D): Promise<{ cost: SplitCost; gradient: Tensor4D }> {
    const phase1 = await this.each((r, s) => {
      const g = along(generated, s.axis, s.start, s.end);
      return r.phase1(s, g, this.contentTargetFor(s)).finally(() => g.dispose());
    });
    const spec = this.specs[0] as BandSpec;
    const [cH, cW, cC] = spec.fullShape[CONTENT_LAYER] as [number, number, number];
    const Jcontent = phase1.reduce((a, p) => a + p.contentSum, 0) / (4 * cH * cW * cC);
    const grams = sumGrams(phase1.map((p) => p.grams));
    this.lastGrams = grams;
    let Jstyle = 0;
    const dGram = STYLE_LAYERS.map(([name, weight], i) => {
      const [nH, nW, nC] = spec.fullShape[name] as [number, number, number];
      const norm = 4 * nC * nC * (nH * nW) ** 2;
      const g = grams[i] as Float64Array;
      const gS = this.styleGrams[i] as Float64Array;
      const d = new Float32Array(g.length);
      let sq = 0;
      for (let k = 0; k < g.length; k++) {
        const diff = (g[k] as number) - (gS[k] as number);
        sq += diff * diff;
        d[k] = (this.beta * weight * 2 * diff) / norm;
      }
      Jstyle += (weight * sq) / norm;
      return d;
    });
    const parts = await this.each((r) => r.phase2(dGram, this.alpha));
    const [, h, w] = generated.shape;
    const gradient = tf.tidy(() => {
      let sum: Tensor4D | undefined;
      parts.forEach((p, i) => {
        const s = this.specs[i] as BandSpec;
        const pads: [number, number][] = [
          [0, 0],
          [0, 0],
          [0, 0],
          [0, 0],
        ];
        pads[s.axis] = [s.start, (s.axis === 1 ? h : w) - s.end];
        const full = tf.pad(p, pads) as Tensor4D;
        sum = sum ? (tf.add(sum, full) as Tensor4D) : full;
      });
      return sum as Tensor4D;
    });
    tf.dispose(parts);
    if (this.rebalance && this.specs.length === 2) this.rebalanceBands();
    return { cost: { J: this.alpha * Jcontent + this.beta * Jstyle, Jcontent, Jstyle }, gradient };
  }

  /** Moves the split point so both bands are predicted to take the same time (see the class comment). */
  private rebalanceBands(): void {
    const measured = this.runners.map((r, i) => {
      const s = this.specs[i] as BandSpec;
      return r.busyMs / (s.end - s.start);
    });
    if (measured.some((m) => !(m > 0))) return;
    this.rates = this.rates.length ? this.rates.map((r, i) => 0.5 * r + 0.5 * (measured[i] as number)) : measured;
    const [r0, r1] = this.rates as [number, number];
    const predict = (specs: BandSpec[]) =>
      Math.max(
        r0 * ((specs[0] as BandSpec).end - (specs[0] as BandSpec).start),
        r1 * ((specs[1] as BandSpec).end - (specs[1] as BandSpec).start),
      );
    const length = (this.specs[1] as BandSpec).end;
    const current = predict(this.specs);
    let best = this.specs;
    let bestTime = current;
    // Candidates on the pool grid (16 px); planBands rejects nothing here, it clamps to a valid split.
    for (let at = 16; at < length; at += 16) {
      const specs = this.plan(at);
      if (specs.length !== 2) continue;
      const t = predict(specs);
      if (t < bestTime) {
        best = specs;
        bestTime = t;
      }
    }
    // Hysteresis: move only for a predicted gain of 3 % or more, so noise does not shuffle the bands.
    if (bestTime < current * 0.97) this.specs = best;
  }

  dispose(): void {
    this.contentFull?.dispose();
    this.contentFull = undefined;
  }
}

function sumGrams(parts: Float32Array[][]): Float64Array[] {
  return (parts[0] as Float32Array[]).map((first, i) => {
    const out = new Float64Array(first.length);
    for (const p of parts) {
      const g = p[i] as Float32Array;
      for (let k = 0; k < g.length; k++) out[k] = (out[k] as number) + (g[k] as number);
    }
    return out;
  });
}

export interface SplitRunOptions {
  /** 2 = this thread plus one helper worker; 1 = this thread only (same math, no worker). */
  parts: number;
  /** Backend for the helper worker (the coordinator's is already chosen). */
  backend?: string;
  /** Move the split point to balance the bands' measured speeds (default true). */
  rebalance?: boolean;
  /** Fall back to one band while other processes keep a core busy, and back (default true). */
  adaptive?: boolean;
}

/** Like runGatys, but on `parts` bands; `convs` are the raw weights (the helper worker needs a copy). */
export async function runGatysSplit(
  convs: readonly VggConv[],
  content: RgbImage,
  style: RgbImage,
  options: Partial<GatysOptions> = {},
  hooks: GatysHooks = {},
  split: SplitRunOptions = { parts: 2 },
): Promise<RgbImage> {
  const opts = gatysOptions(content, style, options);
  const plan = (splitAt?: number, parts = split.parts) =>
    planBands(convs, content.height, content.width, parts, splitAt);
  const runners: BandRunner[] = plan().map((_, i) =>
    i === 0 ? new LocalBand(convs) : new WorkerBand(convs, split.backend ?? tf.getBackend()),
  );
  const c = normalizeImage(content);
  const s = normalizeImage(style);
  const start = opts.startImage?.clone() ?? noiseStartImage(c, opts.noiseRatio, opts.seed);
  const generated: Variable = tf.variable(start, true);
  start.dispose();
  const optimizer = gatysOptimizer(opts.learningRate);
  const objective = new SplitObjective(runners, plan, opts.alpha, opts.beta, split.rebalance ?? true);
  // Smoothed cores' worth of CPU used by other processes; decides split vs single band (see cpu-share.ts).
  const others = new OtherLoad();
  let othersEma: number | undefined;
  try {
    await objective.setTargets(c, s);
    tf.dispose([c, s]);
    for (let i = 1; i <= opts.iterations; i++) {
      hooks.checkCancelled?.();
      const bands = objective.bands.length;
      const { cost, gradient } = await objective.costAndGradient(generated as unknown as Tensor4D);
      optimizer.applyGradients([{ name: generated.name, tensor: gradient }]);
      gradient.dispose();
      const o = others.sample();
      if (o !== undefined && split.adaptive !== false && runners.length > 1) {
        othersEma = othersEma === undefined ? o : 0.5 * othersEma + 0.5 * o;
        // Hysteresis around the break-even o ≈ 0.5 so a short burst elsewhere does not flip the mode.
        if (objective.splitting && othersEma > 0.65) objective.useSplit(false);
        else if (!objective.splitting && othersEma < 0.35) objective.useSplit(true);
      }
      // The cost of every iteration is known here anyway: progress (s/it, ETA) every iteration, snapshots every N.
      hooks.onProgress?.({
        iteration: i,
        total: opts.iterations,
        J: cost.J,
        Jcontent: cost.Jcontent,
        Jstyle: cost.Jstyle,
        bands,
      });
      if (hooks.onSnapshot && i % opts.reportEvery === 0)
        await hooks.onSnapshot(i, await denormalizeImage(generated as unknown as Tensor4D));
      // Yield a macrotask so a message port (cancel) or timer can run between iterations even with one band.
      await new Promise((r) => setImmediate(r));
    }
    return await denormalizeImage(generated as unknown as Tensor4D);
  } finally {
    tf.dispose([c, s]);
    optimizer.dispose();
    generated.dispose();
    objective.dispose();
    await Promise.all(runners.map((r) => r.dispose()));
  }
}
