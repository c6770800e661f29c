import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import type { Tensor4D } from '@tensorflow/tfjs';
import { buildFastStyleNet, runFastStyle } from '../../../src/nst/fast/net.ts';
import { runFastSplit, stopFastHelper } from '../../../src/nst/fast/split.ts';
import { type JobEvent, stylize } from '../../../src/nst/job.ts';
import { initBackend, tf } from '../../../src/runtime/tf.ts';
import { randomFastWeights } from '../../helpers/fast-weights.ts';
import { sharedPath, skipUnlessShared } from '../../helpers/shared.ts';

before(async () => {
  await initBackend('wasm');
});
after(async () => {
  await stopFastHelper();
});

const maxDiff = (a: Tensor4D, b: Tensor4D) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
const threads = () => (process.platform === 'linux' ? readdirSync('/proc/self/task').length : 0);

test('two bands on two wasm instances give the one-band image; a new style reaches the helper', async () => {
  const x = tf.randomUniform([1, 64, 48, 3], 0, 255, 'float32', 5) as Tensor4D;
  for (const [seedKey, weights] of [
    ['a', randomFastWeights()],
    ['b', randomFastWeights(1000)],
  ] as const) {
    const net = buildFastStyleNet(weights);
    const whole = runFastStyle(net, x);
    const split = await runFastSplit({ net, weights, key: seedKey, parts: 2, backend: 'wasm' }, x);
    assert.equal(split.bands, 2);
    const diff = maxDiff(split.output, whole);
    // Float summation order only (see nst-fast-bands.test.ts); a stale style in the helper differs by tens.
    assert.ok(diff < 255e-4, `style ${seedKey}: split differs from one band by ${diff}`);
    tf.dispose([whole, split.output]);
    net.dispose();
  }
  x.dispose();
});

test('parts 1 stays on this thread', async () => {
  const weights = randomFastWeights();
  const net = buildFastStyleNet(weights);
  const x = tf.randomUniform([1, 16, 16, 3], 0, 255, 'float32', 6) as Tensor4D;
  const r = await runFastSplit({ net, weights, key: 'one', parts: 1, backend: 'wasm' }, x);
  assert.equal(r.bands, 1);
  tf.dispose([x, r.output]);
  net.dispose();
});

test('a helper that cannot start leaves the image on one band instead of failing it', async (t) => {
  // The helper is asked for the tensorflow backend, which it cannot load where @tensorflow/tfjs-node is absent.
  let hasTfNode = true;
  try {
    createRequire(import.meta.url)('@tensorflow/tfjs-node');
  } catch {
    hasTfNode = false;
  }
  if (hasTfNode) return t.skip('@tensorflow/tfjs-node is installed here, so the helper would start');
  await stopFastHelper();
  const weights = randomFastWeights();
  const net = buildFastStyleNet(weights);
  const x = tf.randomUniform([1, 32, 16, 3], 0, 255, 'float32', 7) as Tensor4D;
  const r = await runFastSplit({ net, weights, key: 'broken', parts: 2, backend: 'tensorflow' }, x);
  assert.equal(r.bands, 1);
  const whole = runFastStyle(net, x);
  assert.equal(maxDiff(r.output, whole), 0);
  tf.dispose([x, r.output, whole]);
  net.dispose();
  await stopFastHelper();
});

test('preempting a two-band fast job ends the job worker and its band helper', {
  skip: skipUnlessShared || (process.platform !== 'linux' && 'needs /proc/self/task'),
}, async () => {
  await stopFastHelper();
  const baseline = threads();
  const w = 320;
  const h = 240;
  const controller = new AbortController();
  let abortedAt = 0;
  let peak = 0;
  const job = stylize(
    { data: Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 31) % 256), width: w, height: h },
    { method: 'fast', style: 'udnie', modelsDir: sharedPath('models'), backend: 'wasm', fastParts: 2 },
    {
      signal: controller.signal,
      onProgress: (e: JobEvent) => {
        peak = Math.max(peak, threads());
        // After the first layer both bands are running (the first norm needed the helper's statistics).
        if (e.kind === 'layer' && e.index >= 2 && !abortedAt) {
          abortedAt = performance.now();
          controller.abort();
        }
      },
    },
  );
  await assert.rejects(job, { name: 'AbortError' });
  console.log(`# cancel latency ${(performance.now() - abortedAt).toFixed(1)} ms`);
  assert.ok(abortedAt > 0, 'the job reached its layers');
  assert.ok(peak >= baseline + 2, `a job worker and a band helper were running (threads ${baseline} → ${peak})`);
  // Both threads go: poll (termination is asynchronous), bounded so a leak fails instead of hanging.
  const deadline = Date.now() + 10_000;
  while (threads() > baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(threads(), baseline, 'the job worker and its band helper are gone');
});
