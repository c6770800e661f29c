/** Access rules stored in the face database (schema 3): migration from 2, validated edits, tombstones, the lock. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { addHolidays, membersOf, putGroup, putSchedule, removeRule, setMembers } from '../../src/access/rule-edits.ts';
import { FaceDb } from '../../src/store/face-db.ts';
import { DB_SCHEMA_VERSION } from '../../src/store/schema.ts';

let dir = '';
let file = '';
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facegate-rules-'));
  file = path.join(dir, 'faces.json');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const person = (id: string) => ({ id, name: id.toUpperCase(), badges: [], enabled: true });

test('a version-2 file opens with an empty rule set and is saved as version 3 on the next change only', async () => {
  const v2 = {
    schemaVersion: 2,
    identities: [
      { id: 'ann', name: 'ANN', badges: [], enabled: true, epoch: 0, version: 1, updatedAt: 't', encodings: [] },
    ],
    tombstones: [],
  };
  await writeFile(file, JSON.stringify(v2));
  const db = await FaceDb.open(file);
  assert.deepEqual(db.rules().schedules, []);
  assert.equal(db.get('ann')?.groups, undefined);
  assert.equal(await readFile(file, 'utf8'), JSON.stringify(v2));
  await putSchedule(db, { name: 'office', windows: ['mon-fri 07:00-19:00'] });
  const saved = JSON.parse(await readFile(file, 'utf8'));
  assert.equal(DB_SCHEMA_VERSION, 3);
  assert.equal(saved.schemaVersion, 3);
  assert.equal(saved.rules.schedules[0].name, 'office');
  assert.equal(saved.identities[0].id, 'ann');
});

test('schedules, holidays and groups are stored versioned and seen by another process', async () => {
  const db = await FaceDb.open(file);
  await addHolidays(db, 'de', ['2025-12-25', '2025-12-26']);
  await putSchedule(db, { name: 'office', windows: ['mon-fri 07:00-19:00'], holidays: { calendars: ['de'] } });
  const second = await putSchedule(db, { name: 'office', windows: ['mon-fri 08:00-18:00'] });
  assert.equal(second.version, 2);
  await putGroup(db, { name: 'staff', schedules: ['office'] });
  await db.upsert(person('ann'));
  assert.deepEqual(await setMembers(db, 'staff', ['ann'], []), ['ann']);
  const other = await FaceDb.open(file);
  assert.deepEqual(other.get('ann')?.groups, ['staff']);
  assert.deepEqual(other.rules().schedules[0]?.windows, ['mon-fri 08:00-18:00']);
  assert.deepEqual(other.rules().holidayCalendars[0]?.dates, ['2025-12-25', '2025-12-26']);
  assert.deepEqual(membersOf(other.list(), 'staff'), ['ann']);
});

test('bad input is one clear error and nothing is stored', async () => {
  const db = await FaceDb.open(file);
  await putSchedule(db, { name: 'office', windows: ['mon-fri 07:00-19:00'] });
  const before = await readFile(file, 'utf8');
  await assert.rejects(putSchedule(db, { name: 'bad', windows: ['mon 25:00-26:00'] }), /schedule "bad": windows/);
  await assert.rejects(
    putSchedule(db, { name: 'overlap', windows: ['mon 08:00-12:00', 'mon 11:00-13:00'] }),
    /overlap/,
  );
  await assert.rejects(putSchedule(db, { name: 'empty', windows: [] }), /schedule "empty"/);
  await assert.rejects(putGroup(db, { name: 'g', schedules: ['nope'] }), /unknown schedule "nope"; nothing stored/);
  await assert.rejects(
    putSchedule(db, { name: 's', windows: ['mon 08:00-09:00'], holidays: { calendars: ['nocal'] } }),
    /unknown holiday calendar "nocal"/,
  );
  await assert.rejects(addHolidays(db, 'de', ['2025-02-30']), /bad date/);
  await assert.rejects(setMembers(db, 'nogroup', ['ann'], []), /unknown group "nogroup"/);
  assert.equal(await readFile(file, 'utf8'), before);
});

test('removal leaves a tombstone; a schedule a group names cannot be removed; re-adding outversions the tombstone', async () => {
  const db = await FaceDb.open(file);
  await putSchedule(db, { name: 'office', windows: ['mon-fri 07:00-19:00'] });
  await putGroup(db, { name: 'staff', schedules: ['office'] });
  await assert.rejects(removeRule(db, 'schedule', 'office'), /group "staff" names unknown schedule "office"/);
  assert.equal(await removeRule(db, 'group', 'staff'), true);
  assert.deepEqual(
    db.rules().tombstones.map((t) => `${t.kind}:${t.name}@${t.version}`),
    ['group:staff@2'],
  );
  const again = await putGroup(db, { name: 'staff', schedules: ['office'] });
  assert.equal(again.version, 3);
  assert.deepEqual(db.rules().tombstones, []);
  await assert.rejects(removeRule(db, 'group', 'ghost'), /no group "ghost"/);
});

test('a rules change made by another writer is announced to the following database', async (t) => {
  const daemon = await FaceDb.open(file, { watch: true, pollMs: 50 });
  t.after(() => daemon.close());
  let told = 0;
  daemon.onRulesChange(() => told++);
  const cli = await FaceDb.open(file);
  await putSchedule(cli, { name: 'office', windows: ['mon-fri 07:00-19:00'] });
  for (let i = 0; i < 100 && told === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(told, 1);
  assert.equal(daemon.rules().schedules[0]?.name, 'office');
});
