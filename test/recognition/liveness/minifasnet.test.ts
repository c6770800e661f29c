import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type * as TF from '@tensorflow/tfjs';
import { largestFace, YunetDetector } from '../../../src/recognition/detect/yunet.ts';
import { MiniFasNet, minifasPatch, padCropRect, softmax } from '../../../src/recognition/liveness/minifasnet.ts';
import { loadImage } from '../../../src/runtime/image.ts';
import { initBackend, tf } from '../../../src/runtime/tf.ts';
import { seeded } from '../../helpers/nchw-ref.ts';
import { sharedPath, skipUnlessShared } from '../../helpers/shared.ts';

// Hand-computed crops (inclusive integer rectangles) for the original's _get_new_box.
const HAND_BOXES = [
  {
    what: 'well inside: 100x120 at (200,150), scale 2.7 → 270x324 about (250,210)',
    frame: [640, 480],
    box: { x: 200, y: 150, width: 100, height: 120 },
    scale: 2.7,
    want: { left: 115, top: 48, right: 385, bottom: 372 },
  },
  {
    what: 'top-left edge: 270x270 about (60,70) starts at (-75,-65), moved right 75 and down 65',
    frame: [640, 480],
    box: { x: 10, y: 20, width: 100, height: 100 },
    scale: 2.7,
    want: { left: 0, top: 0, right: 270, bottom: 270 },
  },
  {
    what: 'bottom-right edge, scale 4.0: 240x240 about (590,430) = [470,710]x[310,550], moved back by 71 and 71',
    frame: [640, 480],
    box: { x: 560, y: 400, width: 60, height: 60 },
    scale: 4.0,
    want: { left: 399, top: 239, right: 639, bottom: 479 },
  },
  {
    // scale min(255/200, 255/180, 2.7) = 1.275 → 229.5x255 about (130,130) = [15.25,244.75]x[2.5,257.5];
    // the bottom overshoots 255 by 2.5, so the top moves to 0.
    what: 'too big for a 256x256 frame: scale reduced to (H-1)/h, then shifted',
    frame: [256, 256],
    box: { x: 40, y: 30, width: 180, height: 200 },
    scale: 2.7,
    want: { left: 15, top: 0, right: 244, bottom: 255 },
  },
] as const;

for (const c of HAND_BOXES) {
  test(`crop rule, ${c.what}`, () => {
    assert.deepEqual(padCropRect(c.frame[0], c.frame[1], c.box, c.scale), c.want);
  });
}

test('crop rule on random boxes: always inside the frame, as large as the scale allows', () => {
  const r = seeded(400, 9, 0, 1);
  for (let i = 0; i < 100; i++) {
    const [fw, fh] = [200 + Math.floor(r[i]! * 800), 200 + Math.floor(r[i + 100]! * 600)];
    const w = 20 + r[i + 200]! * (fw - 21);
    const h = 20 + r[i + 300]! * (fh - 21);
    const box = { x: r[(i + 7) % 400]! * (fw - w), y: r[(i + 13) % 400]! * (fh - h), width: w, height: h };
    const scale = i % 2 ? 2.7 : 4.0;
    const c = padCropRect(fw, fh, box, scale);
    assert.ok(c.left >= 0 && c.top >= 0 && c.right <= fw - 1 && c.bottom <= fh - 1, JSON.stringify({ fw, fh, box, c }));
    const s = Math.min((fh - 1) / h, (fw - 1) / w, scale);
    assert.ok(Math.abs(c.right - c.left - w * s) <= 1 && Math.abs(c.bottom - c.top - h * s) <= 1);
  }
});

test('softmax: normalised, order-preserving, stable for large logits', () => {
  const p = softmax([1000, 1001, 999]);
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.ok(p[1]! > p[0]! && p[0]! > p[2]!);
});

before(async () => {
  await initBackend('wasm');
});

test('the 80x80 patch matches tfjs resizeBilinear (half-pixel centres) on the crop to within rounding', () => {
  const frame = { width: 50, height: 40, data: Uint8Array.from(seeded(50 * 40 * 3, 3, 0, 255), Math.floor) };
  const box = { x: 20, y: 15, width: 10, height: 10 };
  const rect = padCropRect(50, 40, box, 2.7);
  const patch = minifasPatch(frame, box, 2.7);
  const ref = tf.tidy(() => {
    const t = tf.tensor3d(frame.data, [40, 50, 3], 'float32');
    const crop = tf.slice(t, [rect.top, rect.left, 0], [rect.bottom - rect.top + 1, rect.right - rect.left + 1, 3]);
    return tf.image.resizeBilinear(crop as TF.Tensor3D, [80, 80], false, true).dataSync();
  });
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(patch.data[i]! - ref[i]!));
  assert.ok(worst <= 0.5 + 1e-3, `max difference ${worst}`);
});

let yunet: YunetDetector | undefined;
let pad: MiniFasNet | undefined;
after(() => {
  yunet?.dispose();
  pad?.dispose();
});

test('fused score = mean of both networks’ P(real), on real frames', { skip: skipUnlessShared }, async () => {
  yunet = await YunetDetector.load(sharedPath('models', 'yunet', 'face_detection_yunet_2023mar.onnx'));
  pad = await MiniFasNet.load(
    sharedPath('models', 'minifasnet', '2.7_80x80_MiniFASNetV2.onnx'),
    sharedPath('models', 'minifasnet', '4_0_0_80x80_MiniFASNetV1SE.onnx'),
  );
  const dir = sharedPath('data', 'pad', 'attack');
  const file = `${dir}/${(await readdir(dir)).sort()[0]}`;
  const img = await loadImage(file);
  const face = largestFace(await yunet.detect(img));
  assert.ok(face);
  const s = await pad.score(img, face.box);
  for (const p of s.perModel) assert.ok(p >= 0 && p <= 1);
  assert.equal(s.score, (s.perModel[0] + s.perModel[1]) / 2);
  const v2 = softmax(await pad.logits(0, minifasPatch(img, face.box, 2.7)));
  assert.equal(s.perModel[0], v2[1], 'class 1 is P(real)');
});
