/**
 * Plain-JS NCHW reference implementations of the executor's ops (straight from the ONNX operator definitions), and
 * a builder that writes small ONNX models with protobufjs, for checking the executor on hand-made graphs.
 */
import { onnxRoot } from '../../src/runtime/graph/onnx-schema.ts';

export interface Nd {
  data: Float32Array;
  shape: number[];
  /** Written as an INT64 tensor (shapes), not FLOAT. */
  int64?: boolean;
}

export function seeded(count: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = lo + (s / 2 ** 32) * (hi - lo);
  }
  return out;
}

export function conv(x: Nd, w: Nd, bias: Float32Array | undefined, group: number, stride: number, pad: number): Nd {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [o, ig, kh, kw] = w.shape as [number, number, number, number];
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const ow = Math.floor((wd + 2 * pad - kw) / stride) + 1;
  const out = new Float32Array(n * o * oh * ow);
  const perGroupOut = o / group;
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++) {
      const g = Math.floor(oc / perGroupOut);
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          let sum = bias ? bias[oc]! : 0;
          for (let i = 0; i < ig; i++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = y * stride - pad + ky;
                const ix = xx * stride - pad + kx;
                if (iy < 0 || ix < 0 || iy >= h || ix >= wd) continue;
                const ic = g * ig + i;
                sum += x.data[((b * c + ic) * h + iy) * wd + ix]! * w.data[((oc * ig + i) * kh + ky) * kw + kx]!;
              }
          out[((b * o + oc) * oh + y) * ow + xx] = sum;
        }
    }
  void c;
  return { data: out, shape: [n, o, oh, ow] };
}

/** y = f(x, per-channel parameter), channel axis 1. */
export function perChannel(x: Nd, f: (v: number, c: number) => number): Nd {
  const [, c] = x.shape as [number, number];
  const inner = x.shape.slice(2).reduce((a, b) => a * b, 1);
  return { data: x.data.map((v, i) => f(v, Math.floor(i / inner) % c)), shape: x.shape };
}

export function toNhwc(x: Nd): Float32Array {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const out = new Float32Array(x.data.length);
  for (let b = 0; b < n; b++)
    for (let k = 0; k < c; k++)
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++) out[((b * h + y) * w + xx) * c + k] = x.data[((b * c + k) * h + y) * w + xx]!;
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

// ---- ONNX model builder ---------------------------------------------------------------------------------

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  ints?: Record<string, number[]>;
  int?: Record<string, number>;
  float?: Record<string, number>;
  string?: Record<string, string>;
}

const ModelProto = onnxRoot.lookupType('onnx.ModelProto');

export function onnxModel(
  input: { name: string; shape: number[] },
  outputs: string[],
  nodes: NodeSpec[],
  initializers: Record<string, Nd>,
): Uint8Array {
  const attribute = (n: NodeSpec) => [
    ...Object.entries(n.ints ?? {}).map(([name, ints]) => ({ name, type: 7, ints })),
    ...Object.entries(n.int ?? {}).map(([name, i]) => ({ name, type: 2, i })),
    ...Object.entries(n.float ?? {}).map(([name, f]) => ({ name, type: 1, f })),
    ...Object.entries(n.string ?? {}).map(([name, s]) => ({ name, type: 3, s: new TextEncoder().encode(s) })),
  ];
  const message = ModelProto.fromObject({
    irVersion: 8,
    graph: {
      node: nodes.map((n, i) => ({
        input: n.inputs,
        output: n.outputs,
        name: `n${i}`,
        opType: n.op,
        attribute: attribute(n),
      })),
      initializer: Object.entries(initializers).map(([name, t]) =>
        t.int64
          ? { name, dims: t.shape, dataType: 7, int64Data: Array.from(t.data) }
          : {
              name,
              dims: t.shape,
              dataType: 1,
              rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
            },
      ),
      input: [
        { name: input.name, type: { tensorType: { shape: { dim: input.shape.map((d) => ({ dimValue: d })) } } } },
      ],
      output: outputs.map((name) => ({ name })),
    },
  });
  return ModelProto.encode(message).finish();
}
