/**
 * The default pipeline (YuNet + reid-0095, cosine) through the CLI, as a user types it, on the shared bbt photos
 * with the models imported into a temp `--models-dir` (no network): enroll, verify and identify (same person
 * matches, another does not, the metric is named); a database of dlib encodings keeps matching with dlib and says
 * once how to re-enroll; `enroll --replace` moves a person to reid-0095; `facegate calibrate` on a small labelled
 * folder; `calibrate pad` checks its folders.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { equalErrorRate } from '../../src/recognition/calibrate.ts';
import { errorLines, facegate } from '../helpers/cli.ts';
import { importGraphModels } from '../helpers/graph-models.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const bbt = (person: string, n: number) => sharedPath('data', 'faces', 'bbt', person, `${person}${n}.png`);

describe('the default pipeline through the CLI', { skip: skipUnlessShared }, () => {
  let dir = '';
  let models = '';
  let db = '';
  const run = (args: string[]) => facegate([...args, '--db', db, '--models-dir', models]);
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'facegate-default-'));
    models = path.join(dir, 'models');
    db = path.join(dir, 'faces.json');
    await importGraphModels(models);
    for (const person of ['penny', 'raj']) {
      const r = await run(['enroll', person, bbt(person, 1), bbt(person, 2), '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.encoder, 'reid-0095');
      assert.equal(out.metric, 'cosine');
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('verify: the same person matches (exit 0) and the human line names the metric', async () => {
    const r = await run(['verify', bbt('penny', 4), 'penny']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^match: it's penny \(cosine distance 1-cos 0\.\d{3} < 0\.6, reid-0095\)/);
  });

  test('verify: another person does not match (exit 1), distance in cosine terms', async () => {
    const r = await run(['verify', bbt('raj', 4), 'penny', '--json']);
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.match, false);
    assert.equal(out.metric, 'cosine');
    assert.equal(out.threshold, 0.6);
    assert.ok(out.distance >= 0.6 && out.distance <= 2, `cosine distance ${out.distance}`);
  });

  test('identify finds raj, and the strict threshold is a flag away', async () => {
    const r = await run(['identify', bbt('raj', 5), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual([out.identity, out.encoder, out.metric], ['raj', 'reid-0095', 'cosine']);
    const strict = JSON.parse((await run(['identify', bbt('raj', 5), '--json', '--threshold', '0.55'])).stdout);
    assert.equal(strict.threshold, 0.55);
    assert.equal(strict.distance, out.distance);
  });

  test('a dlib database keeps matching with dlib, warns once, and enroll --replace moves a person', async () => {
    const oldDb = path.join(dir, 'old.json');
    const old = (args: string[]) => facegate([...args, '--db', oldDb, '--models-dir', models]);
    const pinned = ['--encoder', 'dlib-resnet128', '--detector', 'tiny'];
    for (const person of ['amy', 'howard']) {
      const r = await old(['enroll', person, bbt(person, 1), bbt(person, 2), ...pinned]);
      assert.equal(r.code, 0, r.stderr);
    }
    const v = await old(['verify', bbt('amy', 3), 'amy', '--json']);
    assert.equal(v.code, 0, v.stderr);
    const out = JSON.parse(v.stdout);
    assert.deepEqual([out.encoder, out.metric, out.threshold], ['dlib-resnet128', 'euclidean', 0.6]);
    const warnings = v.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    assert.equal(warnings.length, 1, v.stderr);
    assert.match(warnings[0]!, /enrolled with dlib-resnet128 \(2 of 2 identities\).*reid-0095.*enroll --replace/);
    assert.deepEqual(errorLines(v.stderr), []);

    const replaced = await old(['enroll', 'amy', bbt('amy', 1), '--replace', '--json']);
    assert.equal(replaced.code, 0, replaced.stderr);
    const rep = JSON.parse(replaced.stdout);
    assert.deepEqual([rep.encoder, rep.encodings, rep.replaced], ['reid-0095', 1, 2]);
    const list = JSON.parse((await old(['db', 'list', '--json'])).stdout);
    const encoders = Object.fromEntries(
      list.identities.map((i: { id: string; encoders: string[] }) => [i.id, i.encoders]),
    );
    assert.deepEqual(encoders, { amy: ['reid-0095'], howard: ['dlib-resnet128'] });
  });

  test('calibrate: pairs from a folder per person, EER computed from those pairs', async () => {
    const labelled = path.join(dir, 'labelled');
    const people = { leonard: [1, 2, 3], sheldon: [1, 2], stuart: [1, 2] };
    for (const [person, shots] of Object.entries(people)) {
      await mkdir(path.join(labelled, person), { recursive: true });
      for (const n of shots) await symlink(bbt(person, n), path.join(labelled, person, `${n}.png`));
    }
    const r = await facegate(['calibrate', labelled, '--models-dir', models, '--json', '--target-far', '0.05']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual([out.encoder, out.metric, out.people, out.photos, out.encoded], ['reid-0095', 'cosine', 3, 7, 7]);
    // 7 photos → 21 pairs: 3 + 1 + 1 genuine, the rest impostor.
    assert.equal(out.distances.genuine.length, 5);
    assert.equal(out.distances.impostor.length, 16);
    assert.equal(out.genuine.count, 5);
    const eer = equalErrorRate(out.distances.genuine, out.distances.impostor);
    assert.equal(out.eer.eer, eer.eer);
    assert.equal(out.eer.threshold, eer.threshold);
    assert.equal(out.atTargetFar.targetFar, 0.05);
    assert.ok(out.atTargetFar.far <= 0.05);
    const human = await facegate(['calibrate', labelled, '--models-dir', models]);
    assert.match(human.stdout, /cosine distance 1-cos: 7 of 7 photos encoded, 3 people/);
    assert.match(human.stdout, /^EER /m);
  });

  test('calibrate pad needs two folders that exist; one folder of one person is a clear error', async () => {
    const usage = await facegate(['calibrate', 'pad', 'a']);
    assert.equal(usage.code, 2);
    assert.deepEqual(errorLines(usage.stderr), [
      'facegate: usage: facegate calibrate pad <bona-fide dir> <attack dir>',
    ]);
    const pad = await facegate(['calibrate', 'pad', path.join(dir, 'no-such-bona'), path.join(dir, 'no-such-attack')]);
    assert.equal(pad.code, 2);
    assert.deepEqual(errorLines(pad.stderr), [
      `facegate: bona-fide folder ${path.join(dir, 'no-such-bona')} is not a directory`,
    ]);
    const one = path.join(dir, 'one');
    await mkdir(path.join(one, 'penny'), { recursive: true });
    await symlink(bbt('penny', 1), path.join(one, 'penny', '1.png'));
    const r = await facegate(['calibrate', one, '--models-dir', models]);
    assert.equal(r.code, 2);
    assert.match(errorLines(r.stderr)[0] ?? '', /at least two person folders/);
  });
});
