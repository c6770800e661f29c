import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { VGG19_LAYERS } from '../../src/nst/gatys/vgg.ts';
import { syntheticVggConvs } from '../../src/nst/gatys/vgg-synthetic.ts';
import { type JobEvent, stylize } from '../../src/nst/job.ts';
import { type MatIn, toColumnMajor, writeMat5 } from '../helpers/mat-writer.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const image = (w: number, h: number) => ({
  data: Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 13) % 256),
  width: w,
  height: h,
});

test('a fast job runs in a worker, reports progress and lowers its thread priority', {
  skip: skipUnlessShared,
}, async () => {
  const events: JobEvent[] = [];
  const out = await stylize(
    image(24, 16),
    { method: 'fast', style: 'wave', modelsDir: sharedPath('models'), backend: 'wasm', priority: 10 },
    { onProgress: (e) => events.push(e) },
  );
  assert.deepEqual([out.width, out.height, out.data.length], [24, 16, 24 * 16 * 3]);
  assert.ok(events.some((e) => e.kind === 'layer'));
  const prio = events.find((e) => e.kind === 'priority');
  assert.ok(prio && prio.kind === 'priority');
  if (process.platform === 'linux') assert.equal(prio.applied, true, prio.detail);
});

test('aborting a Gatys job mid-run rejects with AbortError', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-job-'));
  try {
    const convs = new Map(syntheticVggConvs(16, 2).map((c) => [c.name, c]));
    const layers: MatIn[] = VGG19_LAYERS.map((name) => {
      const c = convs.get(name);
      const weights: MatIn = c
        ? {
            cell: [
              { single: toColumnMajor(c.filter, [...c.shape]), dims: [...c.shape] },
              { single: c.bias, dims: [c.bias.length, 1] },
            ],
          }
        : { cell: [], dims: [0, 0] };
      return { struct: { name: { char: name }, weights } };
    });
    const vggFile = path.join(dir, 'vgg.mat');
    await writeFile(vggFile, writeMat5({ layers: { cell: layers } }));
    const controller = new AbortController();
    let abortedAt = 0;
    const job = stylize(
      image(48, 48),
      {
        method: 'gatys',
        styleImage: image(48, 48),
        vggFile,
        modelsDir: dir,
        size: { width: 48, height: 48 },
        iterations: 100_000,
        reportEvery: 1,
        backend: 'wasm',
      },
      {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.kind === 'iteration' && e.iteration >= 2 && !abortedAt) {
            abortedAt = performance.now();
            controller.abort();
          }
        },
      },
    );
    await assert.rejects(job, (e: unknown) => e instanceof Error && e.name === 'AbortError');
    assert.ok(abortedAt > 0, 'the job ran iterations before the abort');
    // Latency goes to the log (timing is the benchmark's business, not an assertion).
    console.log(`# cancel latency ${(performance.now() - abortedAt).toFixed(1)} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an already-aborted signal and a bad priority are refused before any work', async () => {
  const c = new AbortController();
  c.abort();
  await assert.rejects(
    stylize(image(8, 8), { method: 'fast', style: 'wave', modelsDir: '/nonexistent' }, { signal: c.signal }),
    { name: 'AbortError' },
  );
  await assert.rejects(
    stylize(image(8, 8), { method: 'fast', style: 'wave', modelsDir: '/nonexistent', priority: 42 }),
    /priority must be/,
  );
});

test('errors inside the worker come back as one-line FacegateErrors', async () => {
  await assert.rejects(
    stylize(image(8, 8), { method: 'fast', style: 'picasso', modelsDir: '/nonexistent', backend: 'wasm' }),
    (e: unknown) => {
      assert.equal((e as Error).name, 'FacegateError');
      assert.match((e as Error).message, /unknown style "picasso"/);
      return true;
    },
  );
});
