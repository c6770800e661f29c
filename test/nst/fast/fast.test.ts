import assert from 'node:assert/strict';
import { appendFile, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import type { Tensor4D } from '@tensorflow/tfjs';
import { conv2dTranspose2x } from '../../../src/nst/fast/conv-transpose.ts';
import { buildFastStyleNet, runFastStyle, stylizeFast } from '../../../src/nst/fast/net.ts';
import { DEFAULT_FAST_STYLES, fastStyleModelKind, loadStyleByName } from '../../../src/nst/fast/style-kind.ts';
import { type FastStyleWeights, loadFastStyle } from '../../../src/nst/fast/weights.ts';
import { initBackend, tf } from '../../../src/runtime/tf.ts';
import { FacegateError } from '../../../src/util/errors.ts';
import { errorLines, facegate } from '../../helpers/cli.ts';
import { randomFastWeights } from '../../helpers/fast-weights.ts';
import { sharedPath, skipUnlessShared } from '../../helpers/shared.ts';

before(async () => {
  await initBackend('wasm');
});

/** Direct definition of TF's SAME stride-2 transposed conv (output 2H), for an independent reference. */
function naiveTranspose(
  x: Float32Array,
  [h, w, cin]: readonly [number, number, number],
  f: Float32Array,
  cout: number,
): Float32Array {
  const out = new Float32Array(4 * h * w * cout);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++)
      for (let ky = 0; ky < 3; ky++)
        for (let kx = 0; kx < 3; kx++) {
          const oy = 2 * i + ky;
          const ox = 2 * j + kx;
          if (oy >= 2 * h || ox >= 2 * w) continue;
          for (let co = 0; co < cout; co++)
            for (let ci = 0; ci < cin; ci++) {
              const k = (oy * 2 * w + ox) * cout + co;
              out[k] =
                (out[k] as number) +
                (x[(i * w + j) * cin + ci] as number) * (f[((ky * 3 + kx) * cout + co) * cin + ci] as number);
            }
        }
  return out;
}

test('sub-pixel transposed conv equals tf.conv2dTranspose and the direct definition to 1e-4', () => {
  for (const [h, w, cin, cout] of [
    [5, 7, 4, 3],
    [6, 6, 16, 8],
    [1, 2, 3, 2],
  ] as const) {
    const x = tf.randomNormal([1, h, w, cin]) as Tensor4D;
    const f = tf.randomNormal([3, 3, cout, cin]) as Tensor4D;
    const stock = tf.conv2dTranspose(x, f, [1, 2 * h, 2 * w, cout], 2, 'same');
    const ours = conv2dTranspose2x(x, f);
    assert.deepEqual(ours.shape, [1, 2 * h, 2 * w, cout]);
    const diff = tf.max(tf.abs(tf.sub(stock, ours))).dataSync()[0] as number;
    assert.ok(diff < 1e-4, `stock vs sub-pixel differ by ${diff}`);
    const ref = naiveTranspose(x.dataSync() as Float32Array, [h, w, cin], f.dataSync() as Float32Array, cout);
    const got = ours.dataSync();
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs((ref[i] as number) - (got[i] as number)));
    assert.ok(worst < 1e-4, `direct definition vs sub-pixel differ by ${worst}`);
    tf.dispose([x, f, stock, ours]);
  }
});

/** The network written plainly with stock ops (moments, conv2dTranspose, untiled convs): the reference. */
function referenceFastStyle(w: FastStyleWeights, x: Tensor4D): Tensor4D {
  return tf.tidy(() => {
    const norm = (t: Tensor4D, l: number, relu: boolean) => {
      const { mean, variance } = tf.moments(t, [1, 2], true);
      const layer = w.layers[l] as FastStyleWeights['layers'][number];
      const y = tf.add(tf.mul(tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-3))), layer.scale), layer.shift);
      return (relu ? tf.relu(y) : y) as Tensor4D;
    };
    const f = (l: number) =>
      tf.tensor4d(
        (w.layers[l] as FastStyleWeights['layers'][number]).filter.values,
        (w.layers[l] as FastStyleWeights['layers'][number]).filter.shape as [number, number, number, number],
      );
    const conv = (t: Tensor4D, l: number, stride: number, relu: boolean) =>
      norm(tf.conv2d(t, f(l), stride, 'same'), l, relu);
    let y = conv(conv(conv(x, 0, 1, true), 1, 2, true), 2, 2, true);
    for (let r = 0; r < 5; r++) y = tf.add(y, conv(conv(y, 3 + 2 * r, 1, true), 4 + 2 * r, 1, false)) as Tensor4D;
    for (const l of [13, 14]) {
      const [, h, wd] = y.shape;
      const filter = f(l);
      y = norm(tf.conv2dTranspose(y, filter, [1, 2 * h, 2 * wd, filter.shape[2]], 2, 'same'), l, true);
    }
    return tf.clipByValue(tf.add(tf.mul(tf.tanh(conv(y, 15, 1, false)), 150), 127.5), 0, 255) as Tensor4D;
  });
}

test('fast network (banded 9x9 convs, pooled statistics, fused norm) equals the stock-op reference', () => {
  const weights = randomFastWeights();
  const net = buildFastStyleNet(weights);
  const x = tf.randomUniform([1, 44, 36, 3], 0, 255, 'float32', 1) as Tensor4D;
  const before = tf.memory().numTensors;
  // 8-row bands on 44 rows: six bands, the last one shorter, so the halo and edge padding logic is exercised.
  const ours = runFastStyle(net, x, undefined, 8);
  assert.equal(tf.memory().numTensors, before + 1, 'only the output stays alive');
  const ref = referenceFastStyle(weights, x);
  const diff = tf.max(tf.abs(tf.sub(ours, ref))).dataSync()[0] as number;
  assert.ok(diff < 0.01, `outputs (0..255) differ by up to ${diff}`);
  assert.ok((tf.moments(ref).variance.dataSync()[0] as number) > 10, 'reference output should not be flat');
  tf.dispose([x, ours, ref]);
  net.dispose();
});

test('matilde_perez is kept out of the default styles, the good ones are in', () => {
  assert.ok(!DEFAULT_FAST_STYLES.includes('matilde_perez'));
  assert.ok(DEFAULT_FAST_STYLES.includes('udnie') && DEFAULT_FAST_STYLES.includes('wave'));
});

test('a real style stylizes a small image: changes it, keeps the size, is deterministic', {
  skip: skipUnlessShared,
}, async () => {
  const weights = await loadFastStyle(sharedPath('models', 'fast-style', 'udnie'));
  assert.equal(weights.layers.length, 16);
  const net = buildFastStyleNet(weights);
  const before = tf.memory().numTensors;
  // 30x22: not a multiple of 4, exercises the pad-and-crop path.
  const width = 30;
  const height = 22;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) data.set([x * 8, y * 10, x < 15 ? 40 : 220], (y * width + x) * 3);
  const img = { data, width, height };
  const a = await stylizeFast(net, img);
  const b = await stylizeFast(net, img);
  assert.equal(tf.memory().numTensors, before, 'no tensors leak per image');
  assert.equal(a.width, width);
  assert.equal(a.height, height);
  assert.deepEqual(a.data, b.data);
  let changed = 0;
  for (let i = 0; i < data.length; i++) if (Math.abs((a.data[i] as number) - (data[i] as number)) > 30) changed++;
  assert.ok(changed > data.length / 4, 'output should differ clearly from the input');
  assert.ok(new Set(a.data).size > 50, 'output should not be flat');
  net.dispose();
});

test('weights with a wrong shape or a missing file are one-line errors', { skip: skipUnlessShared }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-style-'));
  try {
    await cp(sharedPath('models', 'fast-style', 'wave'), dir, { recursive: true });
    await appendFile(path.join(dir, 'Variable_7'), Buffer.alloc(4));
    await assert.rejects(loadFastStyle(dir, 'wave copy'), /Variable_7 has \d+ bytes, expected 512/);
    await rm(path.join(dir, 'Variable_7'));
    await assert.rejects(loadFastStyle(dir, 'wave copy'), /weight file missing/);
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
    manifest.Variable.shape = [9, 9, 3, 16];
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    await assert.rejects(
      loadFastStyle(dir, 'wave copy'),
      (e: unknown) => e instanceof FacegateError && /Variable has shape/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('models import fast-style copies with a sha256 manifest; tampering is detected', {
  skip: skipUnlessShared,
}, async () => {
  const modelsDir = await mkdtemp(path.join(os.tmpdir(), 'facegate-models-'));
  try {
    const summary = await fastStyleModelKind.importFrom?.(sharedPath('models', 'fast-style', 'scream'), modelsDir);
    assert.match(summary ?? '', /imported fast style "scream"/);
    const rows = await fastStyleModelKind.list(modelsDir);
    assert.equal(rows.find((r) => r.name === 'scream')?.status, 'ready');
    assert.equal(rows.find((r) => r.name === 'udnie')?.status, 'missing');
    await loadStyleByName(modelsDir, 'scream');
    const victim = path.join(modelsDir, 'fast-style', 'scream', 'Variable_4');
    const bytes = await readFile(victim);
    bytes[0] = (bytes[0] as number) ^ 1;
    await writeFile(victim, bytes);
    await assert.rejects(loadStyleByName(modelsDir, 'scream'), /differs from its recorded sha256/);
    await assert.rejects(loadStyleByName(modelsDir, 'udnie'), /not found in .*models fetch fast-style udnie/);
    await assert.rejects(loadStyleByName(modelsDir, 'picasso'), /unknown style "picasso"/);
  } finally {
    await rm(modelsDir, { recursive: true, force: true });
  }
});

test('CLI: unknown style and non-image input exit 2 with one line', { skip: skipUnlessShared }, async () => {
  const cases: [string[], RegExp][] = [
    [
      ['stylize', sharedPath('data', 'content', 'stata.jpg'), '--style', 'picasso', '-o', '/tmp/x.png'],
      /unknown style "picasso"/,
    ],
    [['stylize', sharedPath('README.md'), '--style', 'udnie', '-o', '/tmp/x.png'], /not an image/],
  ];
  for (const [args, message] of cases) {
    const r = await facegate(['--models-dir', sharedPath('models'), ...args]);
    assert.equal(r.code, 2);
    const errLine = errorLines(r.stderr);
    assert.equal(errLine.length, 1);
    assert.match(errLine[0] as string, message);
    assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/);
  }
});
