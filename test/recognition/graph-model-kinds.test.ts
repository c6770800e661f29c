import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadModelKinds } from '../../src/cli/model-kinds.ts';
import { type PinnedModelSpec, pinnedModelKind, verifiedModelFiles } from '../../src/models/pinned-kind.ts';
import { faceReidSpec, minifasnetSpec, yunetSpec } from '../../src/recognition/graph-model-kinds.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const bodyA = Buffer.from('first model file\n'.repeat(1000));
const bodyB = Buffer.from('second model file\n'.repeat(500));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let server: http.Server;
let base = '';
let root = '';

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'facegate-pinned-'));
  server = http.createServer((req, res) => {
    const bodies: Record<string, Buffer> = { '/a': bodyA, '/b': bodyB, '/evil': Buffer.from('not the model') };
    const body = bodies[req.url ?? ''];
    if (req.url === '/cut') {
      res.writeHead(200, { 'content-length': bodyB.length });
      res.write(bodyB.subarray(0, 100), () => res.socket?.destroy());
      return;
    }
    res.writeHead(body ? 200 : 404, body ? { 'content-length': body.length } : {});
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((r) => server.close(r));
  await rm(root, { recursive: true, force: true });
});

function spec(bPath: string, validate?: PinnedModelSpec['validate']): PinnedModelSpec {
  return {
    kind: 'toy',
    name: 'toy-model',
    description: 'two files',
    subdir: 'toy',
    files: [
      { file: 'a.bin', sha256: sha(bodyA), url: `${base}/a`, maxBytes: 1_000_000 },
      { file: 'b.bin', sha256: sha(bodyB), url: `${base}${bPath}`, maxBytes: 1_000_000 },
    ],
    validate,
  };
}

const leftovers = async (dir: string) =>
  (await readdir(dir).catch(() => [] as string[])).filter((f) => /tmp-|\.part/.test(f));

test('fetch: both files checked and swapped in together; list says ready', async () => {
  const models = path.join(root, 'fetch-ok');
  const kind = pinnedModelKind(spec('/b'));
  assert.match(await kind.fetch!(models), /fetched toy \(\d+ bytes, sha256 checked\)/);
  assert.deepEqual(await readFile(path.join(models, 'toy', 'b.bin')), bodyB);
  assert.equal((await kind.list(models))[0]!.status, 'ready');
});

test('a wrong, interrupted or unloadable download leaves no partial model and keeps the old one', async () => {
  const models = path.join(root, 'fetch-bad');
  assert.equal((await pinnedModelKind(spec('/b')).list(models))[0]!.status, 'missing');
  for (const bad of [spec('/evil'), spec('/cut'), spec('/nope')]) {
    await assert.rejects(pinnedModelKind(bad).fetch!(models));
    assert.equal(existsSync(path.join(models, 'toy')), false);
    assert.deepEqual(await leftovers(models), []);
  }
  const refuse = spec('/b', async () => {
    throw new Error('cannot parse');
  });
  await assert.rejects(pinnedModelKind(refuse).fetch!(models), /cannot parse/);
  assert.equal(existsSync(path.join(models, 'toy')), false);
  // A good model in place survives a failed re-fetch untouched.
  await pinnedModelKind(spec('/b')).fetch!(models);
  await assert.rejects(pinnedModelKind(spec('/evil')).fetch!(models), /does not match the pinned/);
  assert.equal((await pinnedModelKind(spec('/b')).list(models))[0]!.status, 'ready');
  assert.deepEqual(await leftovers(models), []);
});

test('import from a directory: pinned hashes required, one line per refusal', async () => {
  const src = path.join(root, 'offline-copy');
  await mkdir(src, { recursive: true });
  await writeFile(path.join(src, 'a.bin'), bodyA);
  const kind = pinnedModelKind(spec('/b'));
  const models = path.join(root, 'import');
  await assert.rejects(kind.importFrom!(src, models), /b\.bin is missing or unreadable/);
  await writeFile(path.join(src, 'b.bin'), Buffer.concat([bodyB, Buffer.from('x')]));
  await assert.rejects(kind.importFrom!(src, models), /has sha256 [0-9a-f]{64}, not the pinned/);
  await assert.rejects(kind.importFrom!(path.join(src, 'a.bin'), models), /is not a directory/);
  assert.equal(existsSync(path.join(models, 'toy')), false);
  await writeFile(path.join(src, 'b.bin'), bodyB);
  assert.match(await kind.importFrom!(src, models), /imported toy into/);
  assert.equal((await kind.list(models))[0]!.status, 'ready');
});

test('yunet, face-reid and minifasnet are registered for models list | fetch | import', async () => {
  const modelKinds = await loadModelKinds();
  for (const k of ['yunet', 'face-reid', 'minifasnet']) {
    const kind = modelKinds.find((m) => m.kind === k);
    assert.ok(kind?.fetch && kind.importFrom, k);
  }
  for (const s of [yunetSpec, faceReidSpec, minifasnetSpec]) {
    for (const f of s.files) assert.match(f.url, /^https:\/\//, `${s.kind}: ${f.url}`);
  }
});

const shipped = [
  { spec: yunetSpec, dir: 'yunet' },
  { spec: faceReidSpec, dir: 'face-reid-0095' },
  { spec: minifasnetSpec, dir: 'minifasnet' },
];

test('the pinned sha256s are the ones the shared READMEs document, and the shared files have them', {
  skip: skipUnlessShared,
}, async () => {
  for (const { spec: s, dir } of shipped) {
    const readme = await readFile(sharedPath('models', dir, 'README.md'), 'utf8');
    for (const f of s.files) {
      assert.ok(readme.includes(f.sha256), `${s.kind} ${f.file}: pin not in the README`);
      assert.equal(sha(await readFile(sharedPath('models', dir, f.file))), f.sha256, `${s.kind} ${f.file}`);
    }
  }
});

test('importing the real models (offline), then a tampered file is refused before use', {
  skip: skipUnlessShared,
}, async () => {
  const models = path.join(root, 'real');
  const modelKinds = await loadModelKinds();
  for (const { spec: s, dir } of shipped) {
    const kind = modelKinds.find((k) => k.kind === s.kind)!;
    assert.equal((await kind.list(models))[0]!.status, 'missing');
    await kind.importFrom!(sharedPath('models', dir), models);
    assert.equal((await kind.list(models))[0]!.status, 'ready', s.kind);
    const files = await verifiedModelFiles(models, s);
    assert.deepEqual(Object.keys(files).sort(), s.files.map((f) => f.file).sort());
  }
  await appendFile(path.join(models, 'yunet', yunetSpec.files[0]!.file), 'x');
  const row = (await modelKinds.find((k) => k.kind === 'yunet')!.list(models))[0]!;
  assert.equal(row.status, 'invalid');
  await assert.rejects(verifiedModelFiles(models, yunetSpec), /differs from its recorded sha256/);
});
