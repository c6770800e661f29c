/** The config: defaults, the shipped file, precedence, env overrides, and one exit-78 message for every bad key. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultConfig, loadConfig } from '../../src/config/index.ts';
import { ExitCode, FacegateError } from '../../src/util/errors.ts';
import { repoRoot } from '../helpers/shared.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function yamlFile(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

async function configError(promise: Promise<unknown>): Promise<FacegateError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof FacegateError, `expected a FacegateError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the config to be refused');
}

describe('defaults', () => {
  test('embedded defaults are the documented ones', () => {
    const c = defaultConfig();
    assert.equal(c.camera.source, 'v4l2:/dev/video0');
    assert.deepEqual([c.camera.width, c.camera.height, c.camera.fps], [640, 480, 10]);
    assert.equal(c.door.mode, 'badge+face');
    assert.equal(c.door.badgeWindowMs, 10_000);
    assert.equal(c.door.consecutiveFrames, 2);
    assert.deepEqual(c.door.lockout, {
      maxFailures: 5,
      windowMs: 300_000,
      lockoutMs: 300_000,
      maxTracked: 10_000,
      maxLocked: 50_000,
    });
    assert.deepEqual(c.door.unknownBadgeLimit, { maxAttempts: 10, windowMs: 60_000, pauseMs: 60_000 });
    assert.deepEqual(c.door.faceLockout, {
      maxFailures: 5,
      windowMs: 300_000,
      lockoutMs: 300_000,
      maxTracked: 1_000,
      maxLocked: 2_000,
    });
    assert.deepEqual(c.door.faceAttemptLimit, { maxAttempts: 20, windowMs: 60_000, pauseMs: 60_000 });
    assert.equal(c.door.unlockPulseMs, 3000);
    assert.equal(c.door.failSafe, false);
    assert.equal(c.door.relay, 'simulated');
    assert.equal(c.door.heldOpenMs, 30_000);
    assert.equal(c.door.timeZone, Intl.DateTimeFormat().resolvedOptions().timeZone);
    assert.equal(c.door.requireGroup, false);
    assert.deepEqual(c.door.scheduledUnlock, { schedule: null, firstPersonIn: false });
    assert.deepEqual(c.audit, { enabled: true, maxDays: 90, maxMB: 100 });
    assert.deepEqual(c.badge.sources, ['stdin']);
    assert.equal(c.badge.logFull, false);
    assert.equal(c.data.dir, 'data');
    assert.equal(c.recognition.threshold, null);
    assert.equal(c.configVersion, 1);
    assert.match(c.kioskId, /^[A-Za-z0-9][A-Za-z0-9_-]*$/);
  });

  test('the shipped config/facegate.yaml is valid and says exactly the defaults', async () => {
    const { config } = await loadConfig(path.join(repoRoot, 'config', 'facegate.yaml'), {}, {});
    assert.deepEqual(config, defaultConfig());
  });

  test('an empty file means defaults', async () => {
    const { config, file } = await loadConfig(await yamlFile('empty.yaml', ''), {}, {});
    assert.ok(file?.endsWith('empty.yaml'));
    assert.deepEqual(config, defaultConfig());
  });
});

describe('precedence and environment', () => {
  test('file < environment < command-line overrides', async () => {
    const file = await yamlFile(
      'p.yaml',
      'door:\n  unlockPulseMs: 4000\n  cooldownMs: 1000\nlogging:\n  level: warn\n',
    );
    const { config } = await loadConfig(
      file,
      { door: { unlockPulseMs: 6000 } },
      { FACEGATE__door__unlockPulseMs: '5000', FACEGATE__door__cooldownMs: '2000', FACEGATE_LOG_LEVEL: 'debug' },
    );
    assert.equal(config.door.unlockPulseMs, 6000, 'the flag wins');
    assert.equal(config.door.cooldownMs, 2000, 'env wins over the file, and keeps its number type');
    assert.equal(config.logging.level, 'debug');
  });

  test('secrets from the environment land in their section', async () => {
    const { config } = await loadConfig(
      null,
      {},
      { FACEGATE_ADMIN_SECRET: 'a-long-enough-site-secret', FACEGATE_KIOSK_ID: 'door-7' },
    );
    assert.equal((config.mqtt as { adminSecret?: string }).adminSecret, 'a-long-enough-site-secret');
    assert.equal(config.kioskId, 'door-7');
  });
});

describe('invalid configs: one message, every bad key, exit 78', () => {
  test('each kind of bad value is reported with its key and why', async () => {
    const file = await yamlFile(
      'bad.yaml',
      [
        'camera:',
        '  fps: fast', // wrong type
        '  source: usb0', // bad pattern
        'door:',
        '  mode: open-sesame', // not in the enum
        '  consecutiveFrames: 0', // below the minimum
        '  failSafe: "yes"', // string for a boolean
        '  lockout:',
        '    maxFailures: 2.5', // not an integer
        '  relay: gpio17', // bad spec
        'recognition:',
        '  tinyInputSize: 300', // not a multiple of 32
        '  thershold: 0.5', // typo → unknown key
        'badge:',
        '  sources: stdin', // string for an array
        'logging:',
        '  level: loud',
        'kioskId: "front door/1"',
        'colour: blue', // unknown top-level key
      ].join('\n'),
    );
    const err = await configError(loadConfig(file, {}, {}));
    assert.equal(err.exitCode, ExitCode.config);
    assert.equal(err.message.split('\n').length, 1, 'one line');
    for (const key of [
      'camera.fps',
      'camera.source',
      'door.mode',
      'door.consecutiveFrames',
      'door.failSafe',
      'door.lockout.maxFailures',
      'door.relay',
      'recognition.tinyInputSize',
      'recognition.thershold: unknown key',
      'badge.sources',
      'logging.level',
      'kioskId',
      'colour: unknown key',
    ]) {
      assert.ok(err.message.includes(key), `message names ${key}: ${err.message}`);
    }
    assert.match(err.message, /13 problems/);
    assert.match(err.message, /multiple of 32/);
  });

  test('an unknown door.timeZone is refused at load; a real one is kept', async () => {
    const bad = await configError(loadConfig(await yamlFile('tz.yaml', 'door:\n  timeZone: Mars/Olympus\n'), {}, {}));
    assert.equal(bad.exitCode, ExitCode.config);
    assert.match(bad.message, /door\.timeZone: unknown time zone "Mars\/Olympus"/);
    const good = await loadConfig(await yamlFile('tz2.yaml', 'door:\n  timeZone: America/New_York\n'), {}, {});
    assert.equal(good.config.door.timeZone, 'America/New_York');
  });

  test('bad command-line overrides are reported the same way', async () => {
    const err = await configError(loadConfig(null, { door: { mode: 'sesame' as never } }, {}));
    assert.equal(err.exitCode, ExitCode.config);
    assert.match(err.message, /door\.mode/);
  });

  test('unreadable, non-YAML, non-mapping and future-version files are exit 78', async () => {
    const cases = [
      path.join(dir, 'missing.yaml'),
      await yamlFile('broken.yaml', 'door: [unclosed'),
      await yamlFile('list.yaml', '- a\n- b\n'),
      await yamlFile('future.yaml', 'configVersion: 9\n'),
    ];
    const messages: string[] = [];
    for (const file of cases) {
      const err = await configError(loadConfig(file, {}, {}));
      assert.equal(err.exitCode, ExitCode.config, err.message);
      messages.push(err.message);
    }
    assert.match(messages[0]!, /no such file/);
    assert.match(messages[1]!, /not valid YAML/);
    assert.match(messages[2]!, /mapping/);
    assert.match(messages[3]!, /newer/);
  });
});

describe('the CLI', () => {
  test('facegate run with a bad config exits 78 with one line on stderr and no stack trace', async () => {
    const file = await yamlFile('cli-bad.yaml', 'door:\n  mode: sesame\ncamera:\n  fps: -1\n');
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'facegate.js'), '--config', file, 'run'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 78, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^facegate: config .* is invalid \(2 problems\): /);
    assert.match(lines[0]!, /door\.mode/);
    assert.match(lines[0]!, /camera\.fps/);
    assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/);
  });

  test('a bad flag value is exit 78 too', () => {
    const r = spawnSync(
      process.execPath,
      [path.join(repoRoot, 'bin', 'facegate.js'), 'run', '--mode', 'sesame', '--fps', 'many'],
      {
        encoding: 'utf8',
        timeout: 60_000,
        cwd: dir,
      },
    );
    assert.equal(r.status, 78, r.stderr);
    assert.match(r.stderr, /door\.mode/);
    assert.match(r.stderr, /camera\.fps/);
  });
});
