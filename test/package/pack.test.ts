/**
 * What a published facegate is: `npm pack` ships the compiled JavaScript (`dist/`), the CLI entry, the example
 * config, the systemd units, README and the licence files, and nothing else (no tests, CI scripts, TypeScript
 * sources or benchmark sources beside their build). `--ignore-scripts` packs the `dist/` that `npm test` built in
 * `pretest` instead of building it again.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { facegate } from '../helpers/cli.ts';
import { repoRoot } from '../helpers/shared.ts';

const ALLOWED_FILES = new Set(['package.json', 'README.md', 'LICENSE', 'NOTICE']);
const ALLOWED_DIRS = ['dist/', 'bin/', 'config/', 'systemd/'];

function packedFiles(): string[] {
  const out = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(out.status, 0, out.stderr);
  const [pack] = JSON.parse(out.stdout) as { files: { path: string }[] }[];
  assert.ok(pack, 'npm pack printed no package');
  return pack.files.map((f) => f.path);
}

test('npm pack ships dist/, bin/, config/, systemd/, README and licence files only', () => {
  const files = packedFiles();
  const stray = files.filter((f) => !ALLOWED_FILES.has(f) && !ALLOWED_DIRS.some((d) => f.startsWith(d)));
  assert.deepEqual(stray, [], 'files outside the whitelist');
  assert.deepEqual(
    files.filter((f) => f.endsWith('.ts') || f.endsWith('.mjs')),
    [],
    'TypeScript sources or tsx bootstraps in the package',
  );
  for (const needed of [
    'LICENSE',
    'bin/facegate.js',
    'dist/src/cli/main.js',
    'dist/src/inference/worker.js',
    'dist/src/display/page/index.html',
    'dist/src/recognition/face-api-models.json',
    'dist/src/nst/fast/style-pins.json',
    'config/facegate.yaml',
    'systemd/facegate.service',
  ]) {
    assert.ok(files.includes(needed), `${needed} is not packed (run \`npm run build\` first)`);
  }
});

test('the package runs on Node 22 or newer and is MIT-licensed with a LICENSE file', () => {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    engines?: { node?: string };
    license?: string;
    dependencies?: Record<string, string>;
  };
  assert.equal(pkg.engines?.node, '>=22');
  assert.equal(pkg.license, 'MIT');
  assert.match(
    readFileSync(path.join(repoRoot, 'LICENSE'), 'utf8'),
    /^MIT License\n\nCopyright \(c\) \d{4} facegate contributors/,
  );
  assert.equal(pkg.dependencies?.tsx, undefined, 'tsx is a run-time dependency again');
});

test('facegate --version prints the package version', async () => {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const r = await facegate(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), pkg.version);
  assert.equal(r.stderr, '');
});
