/**
 * Commands load only what they use: `--help`, `--version`, `db list` and `admin sign` never load TensorFlow.js or
 * sharp, and only `db list` loads zod (for the database file's schema, not the config's). The built CLI runs with a
 * preload (helpers/load-log.mjs) that records every ES module and every CommonJS module the process loaded.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../helpers/shared.ts';

const PRELOAD = pathToFileURL(path.join(repoRoot, 'test', 'helpers', 'load-log.mjs')).href;
const TFJS = /\/node_modules\/@tensorflow\//;
const SHARP = /\/node_modules\/sharp\//;
const ZOD = /\/node_modules\/zod\//;
const CONFIG_SCHEMA = /\/src\/config\/(schema|sections\/)/;

let dir = '';
let run = 0;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facegate-lazy-'));
  await writeFile(path.join(dir, 'faces.json'), JSON.stringify({ schemaVersion: 1, identities: [], tombstones: [] }));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the built CLI with the recorder; resolves with its exit code, output and every module it loaded. */
function loaded(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stderr: string; modules: string[] }> {
  const log = path.join(dir, `load-${run++}.log`);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', PRELOAD, path.join(repoRoot, 'bin', 'facegate.js'), ...args],
      { cwd: dir, env: { ...process.env, ...env, FACEGATE_LOAD_LOG: log }, timeout: 60_000 },
      (err, _stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        readFile(log, 'utf8').then(
          (text) => resolve({ code, stderr, modules: text.split('\n').filter(Boolean) }),
          reject,
        );
      },
    );
  });
}

function assertNone(modules: string[], pattern: RegExp, what: string): void {
  assert.deepEqual(modules.filter((m) => pattern.test(m)).slice(0, 3), [], `${what} was loaded`);
}

test('the recorder sees ES modules and CommonJS modules (else the checks below would pass vacuously)', async () => {
  const r = await loaded(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(
    r.modules.some((m) => m.endsWith('/dist/src/cli/main.js')),
    'the CLI itself (ES module) not recorded',
  );
  assert.ok(
    r.modules.some((m) => m.endsWith('/node_modules/commander/lib/command.js')),
    'CommonJS not recorded',
  );
});

for (const args of [['--help'], ['--version'], ['db', '--help']]) {
  test(`facegate ${args.join(' ')} loads no tfjs, sharp or zod`, async () => {
    const r = await loaded(args);
    assert.equal(r.code, 0, r.stderr);
    assertNone(r.modules, TFJS, 'tfjs');
    assertNone(r.modules, SHARP, 'sharp');
    assertNone(r.modules, ZOD, 'zod');
  });
}

test('facegate db list loads the database schema only: no tfjs, sharp or config schema', async () => {
  const r = await loaded(['--db', path.join(dir, 'faces.json'), 'db', 'list']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(
    r.modules.some((m) => ZOD.test(m)),
    'the database file was not validated',
  );
  assertNone(r.modules, TFJS, 'tfjs');
  assertNone(r.modules, SHARP, 'sharp');
  assertNone(r.modules, CONFIG_SCHEMA, 'the config schema');
});

test('facegate admin sign loads no tfjs, sharp, zod or MQTT client', async () => {
  const r = await loaded(['admin', 'sign', 'stats', '--kiosk', 'door1'], {
    FACEGATE_ADMIN_SECRET: 'lazy-load-test-secret-0123456789abcdef',
  });
  assert.equal(r.code, 0, r.stderr);
  assertNone(r.modules, TFJS, 'tfjs');
  assertNone(r.modules, SHARP, 'sharp');
  assertNone(r.modules, ZOD, 'zod');
  assertNone(r.modules, /\/node_modules\/mqtt\//, 'the MQTT client');
});
