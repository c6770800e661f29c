/**
 * Transposed convolution (stride 2, 3x3 kernel, SAME, output exactly twice the input) without
 * `Conv2DBackpropInput`, whose wasm kernel runs ~12x slower than a forward conv.
 *
 * Sub-pixel decomposition: with TF's SAME padding for this case (pad top/left 0, bottom/right 1 on the forward
 * conv it transposes), output row `o` receives input row `i` through kernel row `k` exactly when `o = 2i + k`:
 * even rows `2m` take `(i=m, k=0)` and `(i=m-1, k=2)`, odd rows `2m+1` take `(i=m, k=1)`; columns likewise.
 * So each of the four output phases (row parity x column parity) is an ordinary forward conv on the undilated
 * input with a 2x2, 2x1, 1x2 or 1x1 kernel cut from the original; the phases are then interleaved with
 * a reshape-transpose (the depthToSpace order). Nine multiply-adds per output pixel and channel pair, as in the direct form, none on zeros.
 */
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../../runtime/tf.ts';
import { FacegateError } from '../../util/errors.ts';

/** Four forward-conv kernels `[kh, kw, in, out]` and their top/left zero padding, phase order (py, px). */
export interface SubPixelKernels {
  phases: { kernel: Tensor4D; padTop: number; padLeft: number }[];
}

/** Kernel taps for one phase along one axis: even phase uses (k=2 at offset -1, k=0 at offset 0), odd uses k=1. */
function tapsFor(parity: number): number[] {
  return parity === 0 ? [2, 0] : [1];
}

/**
 * Builds the phase kernels from a TF transposed-conv filter `[3, 3, out, in]` (given as plain values so the
 * caller decides when tensors exist).
 */
export function subPixelKernels(filter: Tensor4D): SubPixelKernels {
  const [kh, kw, outC, inC] = filter.shape;
  if (kh !== 3 || kw !== 3) throw new FacegateError(`sub-pixel transposed conv supports 3x3 kernels, got ${kh}x${kw}`);
  const phases: SubPixelKernels['phases'] = [];
  for (const py of [0, 1]) {
    for (const px of [0, 1]) {
      const kernel = tf.tidy(() => {
        const rows = tapsFor(py).map((ky) =>
          tf.stack(tapsFor(px).map((kx) => tf.slice(filter, [ky, kx, 0, 0], [1, 1, outC, inC]).reshape([outC, inC]))),
        );
        // [kh', kw', out, in] -> forward-conv layout [kh', kw', in, out].
        return tf.stack(rows).transpose([0, 1, 3, 2]) as Tensor4D;
      });
      phases.push({ kernel, padTop: py === 0 ? 1 : 0, padLeft: px === 0 ? 1 : 0 });
    }
  }
  return { phases };
}

export function disposeSubPixel(k: SubPixelKernels): void {
  for (const p of k.phases) p.kernel.dispose();
}

/**
 * `x` is `[1, H, W, in]`; returns `[1, 2H, 2W, out]`, equal to `tf.conv2dTranspose(x, f, ..., 2, 'same')`.
 * With `disposeInput`, `x` is freed as soon as the four phases exist, before the full-size interleave (the
 * network's memory peak is here at 640x480).
 */
export function conv2dTransposeSubPixel(x: Tensor4D, k: SubPixelKernels, disposeInput = false): Tensor4D {
  const outs = k.phases.map((p) =>
    tf.conv2d(x, p.kernel, 1, [
      [0, 0],
      [p.padTop, 0],
      [p.padLeft, 0],
      [0, 0],
    ]),
  );
  if (disposeInput) x.dispose();
  return interleavePhases(outs);
}

/**
 * Interleaves the four phase outputs `[1, h, w, C]` (phase order (py, px), consumed) into `[1, 2h, 2w, C]`. The
 * banded network (fast-band.ts) computes the phases on a band's rows and interleaves them here.
 */
export function interleavePhases(outs: Tensor4D[]): Tensor4D {
  const [, h, w] = (outs[0] as Tensor4D).shape;
  const cat = tf.concat(outs, 3) as Tensor4D;
  tf.dispose(outs);
  const c = cat.shape[3] / 4;
  // Interleave: channel index is (py·2 + px)·C + c, so [H, W, py, (px, c)] -> [H, py, W, (px, c)] puts row
  // 2h+py and column 2w+px in place. This is what depthToSpace does, but the wasm DepthToSpace kernel walks
  // element by element (~0.6 s at 640x480) while this transpose moves contiguous runs of 2C floats (~0.07 s).
  const view = tf.reshape(cat, [h, w, 2, 2 * c]);
  const moved = tf.transpose(view, [0, 2, 1, 3]);
  // A reshape shares the data of its input: both handles must go for the memory to be freed.
  tf.dispose([view, cat]);
  const y = tf.reshape(moved, [1, 2 * h, 2 * w, c]) as Tensor4D;
  moved.dispose();
  return y;
}

/** Convenience for tests and one-off use: same signature idea as the stock op on a 3D input. */
export function conv2dTranspose2x(x: Tensor3D | Tensor4D, filter: Tensor4D): Tensor4D {
  const k = subPixelKernels(filter);
  try {
    const x4 = (x.rank === 3 ? x.expandDims(0) : x) as Tensor4D;
    const y = conv2dTransposeSubPixel(x4, k);
    if (x4 !== x) x4.dispose();
    return y;
  } finally {
    disposeSubPixel(k);
  }
}
