/**
 * `facegate schedule | holiday | group | db show | log` as a user runs them (spawned): the command forms,
 * one-line errors that store nothing, "can enter now", and the access log of the admin actions.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FaceDb } from '../../src/store/face-db.ts';
import { errorLines, facegate as facegateCli } from '../helpers/cli.ts';

let dir = '';
let db = '';
let data = '';
const env = { ...process.env, FACEGATE__door__timeZone: 'Europe/Berlin' };
const facegate = (...args: string[]) => facegateCli([...args, '--db', db, '--data-dir', data], { env });

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facegate-cliaccess-'));
  db = path.join(dir, 'faces.json');
  data = path.join(dir, 'data');
  const faces = await FaceDb.open(db);
  for (const id of ['ann', 'cleo']) await faces.upsert({ id, name: id.toUpperCase(), badges: [], enabled: true });
});
after(() => rm(dir, { recursive: true, force: true }));

test('the issue worked example: office hours, holidays, a cleaners group, membership, can-enter-now', async () => {
  let r = await facegate('holiday', 'add', 'de-public', '2025-12-25', '2025-12-26');
  assert.equal(r.code, 0, r.stderr);
  r = await facegate(
    'schedule',
    'add',
    'office',
    '--window',
    'mon-fri 07:00-19:00',
    '--window',
    'sat 09:00-13:00',
    '--holidays',
    'de-public',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await facegate('schedule', 'add', 'evening', '--window', 'mon-fri 19:00-23:00')).code, 0);
  assert.equal((await facegate('group', 'add', 'staff', '--schedule', 'office')).code, 0);
  assert.equal((await facegate('group', 'add', 'cleaners', '--schedule', 'evening')).code, 0);
  r = await facegate('group', 'members', 'cleaners', '--add', 'cleo');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /group cleaners: cleo/);
  const list = JSON.parse((await facegate('schedule', 'list', '--json')).stdout);
  assert.deepEqual(
    list.schedules.map((s: { name: string }) => s.name),
    ['evening', 'office'],
  );
  const groups = JSON.parse((await facegate('group', 'list', '--json')).stdout).groups;
  assert.deepEqual(groups.find((g: { name: string }) => g.name === 'cleaners').members, ['cleo']);
  const show = await facegate('db', 'show', 'cleo');
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /groups: cleaners/);
  assert.match(show.stdout, /can enter now: (yes|no) \(/);
  const ann = JSON.parse((await facegate('db', 'show', 'ann', '--json')).stdout);
  assert.equal(ann.canEnterNow, 'yes (no access group: not limited by schedule)');
});

test('bad input is one line, exit 2, nothing stored', async () => {
  const before = await readFile(db, 'utf8');
  for (const args of [
    ['schedule', 'add', 'bad', '--window', 'mon 25:00-26:00'],
    ['schedule', 'add', 'bad', '--window', 'mon 08:00-12:00', '--window', 'mon 11:00-13:00'],
    ['schedule', 'add', 'bad', '--window', 'mon 09:00-09:00'],
    ['schedule', 'add', 'bad', '--window', 'mon 08:00-09:00', '--holidays', 'nocal'],
    ['group', 'add', 'g', '--schedule', 'nope'],
    ['group', 'members', 'nogroup', '--add', 'ann'],
    ['group', 'members', 'cleaners', '--add', 'nobody'],
    ['holiday', 'add', 'x', '2025-13-01'],
    ['schedule', 'remove', 'ghost'],
  ]) {
    const r = await facegate(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(errorLines(r.stderr).length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(!r.stderr.includes('    at '), 'no stack trace');
  }
  assert.equal(await readFile(db, 'utf8'), before);
  const zone = await facegateCli(['schedule', 'list', '--db', db], {
    env: { ...process.env, FACEGATE__door__timeZone: 'Mars/Olympus' },
  });
  assert.notEqual(zone.code, 0);
  assert.match(zone.stderr, /unknown time zone/);
});

test('facegate log shows the admin actions newest first, with filters, JSON and CSV', async () => {
  const human = await facegate('log', '--since', '1h');
  assert.equal(human.code, 0, human.stderr);
  const lines = human.stdout.trim().split('\n');
  assert.match(lines.at(-1) ?? '', /^\d+ records: 0 granted, 0 denied, 0 alarms, \d+ admin$/);
  const json = JSON.parse((await facegate('log', '--kind', 'admin', '--json', '--limit', '3')).stdout);
  assert.equal(json.records.length, 3);
  assert.ok(json.summary.admin >= 9, 'the refused changes of the previous test at least');
  assert.ok(json.records[0].t >= json.records[1].t, 'newest first');
  assert.ok(json.records.every((r: { by: string }) => r.by === 'cli'));
  const failed = JSON.parse((await facegate('log', '--json', '--limit', '100')).stdout).records.filter(
    (r: { result: string }) => r.result === 'failed',
  );
  assert.ok(failed.length >= 8, 'refused changes are logged as failed admin actions');
  const csv = await facegate('log', '--csv', '--limit', '2');
  assert.match(csv.stdout, /^time,kind,what,result,reason,kiosk,identityId,name,badge,by,detail\r\n/);
  assert.equal(csv.stdout.trim().split('\r\n').length, 3);
  assert.equal((await facegate('log', '--decision', 'maybe')).code, 2);
  assert.equal((await facegate('log', '--since', 'yesterday')).code, 2);
});
