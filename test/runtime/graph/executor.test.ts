import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, test } from 'node:test';
import type * as TF from '@tensorflow/tfjs';
import { GraphModel, loadOnnxModel } from '../../../src/runtime/graph/executor.ts';
import { ModelFormatError } from '../../../src/runtime/graph/graph.ts';
import { readIr } from '../../../src/runtime/graph/ir-reader.ts';
import { readOnnx } from '../../../src/runtime/graph/onnx-reader.ts';
import { initBackend, tf } from '../../../src/runtime/tf.ts';
import { conv, maxAbsDiff, type Nd, onnxModel, perChannel, seeded, toNhwc } from '../../helpers/nchw-ref.ts';
import { sharedPath, skipUnlessShared } from '../../helpers/shared.ts';

before(async () => {
  await initBackend('wasm');
});

/** Runs a compiled model on an NCHW input and returns its first output's values. */
function runNchw(model: GraphModel, x: Nd): { data: Float32Array; shape: number[] } {
  const input = tf.tensor4d(toNhwc(x), [x.shape[0]!, x.shape[2]!, x.shape[3]!, x.shape[1]!]);
  try {
    const out = model.run({ [model.inputs[0]!.name]: input });
    const t = out[model.outputs[0]!] as TF.Tensor;
    const result = { data: t.dataSync() as Float32Array, shape: t.shape };
    for (const v of Object.values(out)) v.dispose();
    return result;
  } finally {
    input.dispose();
  }
}

function compileOnnx(bytes: Uint8Array): GraphModel {
  return GraphModel.compile(readOnnx(bytes, 'test.onnx'), 'test.onnx');
}

function oneLine(re: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ModelFormatError, `expected ModelFormatError, got ${String(err)}`);
    assert.match(err.message, re);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  };
}

test('Conv + BatchNormalization + PRelu run as one fused step and match the ONNX definition', () => {
  const x = { data: seeded(3 * 9 * 9, 1, 0, 255), shape: [1, 3, 9, 9] };
  const w = { data: seeded(4 * 3 * 3 * 3, 2), shape: [4, 3, 3, 3] };
  const b = { data: seeded(4, 3), shape: [4] };
  const gamma = { data: seeded(4, 4, 0.5, 2), shape: [4] };
  const beta = { data: seeded(4, 5), shape: [4] };
  const mean = { data: seeded(4, 6), shape: [4] };
  const variance = { data: seeded(4, 7, 0.1, 3), shape: [4] };
  const slope = { data: seeded(4, 8, 0, 0.5), shape: [4, 1, 1] };
  const bytes = onnxModel(
    { name: 'x', shape: [1, 3, 9, 9] },
    ['y'],
    [
      { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], ints: { strides: [2, 2], pads: [1, 1, 1, 1] } },
      { op: 'BatchNormalization', inputs: ['c', 'g', 'be', 'm', 'v'], outputs: ['n'], float: { epsilon: 1e-5 } },
      { op: 'PRelu', inputs: ['n', 's'], outputs: ['y'] },
    ],
    { w, b, g: gamma, be: beta, m: mean, v: variance, s: slope },
  );
  const model = compileOnnx(bytes);
  try {
    assert.deepEqual(model.plan, ['Conv+BatchNormalization+PRelu "n0"'], 'BatchNorm and PRelu folded into the conv');
    const c = conv(x, w, b.data, 1, 2, 1);
    const ref = perChannel(c, (v, k) => {
      const n = ((v - mean.data[k]!) / Math.sqrt(variance.data[k]! + 1e-5)) * gamma.data[k]! + beta.data[k]!;
      return n >= 0 ? n : n * slope.data[k]!;
    });
    const got = runNchw(model, x);
    assert.deepEqual(got.shape, [1, 4, 5, 5]);
    assert.ok(maxAbsDiff(got.data, ref.data) < 1e-3, `max error ${maxAbsDiff(got.data, ref.data)}`);
  } finally {
    model.dispose();
  }
});

test('depthwise conv, squeeze-excitation Mul, GlobalAveragePool, Reshape and MatMul + BatchNorm', () => {
  const x = { data: seeded(4 * 6 * 6, 11, 0, 1), shape: [1, 4, 6, 6] };
  const dw = { data: seeded(8 * 9, 12), shape: [8, 1, 3, 3] };
  const bias = { data: seeded(8, 13), shape: [1, 8, 1, 1] };
  const fc = { data: seeded(8 * 3, 14), shape: [8, 3] };
  const bn = [15, 16, 17, 18].map((s, i) => ({ data: seeded(3, s, i === 3 ? 0.2 : -1, 1.5), shape: [3] }));
  const bytes = onnxModel(
    { name: 'x', shape: [1, 4, 6, 6] },
    ['out'],
    [
      { op: 'Conv', inputs: ['x', 'dw'], outputs: ['d'], int: { group: 4 }, ints: { pads: [1, 1, 1, 1] } },
      { op: 'Relu', inputs: ['d'], outputs: ['r'] },
      { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['gap'] },
      { op: 'Sigmoid', inputs: ['gap'], outputs: ['gate'] },
      { op: 'Mul', inputs: ['r', 'gate'], outputs: ['se'] },
      { op: 'Add', inputs: ['se', 'bias'], outputs: ['biased'] },
      { op: 'GlobalAveragePool', inputs: ['biased'], outputs: ['pooled'] },
      { op: 'Reshape', inputs: ['pooled', 'shape'], outputs: ['flat'] },
      { op: 'MatMul', inputs: ['flat', 'fc'], outputs: ['mm'] },
      { op: 'BatchNormalization', inputs: ['mm', 'g', 'b', 'm', 'v'], outputs: ['out'] },
    ],
    {
      dw,
      bias,
      fc,
      g: bn[0]!,
      b: bn[1]!,
      m: bn[2]!,
      v: bn[3]!,
      shape: { data: Float32Array.from([1, -1]), shape: [2], int64: true },
    },
  );
  const model = compileOnnx(bytes);
  try {
    const r = perChannel(conv(x, dw, undefined, 4, 1, 1), (v) => Math.max(0, v));
    const mean = (t: Nd) => {
      const c = t.shape[1]!;
      const hw = t.data.length / c;
      return Array.from({ length: c }, (_, k) => t.data.slice(k * hw, (k + 1) * hw).reduce((a, v) => a + v, 0) / hw);
    };
    const gate = mean(r).map((v) => 1 / (1 + Math.exp(-v)));
    const pooled = mean(perChannel(r, (v, k) => v * gate[k]! + bias.data[k]!));
    const ref = [0, 1, 2].map((n) => {
      const mm = pooled.reduce((a, v, k) => a + v * fc.data[k * 3 + n]!, 0);
      return ((mm - bn[2]!.data[n]!) / Math.sqrt(bn[3]!.data[n]! + 1e-5)) * bn[0]!.data[n]! + bn[1]!.data[n]!;
    });
    const got = runNchw(model, x);
    assert.deepEqual(got.shape, [1, 3]);
    assert.ok(maxAbsDiff(got.data, ref) < 1e-4, `got ${Array.from(got.data)} want ${ref}`);
  } finally {
    model.dispose();
  }
});

test("MaxPool, nearest Resize and YuNet's head Transpose + Reshape", () => {
  const x = { data: seeded(2 * 4 * 6, 21), shape: [1, 2, 4, 6] };
  const bytes = onnxModel(
    { name: 'x', shape: [1, 2, 4, 6] },
    ['y'],
    [
      { op: 'MaxPool', inputs: ['x'], outputs: ['p'], ints: { kernel_shape: [2, 2], strides: [2, 2] } },
      {
        op: 'Resize',
        inputs: ['p', '', 'scales'],
        outputs: ['u'],
        string: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
      },
      { op: 'Transpose', inputs: ['u'], outputs: ['t'], ints: { perm: [0, 2, 3, 1] } },
      { op: 'Reshape', inputs: ['t', 'shape'], outputs: ['y'] },
    ],
    {
      scales: { data: Float32Array.from([1, 1, 2, 2]), shape: [4] },
      shape: { data: Float32Array.from([1, -1, 2]), shape: [3], int64: true },
    },
  );
  const model = compileOnnx(bytes);
  try {
    const at = (c: number, y: number, xx: number) => x.data[(c * 4 + y) * 6 + xx]!;
    const ref: number[] = [];
    for (let y = 0; y < 4; y++)
      for (let xx = 0; xx < 6; xx++)
        for (let c = 0; c < 2; c++) {
          const py = Math.floor(y / 2);
          const px = Math.floor(xx / 2);
          ref.push(
            Math.max(
              at(c, 2 * py, 2 * px),
              at(c, 2 * py + 1, 2 * px),
              at(c, 2 * py, 2 * px + 1),
              at(c, 2 * py + 1, 2 * px + 1),
            ),
          );
        }
    const got = runNchw(model, x);
    assert.deepEqual(got.shape, [1, 24, 2]);
    assert.ok(maxAbsDiff(got.data, ref) < 1e-6);
  } finally {
    model.dispose();
  }
});

test('the ONNX reader refuses an operator it does not implement, naming it', () => {
  const bytes = onnxModel({ name: 'x', shape: [1, 3] }, ['y'], [{ op: 'Softmax', inputs: ['x'], outputs: ['y'] }], {});
  assert.throws(() => readOnnx(bytes, 'm.onnx'), oneLine(/m\.onnx: operator "Softmax" .*not implemented/));
});

test('a Resize mode the executor does not implement is refused at load, naming it', () => {
  const bytes = onnxModel(
    { name: 'x', shape: [1, 1, 2, 2] },
    ['y'],
    [{ op: 'Resize', inputs: ['x', '', 's'], outputs: ['y'], string: { mode: 'linear' } }],
    { s: { data: Float32Array.from([1, 1, 2, 2]), shape: [4] } },
  );
  assert.throws(() => compileOnnx(bytes), oneLine(/mode=linear/));
});

test('garbage, empty and truncated ONNX files are one clear error', { skip: skipUnlessShared }, async () => {
  const garbage = Uint8Array.from(seeded(4096, 5, 0, 255), (v) => Math.floor(v));
  assert.throws(() => readOnnx(garbage, 'g.onnx'), oneLine(/^g\.onnx: /));
  assert.throws(() => readOnnx(new Uint8Array(0), 'e.onnx'), oneLine(/empty file/));
  const real = await readFile(sharedPath('models', 'yunet', 'face_detection_yunet_2023mar.onnx'));
  for (const cut of [real.length / 2, real.length - 100]) {
    assert.throws(() => readOnnx(real.subarray(0, Math.floor(cut)), 'cut.onnx'), oneLine(/^cut\.onnx: /));
  }
  await assert.rejects(loadOnnxModel('/nonexistent/model.onnx'), oneLine(/cannot read model \(ENOENT\)/));
});

// ---- OpenVINO IR: a hand-written IR v11 ----------------------------------------------------------------

function f16(values: number[]): Uint8Array {
  // Values chosen exactly representable in float16: sign, 5-bit exponent, 10-bit mantissa.
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    const sign = v < 0 ? 0x8000 : 0;
    const a = Math.abs(v);
    let bits = 0;
    if (a !== 0) {
      const e = Math.floor(Math.log2(a));
      bits = ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
    }
    view.setUint16(i * 2, sign | bits, true);
  });
  return out;
}

const port = (id: number, dims: number[]) => `<port id="${id}">${dims.map((d) => `<dim>${d}</dim>`).join('')}</port>`;

/** x[1,2,4,4] · scale[1,2,1,1] → Convolution (2→2, 3x3, pad 1) → PReLU(slope [1]) → AvgPool 2x2 → result. */
function tinyIr(layerType = 'PReLU'): { xml: Uint8Array; bin: Uint8Array; weights: number[]; scale: number[] } {
  const scale = [0.5, -2];
  const weights = Array.from({ length: 2 * 2 * 9 }, (_, i) => ((i % 7) - 3) / 4);
  const slope = [0.25];
  const bin = new Uint8Array([...f16(scale), ...f16(weights), ...f16(slope)]);
  const xml = `<?xml version="1.0"?>
<net name="tiny" version="11"><layers>
<layer id="0" name="x" type="Parameter" version="opset1"><data shape="1,2,4,4" element_type="f32"/><output>${port(0, [1, 2, 4, 4])}</output></layer>
<layer id="1" name="scale" type="Const" version="opset1"><data element_type="f16" shape="1, 2, 1, 1" offset="0" size="4"/><output>${port(0, [1, 2, 1, 1])}</output></layer>
<layer id="2" name="scale32" type="Convert" version="opset1"><data destination_type="f32"/><input>${port(0, [1, 2, 1, 1])}</input><output>${port(1, [1, 2, 1, 1])}</output></layer>
<layer id="3" name="mul" type="Multiply" version="opset1"><data auto_broadcast="numpy"/><input>${port(0, [1, 2, 4, 4])}${port(1, [1, 2, 1, 1])}</input><output>${port(2, [1, 2, 4, 4])}</output></layer>
<layer id="4" name="w" type="Const" version="opset1"><data element_type="f16" shape="2, 2, 3, 3" offset="4" size="72"/><output>${port(0, [2, 2, 3, 3])}</output></layer>
<layer id="5" name="w32" type="Convert" version="opset1"><data destination_type="f32"/><input>${port(0, [2, 2, 3, 3])}</input><output>${port(1, [2, 2, 3, 3])}</output></layer>
<layer id="6" name="conv" type="Convolution" version="opset1"><data strides="1, 1" dilations="1, 1" pads_begin="1, 1" pads_end="1, 1" auto_pad="explicit"/><input>${port(0, [1, 2, 4, 4])}${port(1, [2, 2, 3, 3])}</input><output>${port(2, [1, 2, 4, 4])}</output></layer>
<layer id="7" name="slope" type="Const" version="opset1"><data element_type="f16" shape="1" offset="76" size="2"/><output>${port(0, [1])}</output></layer>
<layer id="8" name="slope32" type="Convert" version="opset1"><data destination_type="f32"/><input>${port(0, [1])}</input><output>${port(1, [1])}</output></layer>
<layer id="9" name="act" type="${layerType}" version="opset1"><input>${port(0, [1, 2, 4, 4])}${port(1, [1])}</input><output>${port(2, [1, 2, 4, 4])}</output></layer>
<layer id="10" name="pool" type="AvgPool" version="opset1"><data kernel="2, 2" strides="2, 2" pads_begin="0, 0" pads_end="0, 0" exclude-pad="true" auto_pad="explicit" rounding_type="floor"/><input>${port(0, [1, 2, 4, 4])}</input><output>${port(1, [1, 2, 2, 2])}</output></layer>
<layer id="11" name="out" type="Result" version="opset1"><input>${port(0, [1, 2, 2, 2])}</input></layer>
</layers><edges>
<edge from-layer="0" from-port="0" to-layer="3" to-port="0"/><edge from-layer="1" from-port="0" to-layer="2" to-port="0"/>
<edge from-layer="2" from-port="1" to-layer="3" to-port="1"/><edge from-layer="4" from-port="0" to-layer="5" to-port="0"/>
<edge from-layer="3" from-port="2" to-layer="6" to-port="0"/><edge from-layer="5" from-port="1" to-layer="6" to-port="1"/>
<edge from-layer="7" from-port="0" to-layer="8" to-port="0"/><edge from-layer="6" from-port="2" to-layer="9" to-port="0"/>
<edge from-layer="8" from-port="1" to-layer="9" to-port="1"/><edge from-layer="9" from-port="2" to-layer="10" to-port="0"/>
<edge from-layer="10" from-port="1" to-layer="11" to-port="0"/>
</edges></net>`;
  return { xml: new TextEncoder().encode(xml), bin, weights, scale };
}

test('the IR reader: FP16 constants, Convert folding, edges, Multiply → Convolution → PReLU → AvgPool', () => {
  const { xml, bin, weights, scale } = tinyIr();
  const model = GraphModel.compile(readIr(xml, bin, 'tiny.xml'), 'tiny.xml');
  try {
    const x = { data: seeded(32, 31, 0, 255), shape: [1, 2, 4, 4] };
    const scaled = perChannel(x, (v, k) => v * scale[k]!);
    const act = perChannel(
      conv(scaled, { data: Float32Array.from(weights), shape: [2, 2, 3, 3] }, undefined, 1, 1, 1),
      (v) => (v >= 0 ? v : v * 0.25),
    );
    const ref: number[] = [];
    for (let y = 0; y < 2; y++)
      for (let xx = 0; xx < 2; xx++)
        for (let c = 0; c < 2; c++) {
          const a = (yy: number, xq: number) => act.data[(c * 4 + yy) * 4 + xq]!;
          ref.push((a(2 * y, 2 * xx) + a(2 * y + 1, 2 * xx) + a(2 * y, 2 * xx + 1) + a(2 * y + 1, 2 * xx + 1)) / 4);
        }
    const got = runNchw(model, x);
    assert.deepEqual(got.shape, [1, 2, 2, 2]);
    const refNchw = new Float32Array(8);
    for (let c = 0; c < 2; c++) for (let p = 0; p < 4; p++) refNchw[c * 4 + p] = ref[p * 2 + c]!;
    assert.ok(maxAbsDiff(got.data, refNchw) < 1e-3, `max error ${maxAbsDiff(got.data, refNchw)}`);
  } finally {
    model.dispose();
  }
});

test('the IR reader refuses an unknown layer type naming it, and a truncated .bin or garbage XML in one line', () => {
  const elu = tinyIr('Elu');
  assert.throws(() => readIr(elu.xml, elu.bin, 'elu.xml'), oneLine(/operator "Elu" \(node "act"\)/));
  const ok = tinyIr();
  assert.throws(() => readIr(ok.xml, ok.bin.subarray(0, 40), 'cut.xml'), oneLine(/Const "w".*truncated/));
  const garbage = new TextEncoder().encode('<net version="11"><layers><layer id="0"');
  assert.throws(() => readIr(garbage, ok.bin, 'bad.xml'), oneLine(/^bad\.xml: /));
  assert.throws(() => readIr(new TextEncoder().encode('hello'), ok.bin, 'txt.xml'), oneLine(/not an OpenVINO IR/));
});

test('an ONNX tensor whose shape claims more values than the file holds is refused before allocating', () => {
  const bytes = onnxModel({ name: 'x', shape: [1, 2] }, ['y'], [{ op: 'Add', inputs: ['x', 'w'], outputs: ['y'] }], {
    w: { data: Float32Array.from([1, 2]), shape: [4_000_000_000, 2] },
  });
  assert.throws(() => readOnnx(bytes, 'huge.onnx'), oneLine(/tensor "w" holds 2 values, its shape needs 8000000000/));
});
