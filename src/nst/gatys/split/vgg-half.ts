/**
 * One band of the image for split (two-core) Gatys: VGG-19 up to conv5_1 with a hand-written backward pass, run
 * on an extended band of rows (or columns) that carries enough halo for every kept output to be exact.
 *
 * Why a manual backward instead of `tf.grad`: the style gradient needs the Gram matrices of the *whole* image,
 * which exist only after both bands have run forward. `tf.grad` would have to redo the forward pass in phase 2;
 * here phase 1 keeps the relu outputs and phase 2 backprops from them. The forward uses fused conv+bias+relu (no
 * tape, one kernel instead of three), and the backward is relu mask → input gradient as a forward conv with the
 * flipped kernel (see vgg.ts) → the wasm `AvgPoolGrad` kernel between blocks, i.e. the same ops autodiff runs.
 */
import type { Tensor, Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../../../runtime/tf.ts';
import { CONTENT_LAYER, STYLE_LAYERS } from '../gatys.ts';
import type { VggConv } from '../vgg.ts';

/** The band along `axis` (1 = rows, 2 = columns): extended input range and the kept range at each used layer. */
export interface BandSpec {
  axis: 1 | 2;
  /** Extended input range [start, end) in image coordinates along the axis. */
  start: number;
  end: number;
  /** Kept range [from, to) in *local* coordinates of the layer's output, per used layer name. */
  keep: Record<string, [number, number]>;
  /** Full-image output shapes [nH, nW, nC] per used layer (the cost normalisers use whole-image sizes). */
  fullShape: Record<string, [number, number, number]>;
}

export const USED_LAYERS: readonly string[] = [CONTENT_LAYER, ...STYLE_LAYERS.map(([n]) => n)];

interface Layer {
  name: string;
  block: number;
  filter: Tensor4D;
  flipped: Tensor4D;
  bias: Tensor1D;
}

/** The convs up to the deepest used layer (conv5_1): nothing deeper is ever built or run. */
export function convsUpToUsed(convs: readonly VggConv[]): VggConv[] {
  const last = Math.max(...USED_LAYERS.map((n) => convs.findIndex((c) => c.name === n)));
  return convs.slice(0, last + 1);
}

function keptSlice(t: Tensor4D, axis: 1 | 2, [from, to]: [number, number]): Tensor4D {
  const begin = [0, 0, 0, 0];
  const size = [...t.shape] as number[];
  begin[axis] = from;
  size[axis] = to - from;
  return tf.slice(t, begin, size);
}

/** Zero-pads a kept-range gradient back to the layer's full local extent along the axis. */
function padToBand(g: Tensor4D, axis: 1 | 2, [from, to]: [number, number], length: number): Tensor4D {
  const pads: [number, number][] = [
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
  ];
  pads[axis] = [from, length - to];
  return from === 0 && to === length ? g : tf.pad(g, pads);
}

export class VggBand {
  private readonly layers: Layer[];
  private spec: BandSpec | undefined;
  private contentTarget: Tensor4D | undefined;
  /** Relu outputs of the last phase 1, kept for phase 2 (relu masks, Gram and content gradients). */
  private acts: Tensor4D[] = [];

  constructor(convs: readonly VggConv[]) {
    this.layers = convsUpToUsed(convs).map((c) => {
      const filter = tf.tensor4d(c.filter, c.shape);
      return {
        name: c.name,
        block: Number(c.name.slice(4, 5)),
        filter,
        flipped: tf.tidy(() => tf.reverse(filter, [0, 1]).transpose([0, 1, 3, 2]) as Tensor4D),
        bias: tf.tensor1d(c.bias) as Tensor1D,
      };
    });
  }

  /** Forward pass; returns every layer's relu output (the caller owns them). */
  private forward(input: Tensor4D): Tensor4D[] {
    const out: Tensor4D[] = [];
    let x = input;
    let block = 1;
    for (const l of this.layers) {
      if (l.block !== block) {
        x = tf.avgPool(x, 2, 2, 'same');
        block = l.block;
      }
      const y = tf.fused.conv2d({ x, filter: l.filter, strides: 1, pad: 'same', bias: l.bias, activation: 'relu' });
      if (x !== input && !out.includes(x)) x.dispose();
      out.push(y);
      x = y;
    }
    return out;
  }

  private actOf(acts: Tensor4D[], name: string): Tensor4D {
    return acts[this.layers.findIndex((l) => l.name === name)] as Tensor4D;
  }

  private keptUnrolled(acts: Tensor4D[], name: string): Tensor2D {
    const spec = this.spec as BandSpec;
    const kept = keptSlice(this.actOf(acts, name), spec.axis, spec.keep[name] as [number, number]);
    const c = kept.shape[3];
    const b = tf.reshape(kept, [kept.size / c, c]) as Tensor2D;
    kept.dispose();
    return b;
  }

  /** Partial Gram matrices `Bᵀ·B` over this band's kept positions, one per style layer. */
  private partialGrams(acts: Tensor4D[]): Float32Array[] {
    return STYLE_LAYERS.map(([n]) =>
      tf.tidy(() => {
        const b = this.keptUnrolled(acts, n);
        // Explicit transpose: the wasm matMul with transposeA is 6-17x slower (see gramMatrix in gatys.ts).
        return tf.matMul(tf.transpose(b), b);
      }),
    ).map((g) => {
      const v = g.dataSync() as Float32Array;
      g.dispose();
      return v;
    });
  }

  /**
   * Targets for this band: returns the content activations on its kept positions of conv4_2 (the coordinator
   * assembles the whole image's a_C from them) and the partial Grams of the style band (summed into G_S).
   */
  targets(spec: BandSpec, content: Tensor4D, style: Tensor4D): { contentKept: Tensor4D; grams: Float32Array[] } {
    this.spec = spec;
    const cActs = this.forward(content);
    const contentKept = keptSlice(
      this.actOf(cActs, CONTENT_LAYER),
      spec.axis,
      spec.keep[CONTENT_LAYER] as [number, number],
    );
    tf.dispose(cActs);
    const sActs = this.forward(style);
    const grams = this.partialGrams(sActs);
    tf.dispose(sActs);
    return { contentKept, grams };
  }

  /**
   * Phase 1: forward on the generated band; returns the partial content sum Σ(a_C − a_G)² and partial Grams.
   * The band (`spec`) may differ from one iteration to the next (the coordinator rebalances the split), so the
   * content target for its kept positions comes with every call; this band takes ownership of it.
   */
  phase1(spec: BandSpec, generated: Tensor4D, contentTarget: Tensor4D): { contentSum: number; grams: Float32Array[] } {
    tf.dispose(this.acts);
    this.contentTarget?.dispose();
    this.spec = spec;
    this.contentTarget = contentTarget;
    this.acts = this.forward(generated);
    const contentSum = tf.tidy(() => {
      const aG = keptSlice(
        this.actOf(this.acts, CONTENT_LAYER),
        spec.axis,
        spec.keep[CONTENT_LAYER] as [number, number],
      );
      return tf.sum(tf.squaredDifference(contentTarget, aG)).dataSync()[0] as number;
    });
    return { contentSum, grams: this.partialGrams(this.acts) };
  }

  /**
   * Phase 2: gradient of J with respect to this band's input, given `dGram[i]` = dJ/dG for style layer i (from the
   * combined Gram, symmetric) and the content weight. Contributions come only from kept positions, so summing the
   * bands' input gradients (overlap-add) gives the whole image's gradient exactly.
   */
  phase2(dGram: Float32Array[], alpha: number): Tensor4D {
    const spec = this.spec as BandSpec;
    const acts = this.acts;
    const styleIndex = new Map(STYLE_LAYERS.map(([n], i) => [n, i]));
    let g: Tensor4D | undefined;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i] as Layer;
      const y = acts[i] as Tensor4D;
      const keep = spec.keep[l.name];
      if (keep) {
        const local = tf.tidy(() => {
          const axisLength = y.shape[spec.axis];
          let d: Tensor4D | undefined;
          const si = styleIndex.get(l.name);
          if (si !== undefined) {
            // dJ/dB = B·(dG + dGᵀ) = 2·B·dG for a symmetric dG, B the kept positions unrolled.
            const c = y.shape[3];
            const b = this.keptUnrolled(acts, l.name);
            const dg = tf.tensor2d(dGram[si] as Float32Array, [c, c]);
            const db = tf.mul(tf.matMul(b, dg), 2);
            const kept = keptSlice(y, spec.axis, keep);
            d = tf.reshape(db, kept.shape) as Tensor4D;
          }
          if (l.name === CONTENT_LAYER) {
            const [nH, nW, nC] = spec.fullShape[l.name] as [number, number, number];
            const aG = keptSlice(y, spec.axis, keep);
            const dc = tf.mul(tf.sub(aG, this.contentTarget as Tensor4D), (2 * alpha) / (4 * nH * nW * nC));
            d = (d ? tf.add(d, dc) : dc) as Tensor4D;
          }
          return padToBand(d as Tensor4D, spec.axis, keep, axisLength);
        });
        if (g) {
          const sum = tf.add(g, local) as Tensor4D;
          tf.dispose([g, local]);
          g = sum;
        } else g = local;
      }
      if (!g) continue;
      const gi = g;
      g = tf.tidy(() => tf.conv2d(tf.mul(gi, tf.step(y)) as Tensor4D, l.flipped, 1, 'same') as Tensor4D);
      gi.dispose();
      const prev = this.layers[i - 1];
      if (prev && prev.block !== l.block) {
        const gp = g;
        g = tf.engine().runKernel(
          'AvgPoolGrad',
          { dy: gp, input: acts[i - 1] as Tensor },
          {
            filterSize: [2, 2],
            strides: [2, 2],
            pad: 'same',
          },
        ) as Tensor4D;
        gp.dispose();
      }
    }
    tf.dispose(this.acts);
    this.acts = [];
    return g as Tensor4D;
  }

  dispose(): void {
    tf.dispose([...this.acts, ...(this.contentTarget ? [this.contentTarget] : [])]);
    this.acts = [];
    for (const l of this.layers) tf.dispose([l.filter, l.flipped, l.bias]);
  }
}
