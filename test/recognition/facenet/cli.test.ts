/**
 * End to end through the CLI, as an admin would: `models import facenet`, then `enroll` and `verify` with
 * `--encoder facenet-nn4small2 --no-detect` on the exercise's 96x96 crops. The weights are the 219 real files plus
 * 5 generated ones, so match/no-match means nothing here; the test asserts plumbing: exit codes consistent with
 * the JSON, the encoder and its 0.7 threshold reported, distance 0 for the enrolled image itself, and determinism.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliRun, facegate } from '../../helpers/cli.ts';
import { makeFacenetCsvDir, realFacenetWeightsDir, type TempWeights } from '../../helpers/facenet-weights.ts';
import { sharedPath, skipUnlessShared } from '../../helpers/shared.ts';

const happy = (file: string) => sharedPath('data', 'faces', 'happy-house', file);

interface VerifyJson {
  match: boolean;
  identity: string;
  distance: number;
  threshold: number;
  encoder: string;
}

describe('facegate CLI with --encoder facenet-nn4small2 --no-detect', { skip: skipUnlessShared }, () => {
  let weights: TempWeights;
  let work: string;
  let modelsDir: string;
  let db: string;
  const common = () => ['--encoder', 'facenet-nn4small2', '--no-detect', '--db', db, '--models-dir', modelsDir];

  before(async () => {
    weights = await makeFacenetCsvDir();
    work = await mkdtemp(path.join(os.tmpdir(), 'facegate-facenet-cli-'));
    modelsDir = path.join(work, 'models');
    db = path.join(work, 'faces.json');
  });
  after(async () => {
    await weights?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('enroll and verify before any import fail (exit 2) saying how to import', async () => {
    for (const args of [
      ['enroll', 'younes', happy('younes.jpg')],
      ['verify', happy('camera_0.jpg'), 'younes', '--json'],
    ]) {
      const r = await facegate([...args, ...common()]);
      assert.equal(r.code, 2, r.stderr);
      // With --json the error is JSON on stdout (its exit code unchanged); otherwise one line on stderr.
      const message = args.includes('--json') ? (JSON.parse(r.stdout) as { error: string }).error : r.stderr;
      assert.match(message, /weights not found in .*facenet-nn4small2: run "facegate models import facenet <dir>"/);
    }
  });

  test('models import facenet: a directory missing files is refused naming the first one', async () => {
    const r = await facegate(['models', 'import', 'facenet', realFacenetWeightsDir, '--models-dir', modelsDir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing inception_3c_3x3_conv2_w\.csv/);
  });

  test('models import facenet converts the CSV directory; models list reports it ready', async () => {
    const r = await facegate(['models', 'import', 'facenet', weights.dir, '--models-dir', modelsDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /imported 224 FaceNet tensors/);
    const list = await facegate(['models', 'list', '--json', '--models-dir', modelsDir]);
    assert.equal(list.code, 0, list.stderr);
    const rows = (JSON.parse(list.stdout) as { models: Array<{ kind: string; status: string }> }).models;
    assert.equal(rows.find((m) => m.kind === 'facenet')?.status, 'ready');
  });

  test('enroll younes and kian from their exercise crops', async () => {
    for (const [id, file] of [
      ['younes', 'younes.jpg'],
      ['kian', 'kian.jpg'],
    ] as const) {
      const r = await facegate(['enroll', id, happy(file), '--name', id, ...common()]);
      assert.equal(r.code, 0, r.stderr);
    }
  });

  test('verify the enrolled image itself: distance 0, match, exit 0', async () => {
    const r = await facegate(['verify', happy('younes.jpg'), 'younes', '--json', ...common()]);
    assert.equal(r.code, 0, r.stderr);
    const { match, identity, distance, threshold, encoder } = JSON.parse(r.stdout) as VerifyJson;
    assert.deepEqual(
      { match, identity, distance, threshold, encoder },
      { match: true, identity: 'younes', distance: 0, threshold: 0.7, encoder: 'facenet-nn4small2' },
    );
  });

  test('verify camera_0 as younes: a finite distance, exit code agrees with match, same answer twice', async () => {
    const runs = [];
    for (let i = 0; i < 2; i++)
      runs.push(await facegate(['verify', happy('camera_0.jpg'), 'younes', '--json', ...common()]));
    const [a, b] = runs.map((r) => ({ r, v: JSON.parse(r.stdout) as VerifyJson }));
    for (const { r, v } of [a, b] as Array<{ r: CliRun; v: VerifyJson }>) {
      assert.equal(v.encoder, 'facenet-nn4small2');
      assert.equal(v.threshold, 0.7);
      assert.equal(v.identity, 'younes');
      assert.ok(Number.isFinite(v.distance) && v.distance > 0 && v.distance <= 2, `distance ${v.distance}`);
      assert.equal(v.match, v.distance < v.threshold);
      assert.equal(r.code, v.match ? 0 : 1);
    }
    assert.equal(a?.v.distance, b?.v.distance);
  });

  test('verify against kian gives a different distance than against younes', async () => {
    const y = JSON.parse(
      (await facegate(['verify', happy('camera_2.jpg'), 'younes', '--json', ...common()])).stdout,
    ) as VerifyJson;
    const k = JSON.parse(
      (await facegate(['verify', happy('camera_2.jpg'), 'kian', '--json', ...common()])).stdout,
    ) as VerifyJson;
    assert.notEqual(y.distance, k.distance);
  });
});
