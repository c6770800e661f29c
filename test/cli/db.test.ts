/** `facegate db ...` as a user runs it (spawned), on a database written through FaceDb. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FaceDb } from '../../src/store/face-db.ts';
import { facegate as facegateCli } from '../helpers/cli.ts';

const facegate = (...args: string[]) => facegateCli(args);

let dir = '';
let db = '';

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facegate-clidb-'));
  db = path.join(dir, 'faces.json');
  const faces = await FaceDb.open(db);
  for (const id of ['ann', 'bob']) {
    await faces.upsert({ id, name: id.toUpperCase(), badges: [`${id}-badge-0001`], enabled: true });
    await faces.addEncodings(id, [
      {
        vector: [0.1, 0.2, 0.3],
        encoder: 'dlib-resnet128',
        createdAt: new Date().toISOString(),
        quality: null,
        source: 'test',
      },
    ]);
  }
});
after(() => rm(dir, { recursive: true, force: true }));

test('list and show print identities without vectors', async () => {
  const list = await facegate('db', 'list', '--db', db, '--json');
  assert.equal(list.code, 0);
  assert.deepEqual(
    JSON.parse(list.stdout).identities.map((i: { id: string }) => i.id),
    ['ann', 'bob'],
  );
  const show = await facegate('db', 'show', 'ann', '--db', db, '--json');
  assert.equal(JSON.parse(show.stdout).encodings, 1);
  assert.ok(!show.stdout.includes('0.1'), 'no vector values');
  assert.equal((await facegate('db', 'show', 'nobody', '--db', db)).code, 1);
});

test('export then import into a fresh database round-trips; a bad import changes nothing', async () => {
  const exported = path.join(dir, 'export.json');
  assert.equal((await facegate('db', 'export', exported, '--db', db)).code, 0);
  const fresh = path.join(dir, 'fresh.json');
  assert.equal((await facegate('db', 'import', exported, '--db', fresh)).code, 0);
  const again = await FaceDb.open(fresh);
  assert.deepEqual(
    again.list().map((i) => i.id),
    ['ann', 'bob'],
  );
  assert.deepEqual(again.get('ann')?.encodings[0]?.vector, [0.1, 0.2, 0.3]);

  const bad = path.join(dir, 'bad.json');
  await writeFile(bad, JSON.stringify({ schemaVersion: 1, identities: [{ id: 'x' }] }));
  const before = await readFile(fresh, 'utf8');
  const r = await facegate('db', 'import', bad, '--db', fresh);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not a facegate database export/);
  assert.equal(await readFile(fresh, 'utf8'), before);
});

test('remove deletes the identity; removing it again is "not found"', async () => {
  assert.equal((await facegate('db', 'remove', 'bob', '--db', db)).code, 0);
  assert.equal((await facegate('db', 'remove', 'bob', '--db', db)).code, 1);
  assert.ok(!(await readFile(db, 'utf8')).includes('bob-badge'));
});

test('a corrupt database stops the command with the file named, exit 2, file untouched', async () => {
  const corrupt = path.join(dir, 'corrupt.json');
  await writeFile(corrupt, 'not json');
  const r = await facegate('db', 'list', '--db', corrupt);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /corrupt\.json: not valid JSON/);
  assert.equal(await readFile(corrupt, 'utf8'), 'not json');
});
