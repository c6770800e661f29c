/**
 * FaceNet crops aligned as OpenFace aligns them for nn4.small2: the affine map that puts landmarks 39, 42 and 57
 * (inner eye corners, bottom lip) on OpenFace's template at 96x96. The template points below are OpenFace's
 * `96 * MINMAX_TEMPLATE[[39, 42, 57]]` computed with numpy from openface/align_dlib.py's TEMPLATE — literals, so a
 * changed template value, index or output size turns this red.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type * as TF from '@tensorflow/tfjs';
import { alignOpenFace, applyAffine, openFaceTransform, type Point } from '../../../src/recognition/align-openface.ts';
import { loadFaceApiNets } from '../../../src/recognition/face-api-models.ts';
import { FacePipeline } from '../../../src/recognition/pipeline.ts';
import { loadImage } from '../../../src/runtime/image.ts';
import { initBackend, tf } from '../../../src/runtime/tf.ts';
import { FacegateError } from '../../../src/util/errors.ts';
import { makeImportedModelsDir } from '../../helpers/facenet-weights.ts';
import { sharedPath, skipUnlessShared } from '../../helpers/shared.ts';

/** OpenFace: 96 · MINMAX_TEMPLATE for landmarks 39, 42, 57 (numpy, float32). */
const TEMPLATE_96: Record<number, Point> = {
  39: { x: 34.923355, y: 17.0829 },
  42: { x: 59.420464, y: 16.5867 },
  57: { x: 48.01958, y: 72.05611 },
};

/** 68 hand-made landmarks: 39, 42 and 57 where a face would put them, the others scattered (not an affine image
 * of the template, so aligning on any other three landmarks gives another transform). */
function handLandmarks(): Point[] {
  const points = Array.from({ length: 68 }, (_, i) => ({ x: 90 + ((i * 37) % 71), y: 70 + ((i * 53) % 97) }));
  points[39] = { x: 118.5, y: 96.25 };
  points[42] = { x: 161, y: 101 };
  points[57] = { x: 143.75, y: 178 };
  return points;
}

before(async () => {
  await initBackend('wasm');
});

test('the transform puts landmarks 39, 42 and 57 on the template at 96x96', () => {
  const landmarks = handLandmarks();
  const h = openFaceTransform(landmarks);
  for (const i of [39, 42, 57]) {
    const p = applyAffine(h, landmarks[i] as Point);
    const t = TEMPLATE_96[i] as Point;
    assert.ok(Math.abs(p.x - t.x) < 1e-3 && Math.abs(p.y - t.y) < 1e-3, `landmark ${i} → ${p.x}, ${p.y}`);
  }
  assert.throws(() => openFaceTransform(landmarks.slice(0, 67)), /68 landmarks/);
  const collinear = landmarks.map((p) => ({ ...p }));
  collinear[57] = { x: 2 * 161 - 118.5, y: 2 * 101 - 96.25 };
  assert.throws(() => openFaceTransform(collinear), FacegateError);
});

test('the warped 96x96 crop samples the image at the aligned positions (bilinear, black outside)', () => {
  // A 256x256 float image whose pixel (x, y) holds (x, y, 7): the crop's value at a point is the image position it
  // came from, exactly (bilinear interpolation of a linear ramp is exact).
  const size = 256;
  const ramp = tf.tidy(() => {
    const xs = tf.tile(tf.reshape(tf.range(0, size), [1, size, 1]), [size, 1, 1]);
    const ys = tf.tile(tf.reshape(tf.range(0, size), [size, 1, 1]), [1, size, 1]);
    return tf.concat([xs, ys, tf.fill([size, size, 1], 7)], 2) as TF.Tensor3D;
  });
  const landmarks = handLandmarks();
  const crop = alignOpenFace(ramp, landmarks);
  assert.deepEqual(crop.shape, [96, 96, 3]);
  const v = crop.arraySync() as number[][][];
  const sample = (u: number, w: number, ch: number) => {
    const [u0, w0] = [Math.floor(u), Math.floor(w)];
    const [fu, fw] = [u - u0, w - w0];
    const at = (a: number, b: number) => (v[b]?.[a]?.[ch] as number) ?? Number.NaN;
    return (
      at(u0, w0) * (1 - fu) * (1 - fw) +
      at(u0 + 1, w0) * fu * (1 - fw) +
      at(u0, w0 + 1) * (1 - fu) * fw +
      at(u0 + 1, w0 + 1) * fu * fw
    );
  };
  for (const i of [39, 42, 57]) {
    const t = TEMPLATE_96[i] as Point;
    const l = landmarks[i] as Point;
    const got = { x: sample(t.x, t.y, 0), y: sample(t.x, t.y, 1) };
    assert.ok(
      Math.abs(got.x - l.x) < 0.01 && Math.abs(got.y - l.y) < 0.01,
      `template ${i}: came from ${got.x}, ${got.y}`,
    );
  }
  assert.equal(v[48]?.[48]?.[2], 7);
  // The same face near the image's corner: what falls outside the image is black (cv2.warpAffine's border).
  const shifted = landmarks.map((p) => ({ x: p.x - 150, y: p.y - 110 }));
  const edge = alignOpenFace(ramp, shifted).arraySync() as number[][][];
  assert.deepEqual(edge[0]?.[0], [0, 0, 0]);
  tf.dispose([ramp, crop]);
});

describe('the pipeline aligns FaceNet crops the OpenFace way', { skip: skipUnlessShared }, () => {
  let models: { modelsDir: string; cleanup(): Promise<void> } | undefined;
  let pipeline: FacePipeline | undefined;
  before(async () => {
    models = await makeImportedModelsDir();
    pipeline = await FacePipeline.create({
      backend: 'wasm',
      encoder: 'facenet-nn4small2',
      modelsDir: models.modelsDir,
    });
  });
  after(async () => {
    pipeline?.dispose();
    await models?.cleanup();
  });

  test('a real face: the encoder gets a 96x96 crop with the inner eyes and lip on the template', async () => {
    const p = pipeline as FacePipeline;
    const crops: TF.Tensor3D[] = [];
    const encode = p.encoder.encode.bind(p.encoder);
    p.encoder.encode = (crop) => {
      crops.push(tf.clone(crop));
      return encode(crop);
    };
    const result = await p.analyse(await loadImage(sharedPath('data', 'faces', 'bbt', 'penny', 'penny1.png')));
    assert.equal(result.faces.length, 1);
    const crop = crops[0] as TF.Tensor3D;
    assert.deepEqual(crop.shape, [96, 96, 3]);
    // Landmarks found again on the aligned crop sit on the template points (within a few pixels: the landmark
    // net's own error on a tight 96-pixel crop).
    const api = await loadFaceApiNets(['faceLandmark68Net']);
    const again = await api.nets.faceLandmark68Net.detectLandmarks(crop as never);
    const positions = (again as InstanceType<typeof api.FaceLandmarks68>).positions;
    for (const i of [39, 42, 57]) {
      const t = TEMPLATE_96[i] as Point;
      const q = positions[i] as Point;
      console.log(
        `# landmark ${i} on the aligned crop: ${q.x.toFixed(1)}, ${q.y.toFixed(1)} (template ${t.x.toFixed(1)}, ${t.y.toFixed(1)})`,
      );
      assert.ok(Math.hypot(q.x - t.x, q.y - t.y) < 5, `landmark ${i} at ${q.x}, ${q.y}`);
    }
    tf.dispose(crops);
  });
});
