/**
 * The face-api pipeline (tiny + 68 landmarks + dlib-resnet128, the pre-issue-17 default, still selectable) on real
 * photos from ../shared: the exercise's happy-house set through the CLI (the exact commands a user types, pinned to
 * `--encoder dlib-resnet128 --detector tiny`) and the bbt set (8 people x 5 crops) in-process for the
 * genuine/impostor check. The new default is covered by test/cli/recognition-default.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkEnrollmentSample, DEFAULT_QUALITY_GATE } from '../../src/recognition/enrollment.ts';
import { FacePipeline } from '../../src/recognition/pipeline.ts';
import { identifyDescriptor, verifyDescriptor } from '../../src/recognition/verification.ts';
import { loadImage } from '../../src/runtime/image.ts';
import { FaceDb } from '../../src/store/face-db.ts';
import { facegate } from '../helpers/cli.ts';
import { HAPPY_HOUSE_PEOPLE, sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const happy = (name: string) => sharedPath('data', 'faces', 'happy-house', name);
/** This file tests the face-api pipeline: every CLI call names it. */
const OLD = ['--encoder', 'dlib-resnet128', '--detector', 'tiny'];
const BBT_PEOPLE = ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart'];

describe('happy-house through the CLI (the exercise)', { skip: skipUnlessShared }, () => {
  let dir = '';
  let db = '';
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'facegate-happy-'));
    db = path.join(dir, 'faces.json');
    for (const person of HAPPY_HOUSE_PEOPLE) {
      const file = happy(person === 'danielle' ? 'danielle.png' : `${person}.jpg`);
      const r = await facegate(['enroll', person, file, '--db', db, '--json', ...OLD]);
      assert.equal(r.code, 0, `enroll ${person}: ${r.stderr}`);
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('verify camera_0 as younes: match, exit 0', async () => {
    const r = await facegate(['verify', happy('camera_0.jpg'), 'younes', '--db', db, '--json', ...OLD]);
    const out = JSON.parse(r.stdout);
    console.log(`verify camera_0 younes: distance ${out.distance.toFixed(3)} (threshold ${out.threshold})`);
    assert.equal(r.code, 0);
    assert.deepEqual(Object.keys(out).slice(0, 5), ['match', 'identity', 'distance', 'threshold', 'encoder']);
    assert.equal(out.match, true);
    assert.equal(out.identity, 'younes');
    assert.ok(out.distance < out.threshold);
  });

  test('verify camera_2 as kian: no match, exit 1', async () => {
    const r = await facegate(['verify', happy('camera_2.jpg'), 'kian', '--db', db, '--json', ...OLD]);
    const out = JSON.parse(r.stdout);
    console.log(`verify camera_2 kian: distance ${out.distance.toFixed(3)} (threshold ${out.threshold})`);
    assert.equal(r.code, 1);
    assert.equal(out.match, false);
    assert.ok(out.distance >= out.threshold);
  });

  test('identify camera_0: younes, exit 0', async () => {
    const r = await facegate(['identify', happy('camera_0.jpg'), '--db', db, '--json', ...OLD]);
    const out = JSON.parse(r.stdout);
    assert.equal(r.code, 0);
    assert.equal(out.identity, 'younes');
    assert.equal(out.encoder, 'dlib-resnet128');
  });

  test('db list shows the 12 identities and never a vector', async () => {
    const r = await facegate(['db', 'list', '--db', db, '--json']);
    assert.equal(r.code, 0);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.identities.map((i: { id: string }) => i.id).sort(), [...HAPPY_HOUSE_PEOPLE].sort());
    assert.ok(!r.stdout.includes('vector'));
  });
});

describe('bbt: 8 people, enroll 4 photos each, probe with the 5th', { skip: skipUnlessShared }, () => {
  let pipeline: FacePipeline;
  let dir = '';
  let db: FaceDb;
  const probes = new Map<string, Float32Array>();

  before(async () => {
    pipeline = await FacePipeline.create();
    dir = await mkdtemp(path.join(tmpdir(), 'facegate-bbt-'));
    db = await FaceDb.open(path.join(dir, 'faces.json'));
    for (const person of BBT_PEOPLE) {
      await db.upsert({ id: person, name: person, badges: [], enabled: true });
      const encodings = [];
      for (let n = 1; n <= 4; n++) {
        const result = await pipeline.analyse(
          await loadImage(sharedPath('data', 'faces', 'bbt', person, `${person}${n}.png`)),
        );
        const sample = checkEnrollmentSample(result, DEFAULT_QUALITY_GATE, `test:${person}${n}`, pipeline.encoder.id);
        assert.ok(sample.encoding, `${person}${n}.png rejected: ${sample.reason}`);
        encodings.push(sample.encoding);
      }
      await db.addEncodings(person, encodings);
      const probe = await pipeline.analyse(
        await loadImage(sharedPath('data', 'faces', 'bbt', person, `${person}5.png`)),
      );
      assert.ok(probe.faces[0], `no face in ${person}5.png`);
      probes.set(person, probe.faces[0].descriptor);
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('every genuine probe is accepted and no impostor is, at the default threshold', () => {
    const threshold = pipeline.encoder.defaultThreshold;
    const lines: string[] = [];
    let genuineAccepted = 0;
    let impostorAccepted = 0;
    for (const probePerson of BBT_PEOPLE) {
      const row: string[] = [];
      for (const claimed of BBT_PEOPLE) {
        const r = verifyDescriptor(db, probes.get(probePerson)!, claimed, pipeline.encoder.id, threshold);
        row.push(r.distance!.toFixed(2));
        if (claimed === probePerson && r.match) genuineAccepted++;
        if (claimed !== probePerson && r.match) impostorAccepted++;
      }
      lines.push(`${probePerson.padEnd(11)} ${row.join(' ')}`);
    }
    console.log(
      `distances (rows: probe, columns: claimed ${BBT_PEOPLE.join(' ')}), threshold ${threshold}\n${lines.join('\n')}`,
    );
    assert.equal(genuineAccepted, BBT_PEOPLE.length, 'genuine probes accepted');
    assert.equal(impostorAccepted, 0, 'impostor probes accepted');
  });

  test('1:N identification names the right person for every probe', () => {
    for (const person of BBT_PEOPLE) {
      const r = identifyDescriptor(db, probes.get(person)!, pipeline.encoder.id, pipeline.encoder.defaultThreshold);
      assert.equal(r.identity, person);
      assert.ok(r.runnerUp && r.runnerUp.identity !== person && r.runnerUp.distance > r.distance!);
    }
  });
});
