import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { identifyDescriptor, verifyDescriptor } from '../../src/recognition/verification.ts';
import { FaceDb } from '../../src/store/face-db.ts';
import { DB_SCHEMA_VERSION, type StoredEncoding } from '../../src/store/schema.ts';
import { FacegateError } from '../../src/util/errors.ts';

let dir = '';
let file = '';
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facegate-db-'));
  file = path.join(dir, 'faces.json');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const enc = (vector: number[], encoder = 'dlib-resnet128'): StoredEncoding => ({
  vector,
  encoder,
  createdAt: new Date().toISOString(),
  quality: { score: 0.9, faceSize: 100 },
  source: 'test',
});
const person = (id: string, badges: string[] = []) => ({ id, name: id.toUpperCase(), badges, enabled: true });

test('creates the file, stores identities with encodings, and reads them back', async () => {
  const db = await FaceDb.open(file);
  await db.upsert(person('ann', ['1001']));
  await db.addEncodings('ann', [enc([0, 0, 1]), enc([0, 1, 0])]);
  const again = await FaceDb.open(file);
  assert.equal(again.get('ann')?.encodings.length, 2);
  assert.equal(again.findByBadge('1001')?.id, 'ann');
  assert.equal(again.get('ann')?.version, 2);
});

test('a badge belongs to one identity only', async () => {
  const db = await FaceDb.open(file);
  await db.upsert(person('ann', ['1001']));
  await assert.rejects(db.upsert(person('bob', ['1001'])), /already belongs to identity "ann"/);
});

test('remove deletes the identity and its encodings and leaves a data-free tombstone', async () => {
  const db = await FaceDb.open(file);
  await db.upsert(person('ann'));
  await db.addEncodings('ann', [enc([1, 2, 3])]);
  assert.equal(await db.remove('ann'), true);
  const text = await readFile(file, 'utf8');
  assert.ok(!text.includes('"vector"'), 'no vector left in the file');
  assert.deepEqual(
    (await FaceDb.open(file)).tombstones().map((t) => t.id),
    ['ann'],
  );
  assert.equal(await db.remove('ann'), false);
});

test('a write interrupted between the temp file and the rename leaves the old file intact', async () => {
  const db = await FaceDb.open(file);
  await db.upsert(person('ann'));
  const before = await readFile(file, 'utf8');
  const crashing = await FaceDb.open(file, {
    rename: async () => {
      throw new Error('simulated power cut before rename');
    },
  });
  await assert.rejects(crashing.upsert(person('bob')), /power cut/);
  assert.equal(await readFile(file, 'utf8'), before);
  assert.deepEqual(
    (await FaceDb.open(file)).list().map((i) => i.id),
    ['ann'],
  );
  // The stale temp file from the interrupted write does not disturb the next good write.
  assert.ok((await readdir(dir)).includes('.faces.json.tmp'));
  await db.upsert(person('carl'));
  assert.deepEqual(
    (await FaceDb.open(file)).list().map((i) => i.id),
    ['ann', 'carl'],
  );
});

test('serialised writes: many concurrent updates all land', async () => {
  const db = await FaceDb.open(file);
  await Promise.all(Array.from({ length: 20 }, (_, i) => db.upsert(person(`p${i}`))));
  assert.equal((await FaceDb.open(file)).list().length, 20);
});

test('a corrupt file is refused with its name and never overwritten', async () => {
  await writeFile(file, '{"schemaVersion": 1, "identities": [');
  await assert.rejects(FaceDb.open(file), (err: unknown) => {
    assert.ok(err instanceof FacegateError);
    assert.match(err.message, /faces\.json: not valid JSON/);
    return true;
  });
  assert.equal(await readFile(file, 'utf8'), '{"schemaVersion": 1, "identities": [');
});

test('a file that parses but does not validate is refused, naming the problem', async () => {
  const bad = JSON.stringify({ schemaVersion: 1, identities: [{ id: 'x', name: 'x', badges: 'nope' }] });
  await writeFile(file, bad);
  await assert.rejects(FaceDb.open(file), /invalid \(identities\.0\.badges/);
  assert.equal(await readFile(file, 'utf8'), bad);
});

test('encodings from another encoder are never compared: verify and identify say re-enroll', async () => {
  const db = await FaceDb.open(file);
  await db.upsert(person('ann'));
  await db.addEncodings('ann', [enc([0, 0, 1], 'facenet-nn4small2')]);
  const probe = new Float32Array([0, 0, 1]);
  assert.throws(() => verifyDescriptor(db, probe, 'ann', 'dlib-resnet128', 0.6), /re-enroll/);
  assert.throws(() => identifyDescriptor(db, probe, 'dlib-resnet128', 0.6), /re-enroll/);
  await assert.rejects(db.addEncodings('ann', [enc([1, 0, 0])]), /never mixed/);
});

test('verify: min distance over encodings, strict threshold, disabled and expired identities refused with a reason', async () => {
  const db = await FaceDb.open(file);
  await db.upsert(person('ann'));
  await db.addEncodings('ann', [enc([1, 0, 0]), enc([0, 0, 0.5])]);
  const probe = new Float32Array([0, 0, 0]);
  const r = verifyDescriptor(db, probe, 'ann', 'dlib-resnet128', 0.6);
  assert.equal(r.distance, 0.5);
  assert.equal(r.match, true);
  assert.equal(
    verifyDescriptor(db, probe, 'ann', 'dlib-resnet128', 0.5).match,
    false,
    'distance == threshold is no match',
  );
  assert.equal(verifyDescriptor(db, probe, 'nobody', 'dlib-resnet128', 0.6).reason, 'unknown-identity');
  await db.upsert({ ...person('ann'), enabled: false });
  assert.equal(verifyDescriptor(db, probe, 'ann', 'dlib-resnet128', 0.6).reason, 'disabled');
  await db.upsert({ ...person('ann'), validUntil: '2000-01-01T00:00:00Z' });
  assert.equal(verifyDescriptor(db, probe, 'ann', 'dlib-resnet128', 0.6).reason, 'expired');
  await db.upsert({ ...person('ann'), validFrom: '2999-01-01T00:00:00Z' });
  assert.equal(verifyDescriptor(db, probe, 'ann', 'dlib-resnet128', 0.6).reason, 'not-yet-valid');
});

test('a distance equal to the threshold is refused by verify and by identify (who_is_it) alike', async () => {
  const db = await FaceDb.open(file);
  await db.upsert(person('ann'));
  await db.addEncodings('ann', [enc([0, 0, 0])]);
  await db.upsert(person('bob'));
  await db.addEncodings('bob', [enc([3, 3, 3])]);
  // 0.375² + 0.5² = 0.390625 = 0.625², exact in binary: the distance is exactly 0.625, through both code paths
  // (verify's euclidean and the index's unrolled sums).
  const probe = new Float32Array([0.375, 0.5, 0]);
  const tie = 0.625;
  const v = verifyDescriptor(db, probe, 'ann', 'dlib-resnet128', tie);
  assert.deepEqual([v.distance, v.match, v.reason], [tie, false, 'no-match']);
  const i = identifyDescriptor(db, probe, 'dlib-resnet128', tie);
  assert.deepEqual([i.distance, i.identity], [tie, null], 'not in the database at the threshold');
  // A hair above the distance, both accept.
  const above = tie + 1e-9;
  assert.equal(verifyDescriptor(db, probe, 'ann', 'dlib-resnet128', above).match, true);
  assert.equal(identifyDescriptor(db, probe, 'dlib-resnet128', above).identity, 'ann');
});

test('identify: nearest identity under the threshold, else not in the database; disabled people are skipped', async () => {
  const db = await FaceDb.open(file);
  await db.upsert(person('ann'));
  await db.addEncodings('ann', [enc([0, 0, 0])]);
  await db.upsert(person('bob'));
  await db.addEncodings('bob', [enc([1, 1, 1])]);
  assert.equal(identifyDescriptor(db, new Float32Array([0.1, 0, 0]), 'dlib-resnet128', 0.6).identity, 'ann');
  const far = identifyDescriptor(db, new Float32Array([5, 5, 5]), 'dlib-resnet128', 0.6);
  assert.equal(far.identity, null);
  assert.ok(far.distance !== null && far.distance > 0.6);
  await db.upsert({ ...person('ann'), enabled: false });
  assert.equal(identifyDescriptor(db, new Float32Array([0.1, 0, 0]), 'dlib-resnet128', 0.6).identity, null);
});

test('a version-1 file opens in deletion epoch 0, opening leaves it as it was, the next change saves the current version', async () => {
  const v1 = {
    schemaVersion: 1,
    identities: [
      { id: 'ann', name: 'ANN', badges: ['1001'], enabled: true, version: 3, updatedAt: 'then', encodings: [] },
    ],
    tombstones: [{ id: 'bob', version: 5, deletedAt: 'then' }],
  };
  await writeFile(file, JSON.stringify(v1));
  const db = await FaceDb.open(file);
  assert.equal(db.get('ann')?.epoch, 0);
  assert.deepEqual(db.tombstones(), [{ id: 'bob', epoch: 0, version: 5, deletedAt: 'then' }]);
  assert.equal(await readFile(file, 'utf8'), JSON.stringify(v1));
  await db.upsert(person('carl'));
  const saved = JSON.parse(await readFile(file, 'utf8'));
  assert.equal(saved.schemaVersion, DB_SCHEMA_VERSION);
  assert.deepEqual(
    saved.identities.map((i: { id: string; epoch: number }) => `${i.id}@${i.epoch}`),
    ['ann@0', 'carl@0'],
  );
  assert.equal(saved.tombstones[0].epoch, 0);
});

test('a file from a newer facegate is refused, not downgraded', async () => {
  await writeFile(file, JSON.stringify({ schemaVersion: 99, identities: [] }));
  await assert.rejects(FaceDb.open(file), /schema version 99 is newer/);
});

test('enrolling a deleted id again starts a new epoch with nothing of the old identity', async () => {
  const db = await FaceDb.open(file);
  await db.upsert(person('ann', ['1001']));
  await db.addEncodings('ann', [enc([1, 2, 3])]);
  await db.remove('ann');
  assert.deepEqual(
    db.tombstones().map((t) => [t.id, t.epoch, t.version]),
    [['ann', 0, 3]],
  );
  const again = await db.upsert(person('ann', ['1002']));
  assert.equal(again.epoch, 1);
  assert.equal(again.version, 4);
  assert.deepEqual(again.encodings, []);
  assert.deepEqual(db.tombstones(), []);
  await db.upsert({ ...person('ann', ['1002']), name: 'Ann' });
  assert.equal(db.get('ann')?.epoch, 1, 'an edit stays in its epoch');
});
