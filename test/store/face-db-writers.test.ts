/**
 * One writer at a time across processes: the CLI, the daemon and a second writer each lock, re-read, change and
 * write the face database, so no update is lost; the daemon picks up another process's change within 2 s and its
 * next write keeps it; a lock left by a killed writer is recovered.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { FaceDb } from '../../src/store/face-db.ts';
import type { DbFile } from '../../src/store/schema.ts';
import { facegate } from '../helpers/cli.ts';
import { waitFor } from '../helpers/mqtt-fixtures.ts';
import { repoRoot } from '../helpers/shared.ts';

const writer = path.join(repoRoot, 'test', 'helpers', 'db-writer.ts');
let dir = '';
let file = '';
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facegate-writers-'));
  file = path.join(dir, 'faces.json');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const person = (id: string, badges: string[] = []) => ({ id, name: id.toUpperCase(), badges, enabled: true });
const onDisk = async (): Promise<DbFile> => JSON.parse(await readFile(file, 'utf8')) as DbFile;

function spawnWriter(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', writer, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

test('the CLI removes a person while a daemon holds the database: the daemon stops granting within 2 s and its next write keeps the deletion', async (t) => {
  const daemon = await FaceDb.open(file, { watch: true });
  t.after(() => daemon.close());
  await daemon.upsert(person('kian', ['kian-badge-0001']));
  await daemon.addEncodings('kian', [
    { vector: [0.1, 0.2, 0.3], encoder: 'dlib-resnet128', createdAt: 'now', quality: null, source: 'test' },
  ]);
  await daemon.upsert(person('ann'));
  const changes: string[] = [];
  daemon.onChange((id, change) => changes.push(`${id}:${change}`));

  const cli = await facegate(['db', 'remove', 'kian', '--db', file]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /removed kian/);
  const notes = cli.stderr.split('\n').filter((l) => /daemon/.test(l));
  assert.equal(notes.length, 1, `one line about the running daemon, got: ${cli.stderr}`);
  assert.match(notes[0]!, new RegExp(`pid ${process.pid}\\b`));

  await waitFor(
    'the daemon stops granting kian',
    () => (daemon.get('kian') === undefined && daemon.findByBadge('kian-badge-0001') === undefined ? true : undefined),
    2000,
  );
  assert.deepEqual(changes, ['kian:deleted']);

  await daemon.upsert({ ...person('ann'), name: 'Ann B.' });
  const after = await onDisk();
  assert.deepEqual(
    after.identities.map((i) => `${i.id}:${i.name}`),
    ['ann:Ann B.'],
  );
  assert.deepEqual(
    after.tombstones.map((s) => s.id),
    ['kian'],
  );
  assert.ok(!JSON.stringify(after).includes('kian-badge'), 'nothing of kian came back');
});

test('writers in three processes at once lose no update', async (t) => {
  const db = await FaceDb.open(file);
  const children = [spawnWriter(['upsert', file, 'p', '15']), spawnWriter(['upsert', file, 'q', '15'])];
  t.after(() => {
    for (const child of children) child.kill('SIGKILL');
  });
  const mine = (async () => {
    for (let i = 0; i < 15; i += 1) await db.upsert(person(`r${i}`));
  })();
  const codes = await Promise.all(children.map(exited));
  await mine;
  assert.deepEqual(codes, [0, 0]);
  const ids = (await onDisk()).identities.map((i) => i.id);
  assert.equal(ids.length, 45, `lost updates: ${45 - ids.length}`);
  assert.equal((await FaceDb.open(file)).list().length, 45);
});

test('a writer killed while holding the lock blocks other writers until it is found dead, then they go on', async (t) => {
  const db = await FaceDb.open(file);
  await db.upsert(person('ann'));
  const child = spawnWriter(['hang', file]);
  t.after(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('renaming')) resolve();
    });
    child.once('exit', () => reject(new Error('the hanging writer exited early')));
  });

  let settled = false;
  const write = db.upsert(person('bob')).finally(() => {
    settled = true;
  });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(settled, false, 'a second writer went ahead while the first one held the database');
  // A writer that cannot wait says who holds the lock, in one line.
  const impatient = await FaceDb.open(file, { lockTimeoutMs: 100 });
  await assert.rejects(impatient.upsert(person('cleo')), new RegExp(`locked by pid ${child.pid} \\(`));

  child.kill('SIGKILL');
  await exited(child);
  await write;
  assert.deepEqual(
    (await onDisk()).identities.map((i) => i.id),
    ['ann', 'bob'],
  );
  assert.deepEqual(
    (await readdir(dir)).filter((f) => f.includes('lock')),
    [],
    'the dead writer left no lock behind',
  );
});

test('reload() re-reads at once and announces each id another process changed; a broken file leaves memory as it was', async () => {
  const daemon = await FaceDb.open(file);
  await daemon.upsert(person('ann'));
  await daemon.upsert(person('bob'));
  const other = await FaceDb.open(file);
  await other.remove('ann');
  await other.upsert({ ...person('bob'), name: 'Bob B.' });
  await other.upsert(person('cleo'));
  const changes: string[] = [];
  daemon.onChange((id, change) => changes.push(`${id}:${change}`));
  assert.equal(await daemon.reload(), 3);
  assert.deepEqual(changes.sort(), ['ann:deleted', 'bob:updated', 'cleo:enrolled']);
  assert.equal(daemon.get('bob')?.name, 'Bob B.');

  await writeFile(file, '{"schemaVersion": 2, "identities": [');
  await assert.rejects(daemon.reload(), /not valid JSON/);
  assert.deepEqual(
    daemon.list().map((i) => i.id),
    ['bob', 'cleo'],
  );
});
