/**
 * CLI conventions every command inherits: global options in every sub-command's help, examples on the main
 * commands, one-line usage errors with the closest spelling, JSON errors with --json (same exit codes),
 * `config check`, and the Gatys progress line and VGG-19 instructions.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { facegate } from '../helpers/cli.ts';
import { balancedVggConvs, syntheticMat } from '../helpers/vgg-mat.ts';

let dir = '';
/** No facegate variables and no system config file: the embedded defaults. */
let env: NodeJS.ProcessEnv = {};

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facegate-conventions-'));
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FACEGATE')));
  env = { ...clean, FACEGATE_ETC_DIR: path.join(dir, 'no-etc') };
});
after(() => rm(dir, { recursive: true, force: true }));

describe('help', () => {
  const globals = ['--config', '--data-dir', '--db', '--models-dir', '--backend', '--json'];

  test('the main commands show the global options and end their help with examples', async () => {
    for (const name of ['run', 'enroll', 'verify', 'identify', 'db', 'admin', 'models', 'stylize', 'config']) {
      const r = await facegate([name, '--help'], { env });
      assert.equal(r.code, 0, name);
      for (const flag of globals) assert.ok(r.stdout.includes(`${flag} `), `${name} help lacks ${flag}`);
      assert.match(r.stdout, new RegExp(`Examples:\\n  \\$ (npm start|facegate ${name}|sudo)`), name);
    }
  });

  test('so do nested sub-commands', async () => {
    for (const args of [
      ['db', 'list'],
      ['admin', 'send'],
      ['config', 'check'],
    ]) {
      const r = await facegate([...args, '--help'], { env });
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Global Options:/);
      for (const flag of globals) assert.ok(r.stdout.includes(`${flag} `), `${args.join(' ')} help lacks ${flag}`);
    }
  });
});

describe('errors', () => {
  test('an unknown command is one line with the suggestion, not the whole help', async () => {
    const r = await facegate(['enrol', 'x'], { env });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, "facegate: unknown command 'enrol' — did you mean 'enroll'?\n");
  });

  test('an unknown flag, likewise', async () => {
    const r = await facegate(['db', 'list', '--jsno'], { env });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "facegate: unknown option '--jsno' — did you mean '--json'?\n");
  });

  test('with --json, errors are JSON on stdout with unchanged exit codes', async () => {
    const usage = await facegate(['db', 'lsit', '--json'], { env });
    assert.equal(usage.code, 2);
    assert.deepEqual(JSON.parse(usage.stdout), { error: "unknown command 'lsit' — did you mean 'list'?", code: 2 });
    const missing = await facegate(['db', 'show', 'x', '--json', '--db', path.join(dir, 'none.json')], { env });
    assert.equal(missing.code, 2);
    assert.match(JSON.parse(missing.stdout).error, /^no face database at /);
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'door:\n  relais: gpiod:0:17\n');
    const config = await facegate(['config', 'check', '--config', bad, '--json'], { env });
    assert.equal(config.code, 78);
    assert.deepEqual(JSON.parse(config.stdout), {
      error: `config ${bad} is invalid (1 problem): door.relais: unknown key (did you mean door.relay?)`,
      code: 78,
    });
  });
});

describe('config check', () => {
  test('prints every effective value with its source, secrets masked', async () => {
    const file = path.join(dir, 'site.yaml');
    await writeFile(file, 'door:\n  unlockPulseMs: 4000\nmqtt:\n  password: hunter2-in-the-file\n');
    const r = await facegate(['config', 'check', '--config', file, '--data-dir', path.join(dir, 'd'), '--json'], {
      env: { ...env, FACEGATE_ADMIN_SECRET: 'an-admin-secret-of-length', FACEGATE__door__cooldownMs: '1500' },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes('hunter2') && !r.stdout.includes('an-admin-secret'), 'secrets masked');
    const out = JSON.parse(r.stdout) as {
      file: string;
      values: Array<{ key: string; value: unknown; source: string }>;
    };
    const by = new Map(out.values.map((v) => [v.key, v]));
    assert.equal(out.file, file);
    assert.deepEqual(by.get('door.unlockPulseMs'), { key: 'door.unlockPulseMs', value: 4000, source: 'file' });
    assert.deepEqual(by.get('door.cooldownMs'), { key: 'door.cooldownMs', value: 1500, source: 'env' });
    assert.deepEqual(by.get('data.dir'), { key: 'data.dir', value: path.join(dir, 'd'), source: 'flag' });
    assert.deepEqual(by.get('door.mode'), { key: 'door.mode', value: 'badge+face', source: 'default' });
    assert.equal(by.get('mqtt.password')?.value, '********');
    assert.equal(by.get('mqtt.adminSecret')?.source, 'env');
    assert.equal(by.get('mqtt.url')?.value, null, 'unset keys are listed too');
  });

  test('an unknown key in the open mqtt section gets a "did you mean" and exit 78', async () => {
    const file = path.join(dir, 'typo.yaml');
    await writeFile(file, 'mqtt:\n  ulr: mqtt://broker:1883\n');
    const r = await facegate(['config', 'check', '--config', file], { env });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /mqtt\.ulr: unknown key \(did you mean mqtt\.url\?\)/);
  });
});

describe('stylize --method gatys', () => {
  test('a missing VGG-19 names the download and the import command, and models fetch agrees', async () => {
    const content = path.join(dir, 'c.png');
    await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } })
      .png()
      .toFile(content);
    const vgg = path.join(dir, 'nowhere', 'vgg.mat');
    const r = await facegate(
      ['stylize', content, '--method', 'gatys', '--style-image', content, '--vgg', vgg, '-o', path.join(dir, 'o.png')],
      { env },
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /https:\/\/www\.vlfeat\.org\/matconvnet\/models\/imagenet-vgg-verydeep-19\.mat/);
    assert.match(r.stderr, /facegate models import vgg19 <downloaded file>/);
    const fetch = await facegate(['models', 'fetch', 'vgg19', '--models-dir', path.join(dir, 'm')], { env });
    assert.equal(fetch.code, 2);
    assert.match(fetch.stderr, /facegate models import vgg19 <downloaded file>/);
  });

  test('prints one progress line per iteration with cost, s/it and ETA when not on a terminal', async () => {
    const content = path.join(dir, 'c2.png');
    const noise = Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 97 + ((i * i) % 251)) % 256));
    await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toFile(content);
    const vgg = path.join(dir, 'synthetic-vgg.mat');
    await writeFile(vgg, syntheticMat(balancedVggConvs()));
    const r = await facegate(
      [
        'stylize',
        content,
        '--method',
        'gatys',
        '--style-image',
        content,
        '--vgg',
        vgg,
        '--size',
        '64x64',
        '--iterations',
        '3',
        '-o',
        path.join(dir, 'g.png'),
      ],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('iteration '));
    assert.equal(lines.length, 3);
    for (const [i, line] of lines.entries())
      assert.match(line, new RegExp(`^iteration ${i + 1}/3  cost \\d\\.\\d{4}e[+-]\\d+  \\d+\\.\\d+ s/it  ETA \\d+s$`));
    assert.match(lines[2] as string, /ETA 0s$/);
  });
});
