/**
 * The install-script policy (package.json `allowScripts`, npm >= 11.16): every dependency that has an install script
 * is either allowed or denied, so `npm ci` runs only what is needed (epoll's native build, for onoff) and prints no
 * install-script warning; and npm reads no unknown project config (the old `.npmrc` key made every command warn).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/shared.ts';

const npmVersion = spawnSync('npm', ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
const [major = 0, minor = 0] = npmVersion.split('.').map(Number);
const hasPolicy = major > 11 || (major === 11 && minor >= 16);
const needsNpm = { skip: hasPolicy ? false : `npm ${npmVersion || 'not found'} has no allowScripts (needs >= 11.16)` };

test('every installed install script is reviewed, and npm warns about nothing', needsNpm, () => {
  const out = spawnSync('npm', ['install-scripts', 'ls', '--json'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  assert.deepEqual(JSON.parse(out.stdout), { allowScripts: [] }, 'unreviewed install scripts');
  assert.doesNotMatch(out.stderr, /warn/i);
});

test('only epoll may run an install script', () => {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    allowScripts?: Record<string, boolean>;
  };
  const allowed = Object.entries(pkg.allowScripts ?? {}).filter(([, ok]) => ok);
  assert.deepEqual(
    allowed.map(([name]) => name),
    ['epoll'],
  );
});
