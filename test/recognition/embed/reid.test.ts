import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { largestFace, YunetDetector } from '../../../src/recognition/detect/yunet.ts';
import { applySimilarity, similarityTransform, warpSimilarity } from '../../../src/recognition/embed/align.ts';
import { cosineDistance, cosineFromEuclidean, l2Normalise } from '../../../src/recognition/embed/metric.ts';
import { createReid0095, REID_TEMPLATE, Reid0095, reidAlignment } from '../../../src/recognition/embed/reid-0095.ts';
import { euclidean } from '../../../src/recognition/matching.ts';
import { GraphModel } from '../../../src/runtime/graph/executor.ts';
import { readIr } from '../../../src/runtime/graph/ir-reader.ts';
import { loadImage } from '../../../src/runtime/image.ts';
import { initBackend, tf } from '../../../src/runtime/tf.ts';
import { conv, maxAbsDiff, perChannel, seeded, toNhwc } from '../../helpers/nchw-ref.ts';
import { sharedPath, skipUnlessShared } from '../../helpers/shared.ts';

const XML = () => sharedPath('models', 'face-reid-0095', 'face-reidentification-retail-0095.xml');
const BIN = () => sharedPath('models', 'face-reid-0095', 'face-reidentification-retail-0095.bin');

before(async () => {
  await initBackend('wasm');
});

test('similarity transform: recovers rotation, scale and shift exactly, never a reflection', () => {
  const truth = { a: 1.7 * Math.cos(0.3), b: 1.7 * Math.sin(0.3), tx: 12, ty: -5 };
  const src = [
    { x: 10, y: 20 },
    { x: 40, y: 22 },
    { x: 25, y: 35 },
    { x: 14, y: 50 },
    { x: 37, y: 49 },
  ];
  const t = similarityTransform(
    src,
    src.map((p) => applySimilarity(truth, p)),
  );
  for (const k of ['a', 'b', 'tx', 'ty'] as const) assert.ok(Math.abs(t[k] - truth[k]) < 1e-9, k);
  // Mirrored targets: the best similarity cannot mirror, so it does not map the points onto them.
  const mirrored = similarityTransform(
    src,
    src.map((p) => ({ x: -p.x, y: p.y })),
  );
  const residual = src.reduce((s, p) => s + Math.abs(applySimilarity(mirrored, p).x + p.x), 0);
  assert.ok(residual > 10, 'a reflection is not representable');
});

test('warp: identity copies the frame, a half-pixel shift averages neighbours, outside is black', () => {
  const frame = { width: 4, height: 4, data: Uint8Array.from({ length: 48 }, (_, i) => (i * 5) % 256) };
  const same = warpSimilarity(frame, { a: 1, b: 0, tx: 0, ty: 0 }, 4);
  assert.deepEqual(same.data, frame.data);
  const half = warpSimilarity(frame, { a: 1, b: 0, tx: -0.5, ty: 0 }, 4);
  // Output (0,0) samples x = 0.5: the mean of pixels (0,0) and (1,0), rounded.
  assert.equal(half.data[0], Math.round((frame.data[0]! + frame.data[3]!) / 2));
  const away = warpSimilarity(frame, { a: 1, b: 0, tx: 100, ty: 0 }, 4);
  assert.ok(away.data.every((v) => v === 0));
});

test('the aligned template lands where the model card puts the eyes, nose and mouth', () => {
  // Keypoints of a face twice the template size, shifted: the alignment maps them back onto template x 128.
  const kps = REID_TEMPLATE.map((p) => ({ x: 300 + p.x * 256, y: 100 + p.y * 256 }));
  const t = reidAlignment(kps as Parameters<typeof reidAlignment>[0]);
  kps.forEach((p, i) => {
    const q = applySimilarity(t, p);
    assert.ok(Math.abs(q.x - REID_TEMPLATE[i]!.x * 128) < 1e-9 && Math.abs(q.y - REID_TEMPLATE[i]!.y * 128) < 1e-9);
  });
});

test('cosine distance, and its equality with ‖a-b‖²/2 for unit vectors', () => {
  const a = l2Normalise(seeded(256, 1));
  const b = l2Normalise(seeded(256, 2));
  assert.ok(Math.abs(cosineDistance(a, a)) < 1e-6);
  assert.ok(
    Math.abs(
      cosineDistance(
        a,
        Float32Array.from(a, (v) => -v),
      ) - 2,
    ) < 1e-6,
  );
  assert.ok(Math.abs(cosineDistance(a, b) - cosineFromEuclidean(euclidean(a, b))) < 1e-6);
});

test('reid-0095 by hand: the input Multiply + Add and the first convolution, in plain JS', {
  skip: skipUnlessShared,
}, async () => {
  const graph = readIr(await readFile(XML()), await readFile(BIN()), 'reid');
  const [mul, add, first] = graph.nodes as [(typeof graph.nodes)[0], (typeof graph.nodes)[0], (typeof graph.nodes)[0]];
  assert.deepEqual([mul.op, add.op, first.op], ['Mul', 'Add', 'Conv']);
  const scale = graph.constants.get(mul.inputs[1]!)!;
  const shift = graph.constants.get(add.inputs[1]!)!;
  const weights = graph.constants.get(first.inputs[1]!)!;
  assert.deepEqual(weights.shape, [64, 3, 3, 3]);
  // The first FP16 constant sits at offset 0 of the .bin: bytes 5c 23 = 0x235c → exponent 8, mantissa 0x35c,
  // (1 + 860/1024) · 2^(8-15) = 0.014373779296875.
  const bin = await readFile(BIN());
  assert.deepEqual([bin[0], bin[1]], [0x5c, 0x23]);
  assert.equal(scale.data[0], (1 + 0x35c / 1024) * 2 ** (8 - 15));
  // Stop the graph at the first conv's raw output (before its bias Add and PReLU).
  graph.outputs = [first.outputs[0]!];
  const model = GraphModel.compile(graph, 'reid-head');
  try {
    const x = { data: seeded(3 * 10 * 10, 7, 0, 255), shape: [1, 3, 10, 10] };
    const pre = perChannel(x, (v, c) => v * scale.data[c]! + shift.data[c]!);
    const ref = conv(pre, weights, undefined, 1, 2, 1);
    const input = tf.tensor4d(toNhwc(x), [1, 10, 10, 3]);
    const out = model.run({ [model.inputs[0]!.name]: input });
    input.dispose();
    const got = out[first.outputs[0]!]!;
    assert.deepEqual(got.shape, [1, 64, 5, 5]);
    assert.ok(maxAbsDiff(got.dataSync(), ref.data) < 1e-4, `max error ${maxAbsDiff(got.dataSync(), ref.data)}`);
    got.dispose();
  } finally {
    model.dispose();
  }
});

let yunet: YunetDetector | undefined;
let reid: Reid0095 | undefined;
after(() => {
  yunet?.dispose();
  reid?.dispose();
});

test('template-aligned embeddings: each bbt person is closer to themselves than to anyone else', {
  skip: skipUnlessShared,
}, async (t) => {
  yunet = await YunetDetector.load(sharedPath('models', 'yunet', 'face_detection_yunet_2023mar.onnx'));
  reid = await Reid0095.load(XML(), BIN());
  const root = sharedPath('data', 'faces', 'bbt');
  const people: { person: string; e: Float32Array }[] = [];
  for (const person of (await readdir(root)).filter((p) => !p.includes('.'))) {
    for (const file of await readdir(`${root}/${person}`)) {
      const img = await loadImage(`${root}/${person}/${file}`);
      const face = largestFace(await yunet.detect(img));
      assert.ok(face, `${file}: no face`);
      const e: Float32Array = await reid.embedFace(img, face.keypoints);
      assert.equal(e.length, 256);
      assert.ok(Math.abs(Math.hypot(...e) - 1) < 1e-5, 'L2-normalised');
      people.push({ person, e });
    }
  }
  const names = [...new Set(people.map((p) => p.person))];
  const meanDistance = (p: string, q: string) => {
    const ds: number[] = [];
    for (const a of people.filter((x) => x.person === p))
      for (const b of people.filter((x) => x.person === q)) if (a !== b) ds.push(cosineDistance(a.e, b.e));
    return ds.reduce((s, d) => s + d, 0) / ds.length;
  };
  let genuineMax = 0;
  let impostorMin = 2;
  for (let i = 0; i < people.length; i++)
    for (let j = i + 1; j < people.length; j++) {
      const d = cosineDistance(people[i]!.e, people[j]!.e);
      if (people[i]!.person === people[j]!.person) genuineMax = Math.max(genuineMax, d);
      else impostorMin = Math.min(impostorMin, d);
    }
  t.diagnostic(`cosine distance: genuine max ${genuineMax.toFixed(3)}, impostor min ${impostorMin.toFixed(3)}`);
  for (const p of names) {
    const self = meanDistance(p, p);
    for (const q of names) if (q !== p) assert.ok(self < meanDistance(p, q), `${p} vs ${q}`);
  }
});

test('the reid-0095 FaceEncoder says cosine, 0.60, 256-d, and loads only sha256-checked weights', async () => {
  const enc = createReid0095({ modelsDir: '/nonexistent-models' });
  assert.equal(enc.id, 'reid-0095');
  assert.equal(enc.metric, 'cosine');
  assert.equal(enc.defaultThreshold, 0.6);
  assert.equal(enc.dimension, 256);
  await assert.rejects(enc.load(), /face-reid model not found: .*facegate models fetch face-reid/);
});
