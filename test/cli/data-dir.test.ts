/**
 * One database for the CLI and the service: both resolve the data directory from the same config file (found in a
 * temporary `/etc`-like directory through FACEGATE_ETC_DIR), every command names the database it used, and read
 * commands never create a file or a folder, not even at a mistyped path.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FaceDb } from '../../src/store/face-db.ts';
import { facegate } from '../helpers/cli.ts';
import { repoRoot } from '../helpers/shared.ts';

let root = '';
let etc = '';
let dataDir = '';
let env: NodeJS.ProcessEnv = {};

/** The environment of a user on this kiosk: no facegate variables but the injected /etc. */
function kioskEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FACEGATE')));
  return { ...clean, FACEGATE_ETC_DIR: etc, ...extra };
}

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'facegate-datadir-'));
  etc = path.join(root, 'etc');
  dataDir = path.join(root, 'lib', 'facegate');
  await mkdir(path.join(etc, 'facegate'), { recursive: true });
  await writeFile(path.join(etc, 'facegate', 'config.yaml'), `data:\n  dir: ${dataDir}\n`);
  const db = await FaceDb.open(path.join(dataDir, 'faces.json'));
  await db.upsert({ id: 'ann', name: 'Ann', badges: ['ann-0001'], enabled: true });
  env = kioskEnv();
});
after(() => rm(root, { recursive: true, force: true }));

test('the CLI reads the database named by the system config file, and says which one', async () => {
  const cwd = path.join(root, 'elsewhere');
  await mkdir(cwd);
  const json = await facegate(['db', 'list', '--json'], { env, cwd });
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout);
  assert.deepEqual(
    parsed.identities.map((i: { id: string }) => i.id),
    ['ann'],
  );
  assert.equal(parsed.database, path.join(dataDir, 'faces.json'));
  const human = await facegate(['db', 'list'], { env, cwd });
  assert.equal(human.code, 0);
  assert.equal(human.stderr.split('\n').filter((l) => l === `database: ${path.join(dataDir, 'faces.json')}`).length, 1);
  assert.deepEqual(await readdir(cwd), [], 'nothing created in the working directory');
});

test('a spawned daemon resolves the same database from the same config file', async (t) => {
  const frames = path.join(root, 'frames');
  await mkdir(frames, { recursive: true });
  const child = spawn(
    process.execPath,
    [
      path.join(repoRoot, 'bin', 'facegate.js'),
      'run',
      '--camera',
      `dir:${frames}`,
      '--badge',
      'none',
      '--mqtt',
      'none',
      '--http-port',
      '0',
    ],
    { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const configLine = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (const line of buffer.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (parsed.event === 'config') resolve(parsed);
        } catch {
          // a partial line; the rest arrives with the next chunk
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`daemon exited (${code}) before its config line`)));
  });
  assert.equal(configLine.database, path.join(dataDir, 'faces.json'));
  assert.equal(configLine.file, path.join(etc, 'facegate', 'config.yaml'));
});

test('--data-dir beats FACEGATE_DATA_DIR, which beats the config file', async () => {
  const fromEnv = path.join(root, 'env-data');
  const fromFlag = path.join(root, 'flag-data');
  for (const dir of [fromEnv, fromFlag]) {
    const db = await FaceDb.open(path.join(dir, 'faces.json'));
    await db.upsert({ id: path.basename(dir), name: 'x', badges: [], enabled: true });
  }
  const byEnv = await facegate(['db', 'list', '--json'], { env: kioskEnv({ FACEGATE_DATA_DIR: fromEnv }) });
  assert.equal(JSON.parse(byEnv.stdout).database, path.join(fromEnv, 'faces.json'));
  const byFlag = await facegate(['db', 'list', '--json', '--data-dir', fromFlag], {
    env: kioskEnv({ FACEGATE_DATA_DIR: fromEnv }),
  });
  assert.equal(JSON.parse(byFlag.stdout).identities[0].id, 'flag-data');
});

test('read commands at a mistyped --db create nothing and name the path', async () => {
  const typo = path.join(root, 'typo', 'deeper', 'facse.json');
  for (const args of [
    ['db', 'list'],
    ['db', 'show', 'ann'],
    ['db', 'export', path.join(root, 'out.json')],
    ['identify', path.join(root, 'nobody.jpg')],
    ['verify', path.join(root, 'nobody.jpg'), 'ann'],
  ]) {
    const r = await facegate([...args, '--db', typo], { env });
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, new RegExp(`no face database at ${typo.replace(/[.]/g, '\\.')} \\(from --db\\)`));
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  }
  assert.equal(existsSync(path.join(root, 'typo')), false);
  assert.equal(existsSync(path.join(root, 'out.json')), false);
});

test('a write command does not grow folders for a mistyped --db either', async () => {
  const r = await facegate(
    ['enroll', 'bob', path.join(root, 'nobody.jpg'), '--db', path.join(root, 'nope', 'f.json')],
    {
      env,
    },
  );
  assert.equal(r.code, 2);
  assert.match(r.stderr, /folder .*nope does not exist/);
  assert.equal(existsSync(path.join(root, 'nope')), false);
});

test('an installed kiosk without data.dir uses /var/lib/facegate, as the service does', async () => {
  const bare = path.join(root, 'etc-bare');
  await mkdir(path.join(bare, 'facegate'), { recursive: true });
  await writeFile(path.join(bare, 'facegate', 'config.yaml'), 'logging:\n  level: warn\n');
  const r = await facegate(['db', 'list'], { env: kioskEnv({ FACEGATE_ETC_DIR: bare }) });
  // Read-only: whether or not this machine has a service database, nothing is created; absent, it is named.
  if (r.code !== 0)
    assert.match(r.stderr, /no face database at \/var\/lib\/facegate\/faces\.json \(from the installed default/);
  else assert.match(r.stderr, /^database: \/var\/lib\/facegate\/faces\.json$/m);
});
