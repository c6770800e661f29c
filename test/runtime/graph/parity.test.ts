/**
 * Parity of the tfjs graph executor with onnxruntime-node (an optional dev-only reference; `.npmrc` keeps its
 * install from downloading CUDA binaries outside the npm registry) on the shipped ONNX graphs, fed real frames:
 * YuNet's 12 outputs and both MiniFASNets' logits must agree to 1e-4.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { loadOnnxModel } from '../../../src/runtime/graph/executor.ts';
import { loadImage } from '../../../src/runtime/image.ts';
import { resizeRgbRegion } from '../../../src/runtime/rgb-resize.ts';
import { initBackend, tf } from '../../../src/runtime/tf.ts';
import { hasShared, sharedPath } from '../../helpers/shared.ts';

type Ort = typeof import('onnxruntime-node');
const require = createRequire(import.meta.url);

let ort: Ort | undefined;
let ortError = '';
try {
  ort = require('onnxruntime-node') as Ort;
} catch (err) {
  ortError = (err as Error).message.split('\n')[0] ?? '';
}
const skip = !hasShared
  ? '../shared not found (models and frames)'
  : ort
    ? false
    : `onnxruntime-node is not installed or does not load here (${ortError}); run npm ci with the dev dependencies`;

const TOLERANCE = 1e-4;
const sessions: { release(): Promise<void> }[] = [];

before(async () => {
  await initBackend('wasm');
});
after(async () => {
  for (const s of sessions) await s.release();
});

/** A real frame resized to `w`x`h`, as BGR float 0..255 in both layouts. */
async function frame(file: string, w: number, h: number): Promise<{ nchw: Float32Array; nhwc: Float32Array }> {
  const img = await loadImage(file);
  const small = resizeRgbRegion(img, { left: 0, top: 0, right: img.width - 1, bottom: img.height - 1 }, w, h);
  const nchw = new Float32Array(3 * w * h);
  const nhwc = new Float32Array(3 * w * h);
  for (let p = 0; p < w * h; p++) {
    for (let c = 0; c < 3; c++) {
      const v = small.data[p * 3 + (2 - c)]!;
      nchw[c * w * h + p] = v;
      nhwc[p * 3 + c] = v;
    }
  }
  return { nchw, nhwc };
}

async function compare(modelFile: string, imageFile: string, w: number, h: number): Promise<number> {
  const o = ort!;
  const { nchw, nhwc } = await frame(imageFile, w, h);
  const session = await o.InferenceSession.create(modelFile);
  sessions.push(session);
  const ref = await session.run({ [session.inputNames[0]!]: new o.Tensor('float32', nchw, [1, 3, h, w]) });
  const model = await loadOnnxModel(modelFile);
  const input = tf.tensor4d(nhwc, [1, h, w, 3]);
  let worst = 0;
  try {
    const out = model.run({ [model.inputs[0]!.name]: input });
    assert.deepEqual(Object.keys(out).sort(), [...session.outputNames].sort());
    for (const [name, t] of Object.entries(out)) {
      const a = t.dataSync();
      const b = ref[name]!.data as Float32Array;
      assert.deepEqual(t.shape, ref[name]!.dims.map(Number), `${name} shape`);
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      t.dispose();
    }
  } finally {
    input.dispose();
    model.dispose();
  }
  return worst;
}

test('YuNet: all 12 outputs match onnxruntime to 1e-4 on a real photo', { skip }, async (t) => {
  // onnxruntime checks the declared 640x640 input; the executor runs any multiple of 32 (tested in graph-yunet).
  const err = await compare(
    sharedPath('models', 'yunet', 'face_detection_yunet_2023mar.onnx'),
    sharedPath('data', 'faces', 'bbt', 'bbt1.jpg'),
    640,
    640,
  );
  t.diagnostic(`max abs error ${err}`);
  assert.ok(err < TOLERANCE, `max abs error ${err}`);
});

for (const [file, scale] of [
  ['2.7_80x80_MiniFASNetV2.onnx', 2.7],
  ['4_0_0_80x80_MiniFASNetV1SE.onnx', 4.0],
] as const) {
  test(`MiniFASNet ${file} (scale ${scale}): logits match onnxruntime to 1e-4`, { skip }, async (t) => {
    for (const image of ['bona-fide', 'attack']) {
      const dir = sharedPath('data', 'pad', image);
      const first = (await readdir(dir)).sort()[0]!;
      const err = await compare(sharedPath('models', 'minifasnet', file), `${dir}/${first}`, 80, 80);
      t.diagnostic(`${image}/${first}: max abs error ${err}`);
      assert.ok(err < TOLERANCE, `${image}: max abs error ${err}`);
    }
  });
}
