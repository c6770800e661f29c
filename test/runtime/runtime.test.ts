import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { verifyFiles, writeManifest } from '../../src/models/manifest.ts';
import recorded from '../../src/recognition/face-api-models.json' with { type: 'json' };
import { faceApiModelDir } from '../../src/recognition/face-api-models.ts';
import { initBackend, parseBackend, tf } from '../../src/runtime/tf.ts';
import { repoRoot } from '../helpers/shared.ts';

test('the default backend is wasm here (tfjs-node cannot install offline), loaded from node_modules', async () => {
  const backend = await initBackend('auto');
  assert.equal(backend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  // A real op on the chosen backend.
  const sum = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).dataSync());
  assert.deepEqual(Array.from(sum), [4, 6]);
  assert.equal(await initBackend('cpu'), 'wasm', 'the first choice stands for the thread');
});

test('backend names are checked', () => {
  assert.equal(parseBackend('cpu'), 'cpu');
  assert.throws(() => parseBackend('gpu'), /unknown backend "gpu"/);
});

test("face-api's model files match the sha256s recorded in the repo", async () => {
  await verifyFiles(faceApiModelDir(), recorded as Record<string, string>, 'face-api');
});

test('a changed or missing model file is refused with its name', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'facegate-models-'));
  try {
    const file = 'tiny_face_detector_model.bin';
    await copyFile(path.join(faceApiModelDir(), file), path.join(dir, file));
    const manifest = await writeManifest(dir, [file]);
    await verifyFiles(dir, manifest, 'tiny');
    await writeFile(path.join(dir, file), 'tampered');
    await assert.rejects(
      verifyFiles(dir, manifest, 'tiny'),
      /tiny_face_detector_model\.bin differs from its recorded sha256/,
    );
    await rm(path.join(dir, file));
    await assert.rejects(verifyFiles(dir, manifest, 'tiny'), /model file missing: .*tiny_face_detector_model\.bin/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--backend cpu is honoured when asked', async () => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const script =
    "const m = await import('./src/runtime/tf.ts'); console.log(await m.initBackend('cpu'), m.tf.getBackend());";
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    {
      cwd: repoRoot,
    },
  );
  assert.equal(stdout.trim(), 'cpu cpu');
});
