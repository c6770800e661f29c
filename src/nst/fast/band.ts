/**
 * The fast style network on one horizontal band of the image, written as a generator that stops at every
 * instance norm to exchange statistics and edge rows with the other bands (fast-split.ts runs the bands on two
 * wasm instances; `runBandsHere` runs any number of them in this thread, which is also the one-band path).
 *
 * Exact, not approximate:
 *  - every conv computes only the band's own output rows, reading the rows its window needs; where that window
 *    leaves the image it is zero padded exactly as TF's SAME padding pads the whole image, and where it crosses
 *    into another band it reads that band's rows (the halo), so each output row is the whole-image conv's row;
 *  - instance norm needs the whole image's mean and variance per channel: each band sends its own rows' count,
 *    mean and sum of squared deviations, the exchange combines them (Chan et al.'s pairwise formula, float64,
 *    always in band order, so every band gets bit-identical statistics), and every band normalises with them;
 *  - the halo rows a band needs for the next conv travel with the same message (pre-norm, so they are normalised
 *    with the same global statistics on arrival): one message each way per norm layer, 16 in all.
 * Band edges are on the 4-pixel grid so the two stride-2 convs and the two transposed convs keep whole rows.
 */
import type { Tensor1D, Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../../runtime/tf.ts';
import { interleavePhases, type SubPixelKernels } from './conv-transpose.ts';
import { rows } from './row-slice.ts';

/** A band of the (padded) image: rows `start..end` of `height`, all `width` columns; edges multiples of 4. */
export interface BandGeometry {
  height: number;
  width: number;
  start: number;
  end: number;
}

export interface Block {
  data: Float32Array;
  shape: [number, number, number, number];
}

/** What a band sends at a norm layer: its statistics and the pre-norm rows its neighbours need. */
export interface NormOut {
  layer: number;
  count: number;
  mean: Float64Array;
  m2: Float64Array;
  /** Its first rows, for the band above (its bottom halo). */
  toAbove?: Block;
  /** Its last rows, for the band below (its top halo). */
  toBelow?: Block;
}

/** What it gets back: the whole image's statistics and the neighbours' rows. */
export interface NormIn {
  mean: Float64Array;
  variance: Float64Array;
  fromAbove?: Block;
  fromBelow?: Block;
}

export type BandSteps = Generator<NormOut, Tensor4D, NormIn>;

/** The network's weights as the band code needs them (built once per style by fast-net.ts). */
export interface BandNet {
  /** conv1, conv2, conv3, residual 1a..5b: [k, k, in, out]. */
  convs: Tensor4D[];
  transposed: SubPixelKernels[];
  /** The output conv in column-pair form (see pairColumnsFilter). */
  outPairs: Tensor4D;
  norms: { shift: Float32Array; scale: Float32Array }[];
}

const INSTANCE_NORM_EPSILON = 1e-3;

/** Rows of one layer's activation held by a band: global rows `first..first + t.shape[1]`. */
interface Rows {
  t: Tensor4D;
  first: number;
}

/**
 * Rows above and below its own that a consumer conv needs: output row `o` reads input rows
 * `o·stride − padTop .. o·stride − padTop + k − 1` (TF SAME: `padTop = floor(total pad / 2)`).
 */
function haloFor(k: number, stride: number, padTop: number): [number, number] {
  return [padTop, Math.max(0, k - padTop - stride)];
}

/**
 * Output rows `o0..o1` of a conv over a band's rows `x`: reads exactly the input rows the window needs, pads with
 * zeros only where the window leaves the image (`inHeight` rows), never at a band edge. Convs taller than 3 run
 * in chunks of at most `chunkRows` output rows: XNNPACK keeps an indirection buffer of one pointer per output
 * pixel and tap in each cached operator (~100 MB for a 9x9 conv at 640x480), so chunking caps it.
 */
function convWindow(
  x: Rows,
  filter: Tensor4D,
  stride: number,
  padTop: number,
  colPads: [number, number],
  [o0, o1]: [number, number],
  inHeight: number,
  chunkRows: number,
): Tensor4D {
  const k = filter.shape[0];
  if (k > 3 && o1 - o0 > chunkRows) {
    const chunks = Math.ceil((o1 - o0) / chunkRows);
    // Equal chunks (the last may be shorter) so the cached operators are set up for few sizes.
    const size = Math.ceil((o1 - o0) / chunks);
    const outs: Tensor4D[] = [];
    for (let c = o0; c < o1; c += size)
      outs.push(convWindow(x, filter, stride, padTop, colPads, [c, Math.min(o1, c + size)], inHeight, chunkRows));
    const y = tf.concat(outs, 1) as Tensor4D;
    tf.dispose(outs);
    return y;
  }
  const lo = o0 * stride - padTop;
  const hi = (o1 - 1) * stride - padTop + k;
  const a = Math.max(0, lo);
  const b = Math.min(inHeight, hi);
  const n = x.t.shape[1];
  if (a < x.first || b > x.first + n) throw new Error(`band rows ${x.first}..${x.first + n} miss ${a}..${b}`);
  const input = a === x.first && b === x.first + n ? x.t : rows(x.t, a - x.first, b - x.first);
  const y = tf.conv2d(input, filter, stride, [[0, 0], [a - lo, hi - b], colPads, [0, 0]]);
  if (input !== x.t) input.dispose();
  return y;
}

function toBlock(t: Tensor4D): Block {
  return { data: t.dataSync() as Float32Array, shape: t.shape };
}

/** Per-channel count, mean and sum of squared deviations of `y` (two-pass, as precise as tf.moments). */
function localStats(y: Tensor4D): { count: number; mean: Float64Array; m2: Float64Array } {
  const [, h, w] = y.shape;
  const mean = tf.avgPool(y, [h, w], [h, w], 'valid');
  const dev = tf.squaredDifference(y, mean);
  const meanSq = tf.avgPool(dev as Tensor4D, [h, w], [h, w], 'valid');
  const count = h * w;
  const m = Float64Array.from(mean.dataSync());
  const m2 = Float64Array.from(meanSq.dataSync(), (v) => v * count);
  tf.dispose([mean, dev, meanSq]);
  return { count, mean: m, m2 };
}

/**
 * Combines the bands' statistics into the whole image's, in band order. Chan et al.: for parts with counts n_i,
 * means m_i and squared-deviation sums M_i, mean = Σ n_i·m_i / n and M = Σ (M_i + n_i·(m_i − mean)²).
 */
export function combineStats(parts: readonly Pick<NormOut, 'count' | 'mean' | 'm2'>[]): {
  mean: Float64Array;
  variance: Float64Array;
} {
  const c = (parts[0] as NormOut).mean.length;
  const n = parts.reduce((a, p) => a + p.count, 0);
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (const p of parts) s += p.count * (p.mean[ch] as number);
    const mu = s / n;
    let m2 = 0;
    for (const p of parts) m2 += (p.m2[ch] as number) + p.count * ((p.mean[ch] as number) - mu) ** 2;
    mean[ch] = mu;
    variance[ch] = m2 / n;
  }
  return { mean, variance };
}

/** Replies for bands in top-to-bottom order: global statistics plus each neighbour's rows. */
export function exchange(outs: readonly NormOut[]): NormIn[] {
  const stats = combineStats(outs);
  return outs.map((_, i) => ({
    ...stats,
    fromAbove: outs[i - 1]?.toBelow,
    fromBelow: outs[i + 1]?.toAbove,
  }));
}

/** Rows `a..b` of `y` read out of the tensor store (for a message). */
function edgeBlock(y: Tensor4D, a: number, b: number): Block {
  const part = rows(y, a, b);
  const block = toBlock(part);
  part.dispose();
  return block;
}

/** `relu?(x·a + b)` per channel with a = scale/√(var + ε), b = shift − mean·a, as one depthwise 1x1 conv. */
function normalize(x: Tensor4D, s: NormIn, p: BandNet['norms'][number], relu: boolean): Tensor4D {
  const c = s.mean.length;
  const a = new Float32Array(c);
  const b = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    const scale = (p.scale[ch] as number) / Math.sqrt((s.variance[ch] as number) + INSTANCE_NORM_EPSILON);
    a[ch] = scale;
    b[ch] = (p.shift[ch] as number) - (s.mean[ch] as number) * scale;
  }
  const filter = tf.tensor4d(a, [1, 1, c, 1]);
  const bias: Tensor1D = tf.tensor1d(b);
  const y = tf.fused.depthwiseConv2d({
    x,
    filter,
    strides: 1,
    pad: 'valid',
    bias,
    activation: relu ? 'relu' : 'linear',
  });
  tf.dispose([filter, bias]);
  return y;
}

/**
 * Instance norm of a band's own pre-norm rows `y` (consumed; `own` = its rows at this layer, `height` = the
 * layer's height): yields the band's statistics and the rows its neighbours' next conv reads (`halo` = rows above
 * and below its own that the next conv needs), then normalises its own rows and the neighbours' rows it got
 * with the whole image's statistics. The result covers the band's rows plus that halo.
 */
function* norm(
  y: Tensor4D,
  layer: number,
  p: BandNet['norms'][number],
  relu: boolean,
  [needTop, needBottom]: [number, number],
  own: [number, number],
  height: number,
): Generator<NormOut, Rows, NormIn> {
  const out: NormOut = { layer, ...localStats(y) };
  const n = y.shape[1];
  if (own[0] > 0 && needBottom > 0) out.toAbove = edgeBlock(y, 0, needBottom);
  if (own[1] < height && needTop > 0) out.toBelow = edgeBlock(y, n - needTop, n);
  const got = yield out;
  const pieces: Tensor4D[] = [];
  if (got.fromAbove) pieces.push(tf.tensor4d(got.fromAbove.data, got.fromAbove.shape));
  pieces.push(y);
  if (got.fromBelow) pieces.push(tf.tensor4d(got.fromBelow.data, got.fromBelow.shape));
  const full = pieces.length === 1 ? y : (tf.concat(pieces, 1) as Tensor4D);
  if (full !== y) tf.dispose(pieces);
  const t = normalize(full, got, p, relu);
  full.dispose();
  return { t, first: own[0] - (got.fromAbove?.shape[1] ?? 0) };
}

/** `a + b` on the rows both cover (consumes both). */
function addRows(a: Rows, b: Rows): Rows {
  const first = Math.max(a.first, b.first);
  const end = Math.min(a.first + a.t.shape[1], b.first + b.t.shape[1]);
  const crop = (r: Rows) =>
    r.first === first && r.t.shape[1] === end - first ? r.t : rows(r.t, first - r.first, end - r.first);
  const [ca, cb] = [crop(a), crop(b)];
  const t = tf.add(ca, cb) as Tensor4D;
  tf.dispose([a.t, b.t, ca, cb]);
  return { t, first };
}

/**
 * One band's pass through the network. `input` is the padded image's rows `start − 4 .. end + 4` (clipped to
 * the image; the first conv is 9x9), float 0..255, not consumed. Returns the band's own output rows, 0..255.
 */
export function* fastBand(
  net: BandNet,
  g: BandGeometry,
  input: Tensor4D,
  chunkRows: number,
  onLayer?: (index: number) => void,
): BandSteps {
  const { height: H, width: W } = g;
  const own = (s: number): [number, number] => [g.start / s, g.end / s];
  const norms = (l: number) => net.norms[l] as BandNet['norms'][number];
  const conv = (l: number) => net.convs[l] as Tensor4D;
  // Halo each layer's output needs: what the next conv reads (3x3/2 convs, 3x3 residual convs, the transposed
  // conv's even phase = a 2-row conv with one row of top padding, the 9x9 output conv).
  const strided = haloFor(3, 2, 0);
  const same3 = haloFor(3, 1, 1);
  const evenPhase = haloFor(2, 1, 1);
  const next = <T>(r: Rows, f: (x: Rows) => T): T => {
    const y = f(r);
    r.t.dispose();
    return y;
  };

  let y = convWindow({ t: input, first: Math.max(0, g.start - 4) }, conv(0), 1, 4, [4, 4], own(1), H, chunkRows);
  let x = yield* norm(y, 0, norms(0), true, strided, own(1), H);
  onLayer?.(0);
  y = next(x, (r) => convWindow(r, conv(1), 2, 0, [0, 1], own(2), H, chunkRows));
  x = yield* norm(y, 1, norms(1), true, strided, own(2), H / 2);
  y = next(x, (r) => convWindow(r, conv(2), 2, 0, [0, 1], own(4), H / 2, chunkRows));
  x = yield* norm(y, 2, norms(2), true, same3, own(4), H / 4);
  onLayer?.(2);
  for (let r = 0; r < 5; r++) {
    y = convWindow(x, conv(3 + 2 * r), 1, 1, [1, 1], own(4), H / 4, chunkRows);
    const inner = yield* norm(y, 3 + 2 * r, norms(3 + 2 * r), true, same3, own(4), H / 4);
    y = next(inner, (i) => convWindow(i, conv(4 + 2 * r), 1, 1, [1, 1], own(4), H / 4, chunkRows));
    const outer = yield* norm(y, 4 + 2 * r, norms(4 + 2 * r), false, r < 4 ? same3 : evenPhase, own(4), H / 4);
    x = addRows(x, outer);
    onLayer?.(3 + r);
  }
  for (const t of [0, 1]) {
    const s = 4 >> t;
    const kernels = net.transposed[t] as SubPixelKernels;
    y = next(x, (r) =>
      interleavePhases(
        kernels.phases.map((p) => convWindow(r, p.kernel, 1, p.padTop, [p.padLeft, 0], own(s), H / s, chunkRows)),
      ),
    );
    x = yield* norm(y, 13 + t, norms(13 + t), true, t === 0 ? evenPhase : haloFor(9, 1, 4), own(s / 2), (2 * H) / s);
  }
  onLayer?.(9);
  // The 9x9 output conv in column-pair form: [rows, W, C] is viewed as [rows, W/2, 2C] (a free reshape).
  const [, n, , c] = x.t.shape;
  const pairs = { t: tf.reshape(x.t, [1, n, W / 2, 2 * c]) as Tensor4D, first: x.first };
  x.t.dispose();
  const yp = next(pairs, (r) => convWindow(r, net.outPairs, 1, 4, [2, 2], own(1), H, chunkRows));
  y = tf.reshape(yp, [1, g.end - g.start, W, 3]) as Tensor4D;
  yp.dispose();
  const out = yield* norm(y, 15, norms(15), false, [0, 0], own(1), H);
  const result = tf.tidy(() => tf.clipByValue(tf.add(tf.mul(tf.tanh(out.t), 150), 127.5), 0, 255) as Tensor4D);
  out.t.dispose();
  return result;
}

/**
 * Splits rows `0..height` into `parts` bands on the 4-row grid (at least 4 rows each, so every band owns at
 * least one row at quarter size). `splitAt` moves the first boundary (two bands).
 */
export function planBands(height: number, width: number, parts: number, splitAt?: number): BandGeometry[] {
  const quads = height / 4;
  const n = Math.max(1, Math.min(parts, quads));
  const edges = [0];
  for (let i = 1; i < n; i++) edges.push(4 * Math.round((quads * i) / n));
  if (n === 2 && splitAt !== undefined) edges[1] = 4 * Math.min(quads - 1, Math.max(1, Math.round(splitAt / 4)));
  edges.push(height);
  return edges.slice(0, -1).map((start, i) => ({ height, width, start, end: edges[i + 1] as number }));
}

/** The image rows a band's first conv reads (its rows plus the 9x9 conv's 4 rows each side, clipped). */
export function bandInputRows(g: BandGeometry): [number, number] {
  return [Math.max(0, g.start - 4), Math.min(g.height, g.end + 4)];
}

/** Band `g`'s input: the image rows its first conv reads, cut from the whole padded image `[1, H, W, 3]`. */
export function bandInput(image: Tensor4D, g: BandGeometry): Tensor4D {
  const [a, b] = bandInputRows(g);
  return rows(image, a, b);
}

/**
 * Runs the bands' steps side by side in this thread (one band: the plain single-thread path; more: tests).
 * Returns each band's output; on an error the other bands are closed.
 */
export function runBandsHere(bands: BandSteps[]): Tensor4D[] {
  let steps = bands.map((b) => b.next());
  try {
    while (!steps.every((s) => s.done)) {
      if (steps.some((s) => s.done)) throw new Error('bands out of step');
      const replies = exchange(steps.map((s) => s.value as NormOut));
      steps = bands.map((b, i) => b.next(replies[i] as NormIn));
    }
  } catch (err) {
    for (const b of bands) b.return(undefined as unknown as Tensor4D);
    throw err;
  }
  return steps.map((s) => s.value as Tensor4D);
}
