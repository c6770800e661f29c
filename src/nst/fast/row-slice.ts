/**
 * `rows(x, start, end)`: rows `start..end` of an NHWC tensor with batch 1, i.e. one contiguous run of its data.
 *
 * Why not `tf.slice`: the wasm Slice kernel first reads the WHOLE input out of the wasm heap into a fresh JS
 * array (`readSync` → `HEAPU8.slice`) and only then copies the part it wants, so every band of a banded conv paid
 * a copy of the full activation. Measured (CPU time): 48 rows of a 480x640x32 tensor 194 ms with `tf.slice`,
 * 44 ms with `tf.gather` (element by element), ~1 ms here. In the 640x480 per-op profile the 15 band slices were
 * 2.7 s of 6.4 s. On wasm this is a custom kernel that copies the run inside the heap; on other backends it is
 * `tf.slice`, which is already a view or a cheap copy there.
 */
import type { Tensor4D, TensorInfo } from '@tensorflow/tfjs';
import { tf } from '../../runtime/tf.ts';

const KERNEL = 'FacegateRowSlice';

/** The part of the wasm backend this kernel uses (the same calls tfjs' own wasm kernels make). */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: KERNEL,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs.x as TensorInfo;
      const { start, end } = attrs as unknown as { start: number; end: number };
      const b = backend as unknown as WasmHeapBackend;
      const [, , w, c] = x.shape as [number, number, number, number];
      const out = b.makeOutput([1, end - start, w, c], 'float32');
      const rowSize = w * c;
      // Read the source view after makeOutput: allocating may grow (and so replace) the wasm memory buffer.
      b.typedArrayFromHeap(out).set(b.typedArrayFromHeap(x).subarray(start * rowSize, end * rowSize));
      return out;
    },
  });
}

/** Rows `start..end` (end exclusive) of `x` `[1, H, W, C]` float32, as a new tensor. */
export function rows(x: Tensor4D, start: number, end: number): Tensor4D {
  const [n, h, w, c] = x.shape;
  if (n !== 1 || start < 0 || end > h || start > end) throw new RangeError(`rows ${start}..${end} of [${x.shape}]`);
  if (start === 0 && end === h) return x.clone();
  if (tf.getBackend() !== 'wasm' || x.dtype !== 'float32') return tf.slice(x, [0, start, 0, 0], [1, end - start, w, c]);
  register();
  return tf.engine().runKernel(KERNEL, { x }, { start, end } as unknown as Record<string, number>) as Tensor4D;
}
