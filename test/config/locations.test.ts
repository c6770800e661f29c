/** The one rule by which the CLI and the daemon find the config file, the data directory and the models. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { faceDbFile, resolveConfigFile, SYSTEM_DATA_DIR } from '../../src/config/locations.ts';

let root = '';
let etc = '';
let bareEtc = '';

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'facegate-locations-'));
  etc = path.join(root, 'etc');
  bareEtc = path.join(root, 'no-etc');
  await mkdir(path.join(etc, 'facegate'), { recursive: true });
  await writeFile(path.join(etc, 'facegate', 'config.yaml'), 'logging:\n  level: warn\n');
});
after(() => rm(root, { recursive: true, force: true }));

describe('the config file', () => {
  test('--config > FACEGATE_CONFIG > <etc>/facegate/config.yaml > none', () => {
    const env = { FACEGATE_ETC_DIR: etc };
    const system = path.join(etc, 'facegate', 'config.yaml');
    assert.equal(resolveConfigFile(undefined, env), system);
    assert.equal(resolveConfigFile(undefined, { ...env, FACEGATE_CONFIG: '/x.yaml' }), '/x.yaml');
    assert.equal(resolveConfigFile('/y.yaml', { ...env, FACEGATE_CONFIG: '/x.yaml' }), '/y.yaml');
    assert.equal(resolveConfigFile(undefined, { FACEGATE_ETC_DIR: bareEtc }), null);
  });
});

describe('the data directory', () => {
  test('a clone (no system config file) uses ./data and ./models', async () => {
    const { config, file } = await loadConfig(undefined, {}, { FACEGATE_ETC_DIR: bareEtc });
    assert.equal(file, null);
    assert.equal(config.data.dir, 'data');
    assert.equal(config.recognition.modelsDir, null);
    assert.equal(faceDbFile(config.data), path.resolve('data', 'faces.json'));
  });

  test('an installed kiosk without data.dir uses the service state directory', async () => {
    const { config } = await loadConfig(undefined, {}, { FACEGATE_ETC_DIR: etc });
    assert.equal(config.data.dir, SYSTEM_DATA_DIR);
    assert.equal(config.recognition.modelsDir, path.join(SYSTEM_DATA_DIR, 'models'));
    assert.equal(faceDbFile(config.data), '/var/lib/facegate/faces.json');
  });

  test('flag > FACEGATE_DATA_DIR > the file > the installed default', async () => {
    const file = path.join(root, 'named.yaml');
    await writeFile(file, 'data:\n  dir: /srv/from-file\n');
    const env = { FACEGATE_ETC_DIR: etc };
    assert.equal((await loadConfig(file, {}, env)).config.data.dir, '/srv/from-file');
    const withEnv = { ...env, FACEGATE_DATA_DIR: '/srv/from-env' };
    assert.equal((await loadConfig(file, {}, withEnv)).config.data.dir, '/srv/from-env');
    assert.equal((await loadConfig(file, { data: { dir: '/srv/flag' } }, withEnv)).config.data.dir, '/srv/flag');
  });

  test("relative paths in the system file are the service's (its working directory), wherever the CLI runs", async () => {
    const system = path.join(root, 'etc-rel');
    await mkdir(path.join(system, 'facegate'), { recursive: true });
    await writeFile(path.join(system, 'facegate', 'config.yaml'), 'data:\n  dir: data\nrecognition:\n  modelsDir: m\n');
    const { config } = await loadConfig(undefined, {}, { FACEGATE_ETC_DIR: system });
    assert.equal(config.data.dir, '/var/lib/facegate/data');
    assert.equal(config.recognition.modelsDir, '/var/lib/facegate/m');
    // Another file keeps relative paths relative to the working directory.
    const other = path.join(root, 'other.yaml');
    await writeFile(other, 'data:\n  dir: data\n');
    assert.equal((await loadConfig(other, {}, { FACEGATE_ETC_DIR: bareEtc })).config.data.dir, 'data');
  });
});
