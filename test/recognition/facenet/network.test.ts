/**
 * The nn4.small2 network and the `facenet-nn4small2` encoder on the real weight files + 5 generated ones.
 * With generated tensors the embeddings identify nobody, so these tests assert plumbing, shapes, unit norm and
 * determinism — never identities or distances against the threshold.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type * as TF from '@tensorflow/tfjs';
import type { FaceEncoder } from '../../../src/recognition/encoder.ts';
import { BLOCKS, type Block, traceShapes } from '../../../src/recognition/facenet/architecture.ts';
import { importFacenetWeights } from '../../../src/recognition/facenet/binary.ts';
import { loadCsvWeights } from '../../../src/recognition/facenet/csv-loader.ts';
import {
  createFacenetNn4Small2,
  FACENET_ENCODER_ID,
  preprocessCrop,
} from '../../../src/recognition/facenet/encoder.ts';
import { FacenetNetwork } from '../../../src/recognition/facenet/network.ts';
import { ConsumptionTracker, type WeightTable } from '../../../src/recognition/facenet/weight-table.ts';
import { loadImage } from '../../../src/runtime/image.ts';
import { initBackend, tf } from '../../../src/runtime/tf.ts';
import { FacegateError } from '../../../src/util/errors.ts';
import { makeFacenetCsvDir, makeImportedModelsDir } from '../../helpers/facenet-weights.ts';
import { sharedPath, skipUnlessShared } from '../../helpers/shared.ts';

const happy = (name: string) => sharedPath('data', 'faces', 'happy-house', name);

async function cropTensor(file: string): Promise<TF.Tensor3D> {
  const img = await loadImage(file);
  return tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
}

async function encodeFile(encoder: FaceEncoder, file: string): Promise<Float32Array> {
  const crop = await cropTensor(file);
  try {
    return await encoder.encode(crop);
  } finally {
    crop.dispose();
  }
}

function norm(v: Float32Array): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

describe('architecture', () => {
  test('spatial sizes block by block: 96 → 12 at 3a → 6 at 3c → 3 at 4e → 1 after the head pool', () => {
    assert.deepEqual(
      traceShapes().map((s) => `${s.block}:${s.size}x${s.size}x${s.channels}`),
      [
        'stem:12x12x192',
        '3a:12x12x256',
        '3b:12x12x320',
        '3c:6x6x640',
        '4a:6x6x640',
        '4e:3x3x1024',
        '5a:3x3x736',
        '5b:3x3x736',
        'head-pool:1x1x736',
      ],
    );
  });

  test('a wrong padding is caught by the shape trace', () => {
    const broken: Block[] = BLOCKS.map((b) =>
      b.name !== '3a'
        ? b
        : {
            ...b,
            branches: b.branches.map((br, i) =>
              i === 2 ? [...br.slice(0, -1), { op: 'pad', pad: [3, 3, 3, 3] }] : br,
            ),
          },
    );
    assert.throws(() => traceShapes(broken), /block 3a branch 2 gives 11x11, expected 12/);
  });
});

describe('network and encoder on real + generated weights', { skip: skipUnlessShared }, () => {
  let table: WeightTable;
  let models: { modelsDir: string; cleanup(): Promise<void> };
  let encoder: FaceEncoder;

  before(async () => {
    await initBackend();
    const csv = await makeFacenetCsvDir();
    try {
      table = await loadCsvWeights(csv.dir);
    } finally {
      await csv.cleanup();
    }
    models = await makeImportedModelsDir();
    encoder = createFacenetNn4Small2({ modelsDir: models.modelsDir });
    await encoder.load();
  });
  after(async () => {
    encoder?.dispose();
    await models?.cleanup();
  });

  test('the consumption tracker refuses unknown names, wrong shapes, double use and leftovers', () => {
    const tracker = new ConsumptionTracker(table);
    assert.throws(() => tracker.take('conv9_w', [1]), /not in the weight table/);
    assert.throws(
      () => tracker.take('conv1_w', [64, 3, 3, 3]),
      /expects conv1_w as \[64, 3, 3, 3\] but the table has \[64, 3, 7, 7\]/,
    );
    assert.equal(tracker.take('conv1_w', [64, 3, 7, 7]).length, 9408);
    assert.throws(() => tracker.take('conv1_w', [64, 3, 7, 7]), /consumes conv1_w twice/);
    assert.throws(() => tracker.finish(), /left 223 weight tensor\(s\) unused: conv1_b, bn1_w/);
  });

  test('the network consumes the whole table: 37 folded conv layers + dense', () => {
    const before = tf.memory().numTensors;
    const net = FacenetNetwork.fromWeights(table);
    assert.equal(net.tensorCount, 37 * 2 + 2);
    assert.equal(tf.memory().numTensors - before, 76);
    net.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  test('forward: [n,96,96,3] → [n,128], unit rows, a batch equals its rows run alone', async () => {
    const net = FacenetNetwork.fromWeights(table);
    const x = tf.randomUniform([2, 96, 96, 3], 0, 1, 'float32', 7) as TF.Tensor4D;
    const y = net.forward(x);
    assert.deepEqual(y.shape, [2, 128]);
    const rows = (await y.array()) as number[][];
    for (const r of rows) assert.ok(Math.abs(Math.hypot(...r) - 1) < 1e-5);
    const one = net.forward(tf.slice(x, [1, 0, 0, 0], [1, 96, 96, 3]));
    const alone = ((await one.array()) as number[][])[0] as number[];
    for (let i = 0; i < 128; i++) assert.ok(Math.abs((alone[i] as number) - (rows[1]?.[i] as number)) < 1e-5);
    assert.throws(() => net.forward(tf.zeros([1, 64, 64, 3])), /input must be \[n, 96, 96, 3\], got \[1, 64, 64, 3\]/);
    tf.dispose([x, y, one]);
    net.dispose();
  });

  test('preprocessing feeds RGB/255 unchanged for a 96x96 crop, resizes other sizes', async () => {
    const img = await loadImage(happy('camera_0.jpg'));
    const crop = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
    const x = preprocessCrop(crop);
    assert.deepEqual(x.shape, [1, 96, 96, 3]);
    const first = Array.from((await x.data()).slice(0, 3));
    assert.deepEqual(
      first,
      Array.from(img.data.slice(0, 3), (v) => Math.fround(v / 255)),
    );
    const big = preprocessCrop(tf.zeros([150, 120, 3]));
    assert.deepEqual(big.shape, [1, 96, 96, 3]);
    assert.throws(
      () => preprocessCrop(tf.zeros([96, 96, 4]) as TF.Tensor3D),
      /expects an RGB crop \[h, w, 3\], got \[96, 96, 4\]/,
    );
    tf.dispose([crop, x, big]);
  });

  test('encoder identity: id, 128-d, threshold 0.7, 96 crop', () => {
    assert.equal(encoder.id, FACENET_ENCODER_ID);
    assert.equal(encoder.id, 'facenet-nn4small2');
    assert.equal(encoder.dimension, 128);
    assert.equal(encoder.defaultThreshold, 0.7);
    assert.equal(encoder.cropSize, 96);
  });

  test('encodes exercise crops to 128-d unit vectors; same image → identical vector; different → different', async () => {
    const a1 = await encodeFile(encoder, happy('camera_0.jpg'));
    const a2 = await encodeFile(encoder, happy('camera_0.jpg'));
    const b = await encodeFile(encoder, happy('younes.jpg'));
    const c = await encodeFile(encoder, happy('danielle.png'));
    assert.equal(a1.length, 128);
    for (const v of [a1, b, c]) assert.ok(Math.abs(norm(v) - 1) < 1e-5, `norm ${norm(v)}`);
    assert.deepEqual(a1, a2);
    assert.notDeepEqual(a1, b);
    assert.notDeepEqual(b, c);
    assert.ok(a1.every(Number.isFinite));
  });

  test('encodes crops of other sizes (150x150 bbt crop)', async () => {
    const v = await encodeFile(encoder, sharedPath('data', 'faces', 'bbt', 'amy', 'amy1.png'));
    assert.equal(v.length, 128);
    assert.ok(Math.abs(norm(v) - 1) < 1e-5);
  });

  test('loading twice (binary import vs the CSV table directly) gives the same vectors', async () => {
    const again = createFacenetNn4Small2({ modelsDir: models.modelsDir });
    const fromCsv = createFacenetNn4Small2({ modelsDir: '/nonexistent', weights: async () => table });
    try {
      const v0 = await encodeFile(encoder, happy('kian.jpg'));
      assert.deepEqual(await encodeFile(again, happy('kian.jpg')), v0);
      assert.deepEqual(await encodeFile(fromCsv, happy('kian.jpg')), v0);
    } finally {
      again.dispose();
      fromCsv.dispose();
    }
  });

  test('encode does not leak tensors', async () => {
    const crop = await cropTensor(happy('tian.jpg'));
    await encoder.encode(crop);
    const before = tf.memory().numTensors;
    await encoder.encode(crop);
    assert.equal(tf.memory().numTensors, before);
    crop.dispose();
  });

  test('without an import, load() fails saying how to import, and succeeds once imported', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'facegate-facenet-empty-'));
    const enc = createFacenetNn4Small2({ modelsDir: empty });
    try {
      await assert.rejects(
        () => enc.load(),
        (err: unknown) =>
          err instanceof FacegateError && /run "facegate models import facenet <dir>"/.test(err.message),
      );
      const csv = await makeFacenetCsvDir();
      try {
        await importFacenetWeights(csv.dir, empty);
      } finally {
        await csv.cleanup();
      }
      await enc.load();
      assert.deepEqual(await encodeFile(enc, happy('tian.jpg')), await encodeFile(encoder, happy('tian.jpg')));
    } finally {
      enc.dispose();
      await rm(empty, { recursive: true, force: true });
    }
  });
});
