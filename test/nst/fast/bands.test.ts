import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Tensor4D } from '@tensorflow/tfjs';
import { type Block, bandInput, combineStats, fastBand, planBands, runBandsHere } from '../../../src/nst/fast/band.ts';
import { buildFastStyleNet, runFastStyle } from '../../../src/nst/fast/net.ts';
import { initBackend, tf } from '../../../src/runtime/tf.ts';
import { randomFastWeights } from '../../helpers/fast-weights.ts';

before(async () => {
  await initBackend('wasm');
});

const maxDiff = (a: Tensor4D, b: Tensor4D) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);

/** The whole image computed as the given bands, side by side in this thread, stitched back together. */
function banded(net: ReturnType<typeof buildFastStyleNet>, x: Tensor4D, splits: number[], chunkRows = 8): Tensor4D {
  const [, h, w] = x.shape;
  const edges = [0, ...splits, h];
  const geometry = edges.slice(0, -1).map((start, i) => ({ height: h, width: w, start, end: edges[i + 1] as number }));
  const inputs = geometry.map((g) => bandInput(x, g));
  const outs = runBandsHere(geometry.map((g, i) => fastBand(net, g, inputs[i] as Tensor4D, chunkRows)));
  tf.dispose(inputs);
  const y = tf.concat(outs, 1) as Tensor4D;
  tf.dispose(outs);
  return y;
}

test('two or three bands with exchanged statistics and halos give the one-band image (to 1e-4 of the 0..255 range)', () => {
  const net = buildFastStyleNet(randomFastWeights());
  const x = tf.randomUniform([1, 52, 40, 3], 0, 255, 'float32', 3) as Tensor4D;
  const whole = runFastStyle(net, x, undefined, 8);
  const before = tf.memory().numTensors;
  // Middle split, the thinnest bands the 4-row grid allows at either edge, three bands, odd chunking.
  for (const splits of [[28], [4], [48], [16, 32], [20, 24]]) {
    const y = banded(net, x, splits, splits.length === 1 ? 8 : 5);
    assert.deepEqual(y.shape, whole.shape);
    const diff = maxDiff(y, whole);
    // Only float summation order differs (each band averages its own rows): measured up to ~1.3e-3 of 255.
    assert.ok(diff < 255e-4, `bands at ${splits} differ from one band by ${diff}`);
    y.dispose();
  }
  assert.equal(tf.memory().numTensors, before, 'no tensors leak per banded run');
  assert.ok((tf.moments(whole).variance.dataSync()[0] as number) > 10, 'the output should not be flat');
  tf.dispose([x, whole]);
  net.dispose();
});

test('bands that only shared statistics but no halo rows would differ (the halo test can fail)', () => {
  // Same as above with the neighbours' rows withheld: the rows near the split change. Guards the test above
  // against passing because the split had no effect.
  const net = buildFastStyleNet(randomFastWeights());
  const x = tf.randomUniform([1, 32, 24, 3], 0, 255, 'float32', 4) as Tensor4D;
  const whole = runFastStyle(net, x, undefined, 8);
  const geometry = planBands(32, 24, 2);
  const inputs = geometry.map((g) => bandInput(x, g));
  const bands = geometry.map((g, i) => fastBand(net, g, inputs[i] as Tensor4D, 8));
  let steps = bands.map((b) => b.next());
  while (!steps.every((s) => s.done)) {
    const outs = steps.map((s) => s.value as Exclude<typeof s.value, Tensor4D>);
    const stats = combineStats(outs);
    // Each band gets zeros instead of its neighbour's rows: same shapes, wrong values.
    const zeros = (b: Block | undefined) => b && { data: new Float32Array(b.data.length), shape: b.shape };
    steps = bands.map((b, i) =>
      b.next({ ...stats, fromAbove: zeros(outs[i - 1]?.toBelow), fromBelow: zeros(outs[i + 1]?.toAbove) }),
    );
  }
  const y = tf.concat(
    steps.map((s) => s.value as Tensor4D),
    1,
  );
  const diff = maxDiff(y, whole);
  assert.ok(diff > 1, `withholding the halo should change the image, changed by ${diff}`);
  tf.dispose([x, whole, y, ...inputs, ...steps.map((s) => s.value as Tensor4D)]);
  net.dispose();
});

test('combined statistics equal those of the concatenated parts (Chan et al.)', () => {
  const a = [1, 2, 3, 4, 10];
  const b = [7, -1, 0.5];
  const part = (v: number[]) => {
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    return {
      count: v.length,
      mean: Float64Array.of(mean),
      m2: Float64Array.of(v.reduce((s, x) => s + (x - mean) ** 2, 0)),
    };
  };
  const all = [...a, ...b];
  const whole = part(all);
  const got = combineStats([part(a), part(b)]);
  assert.ok(Math.abs((got.mean[0] as number) - (whole.mean[0] as number)) < 1e-12);
  assert.ok(Math.abs((got.variance[0] as number) - (whole.m2[0] as number) / all.length) < 1e-12);
});

test('planBands cuts on the 4-row grid, at least 4 rows a band, and honours a split point', () => {
  assert.deepEqual(
    planBands(480, 640, 2).map((g) => [g.start, g.end]),
    [
      [0, 240],
      [240, 480],
    ],
  );
  assert.deepEqual(
    planBands(300, 400, 2).map((g) => [g.start, g.end]),
    [
      [0, 152],
      [152, 300],
    ],
  );
  assert.deepEqual(
    planBands(8, 8, 3).map((g) => [g.start, g.end]),
    [
      [0, 4],
      [4, 8],
    ],
  );
  assert.deepEqual(
    planBands(480, 640, 2, 1000).map((g) => [g.start, g.end]),
    [
      [0, 476],
      [476, 480],
    ],
  );
  for (const g of planBands(300, 400, 3)) assert.equal(g.start % 4, 0);
});
