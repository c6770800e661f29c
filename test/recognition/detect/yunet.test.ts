import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import {
  decodeYunet,
  largestFace,
  nmsYunet,
  YunetDetector,
  type YunetFace,
  yunetGeometry,
  yunetInput,
} from '../../../src/recognition/detect/yunet.ts';
import { loadImage } from '../../../src/runtime/image.ts';
import { initBackend } from '../../../src/runtime/tf.ts';
import { sharedPath, skipUnlessShared } from '../../helpers/shared.ts';

/** Outputs for a padW x padH input with every cell at zero score except the given ones. */
function outputs(padW: number, padH: number, cells: { stride: number; index: number; v: number[] }[]) {
  const out: Record<string, Float32Array> = {};
  for (const s of [8, 16, 32]) {
    const n = (padW / s) * (padH / s);
    out[`cls_${s}`] = new Float32Array(n);
    out[`obj_${s}`] = new Float32Array(n);
    out[`bbox_${s}`] = new Float32Array(n * 4);
    out[`kps_${s}`] = new Float32Array(n * 10);
  }
  for (const { stride, index, v } of cells) {
    const [cls, obj, ...rest] = v as [number, number, ...number[]];
    out[`cls_${stride}`]![index] = cls;
    out[`obj_${stride}`]![index] = obj;
    out[`bbox_${stride}`]!.set(rest.slice(0, 4), index * 4);
    out[`kps_${stride}`]!.set(rest.slice(4), index * 10);
  }
  return out;
}

test('decode follows FaceDetectorYN: sqrt(clamped cls·obj), centre/size/keypoints per grid cell', () => {
  // 64x32 input: stride 16 grid is 4 columns x 2 rows; cell index 6 = row 1, column 2.
  const kps = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
  const out = outputs(64, 32, [
    { stride: 16, index: 6, v: [1.3, 0.81, 0.5, 0.25, Math.log(2), Math.log(3), ...kps] },
    { stride: 8, index: 0, v: [0.81, 0.81, 0, 0, 0, 0, ...kps] }, // score 0.81 ≥ 0.8: kept
    { stride: 32, index: 1, v: [0.8, 0.79, 0, 0, 0, 0, ...kps] }, // score sqrt(0.632) < 0.8: dropped
  ]);
  const faces = decodeYunet(out, 64, 32, 0.8);
  assert.equal(faces.length, 2);
  const f = faces.find((x) => x.score > 0.85)!;
  const near = (x: number, y: number) => Math.abs(x - y) < 1e-5;
  assert.ok(near(f.score, Math.sqrt(1 * 0.81)), `score ${f.score}`); // cls clamped to 1
  // centre ((2 + 0.5)·16, (1 + 0.25)·16) = (40, 20); size (2·16, 3·16) = (32, 48)
  const want = { x: 40 - 16, y: 20 - 24, width: 32, height: 48 };
  for (const k of ['x', 'y', 'width', 'height'] as const) assert.ok(near(f.box[k], want[k]), `${k} ${f.box[k]}`);
  f.keypoints.forEach((p, k) => {
    assert.ok(near(p.x, (kps[2 * k]! + 2) * 16) && near(p.y, (kps[2 * k + 1]! + 1) * 16), `keypoint ${k}`);
  });
});

test('NMS works on integer-truncated boxes, keeps IoU ≤ 0.3 and drops above, highest score first', () => {
  const face = (x: number, y: number, w: number, score: number): YunetFace => ({
    box: { x, y, width: w, height: w },
    score,
    keypoints: [0, 1, 2, 3, 4].map(() => ({ x: 0, y: 0 })) as YunetFace['keypoints'],
  });
  // a vs b: 10x10 boxes 5 px apart → IoU 50/150 = 0.33 > 0.3: a (lower score) is suppressed.
  // c vs b: 10.6 px → as floats IoU 44/156 = 0.28 (kept), truncated to 10 px IoU 0.33: OpenCV suppresses it.
  // e: touches nothing kept; d: far away.
  const a = face(0, 0, 10, 0.9);
  const b = face(5, 0, 10, 0.95);
  const c = face(10.6, 0, 10, 0.85);
  const e = face(16, 0, 10, 0.84);
  const d = face(100, 100, 10, 0.82);
  const kept = nmsYunet([a, c, d, e, b], 0.8, 0.3, 5000);
  assert.deepEqual(
    kept.map((k) => k.score),
    [0.95, 0.84, 0.82],
  );
  assert.deepEqual(nmsYunet([a], 0.8, 0.3, 5000), [a], 'a single candidate is returned as is');
  assert.equal(nmsYunet([a, c, d, e, b], 0.8, 0.3, 2).length, 1, 'topK bounds the candidates (b, then a suppressed)');
});

test('input geometry: longer side 320, padded to multiples of 32, factors back to the frame', () => {
  assert.deepEqual(yunetGeometry(640, 480, 320), { w: 320, h: 240, padW: 320, padH: 256, sx: 2, sy: 2 });
  assert.deepEqual(yunetGeometry(150, 150, 320), {
    w: 320,
    h: 320,
    padW: 320,
    padH: 320,
    sx: 150 / 320,
    sy: 150 / 320,
  });
  const tall = yunetGeometry(480, 1000, 320);
  assert.equal(tall.h, 320);
  assert.equal(tall.w, 154);
  assert.equal(tall.padW, 160);
});

test('network input: BGR 0..255, NHWC, zero padding at the bottom and right only', () => {
  const frame = { width: 64, height: 40, data: Uint8Array.from({ length: 64 * 40 * 3 }, (_, i) => i % 251) };
  const g = yunetGeometry(64, 40, 64);
  assert.deepEqual([g.w, g.h, g.padW, g.padH], [64, 40, 64, 64]);
  const input = yunetInput(frame, g);
  assert.equal(input.length, 64 * 64 * 3);
  const at = (x: number, y: number) => Array.from(input.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3));
  const rgb = (x: number, y: number) => Array.from(frame.data.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3));
  assert.deepEqual(at(5, 7), rgb(5, 7).reverse());
  assert.deepEqual(at(63, 39), rgb(63, 39).reverse());
  assert.ok(
    input.subarray(40 * 64 * 3).every((v) => v === 0),
    'rows 40..63 are zero',
  );
  // Downscaled 2x: each output pixel is the rounded mean of a 2x2 block (half-pixel grid).
  const half = yunetInput(frame, yunetGeometry(64, 40, 32));
  const block = [0, 1, 2].map((c) =>
    Math.round((frame.data[c]! + frame.data[3 + c]! + frame.data[64 * 3 + c]! + frame.data[64 * 3 + 3 + c]!) / 4),
  );
  assert.deepEqual(Array.from(half.subarray(0, 3)), block.reverse());
});

let detector: YunetDetector | undefined;
before(async () => {
  await initBackend('wasm');
});
after(() => detector?.dispose());

async function yunet(): Promise<YunetDetector> {
  detector ??= await YunetDetector.load(sharedPath('models', 'yunet', 'face_detection_yunet_2023mar.onnx'));
  return detector;
}

const inside = (f: YunetFace) =>
  f.keypoints.every(
    (p) => p.x >= f.box.x && p.x <= f.box.x + f.box.width && p.y >= f.box.y && p.y <= f.box.y + f.box.height,
  );

test('group photos: several faces, in full-resolution coordinates, keypoints inside their boxes', {
  skip: skipUnlessShared,
}, async (t) => {
  const d = await yunet();
  const img = await loadImage(sharedPath('data', 'faces', 'bbt', 'bbt1.jpg'));
  const faces = await d.detect(img);
  t.diagnostic(`bbt1.jpg (${img.width}x${img.height}): ${faces.length} faces`);
  assert.ok(faces.length >= 2, `found ${faces.length}`);
  for (const f of faces) {
    assert.ok(f.score >= 0.8);
    assert.ok(inside(f), 'keypoints inside the box');
    assert.ok(f.box.x + f.box.width > 0 && f.box.x < img.width && f.box.y < img.height, 'box in the frame');
    const [le, re] = f.keypoints;
    assert.ok(le.x < re.x, 'image-left eye left of image-right eye');
  }
  // Faces sit all over a 1366-wide frame: coordinates are full-resolution, not the 320-px input's.
  assert.ok(Math.max(...faces.map((f) => f.box.x)) > 320);
});

test('tight 150x150 bbt crops: a face is found directly, without the grey-margin retry', {
  skip: skipUnlessShared,
}, async (t) => {
  const d = await yunet();
  const root = sharedPath('data', 'faces', 'bbt');
  let total = 0;
  const missed: string[] = [];
  for (const person of (await readdir(root)).filter((p) => !p.includes('.'))) {
    for (const file of await readdir(`${root}/${person}`)) {
      total++;
      const face = largestFace(await d.detect(await loadImage(`${root}/${person}/${file}`)));
      if (!face || !inside(face)) missed.push(file);
    }
  }
  t.diagnostic(`${total - missed.length} of ${total} crops`);
  assert.deepEqual(missed, []);
});
