import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { createBadgeSource } from '../../../src/hardware/badge/create.ts';
import {
  defaultEventSize,
  InputEventParser,
  KeyAccumulator,
  parseEvtestLine,
} from '../../../src/hardware/badge/evdev-source.ts';
import { normaliseBadge } from '../../../src/hardware/badge/normalise.ts';
import { FacegateError } from '../../../src/util/errors.ts';
import { repoRoot } from '../../helpers/shared.ts';

const work = mkdtempSync(path.join(tmpdir(), 'facegate-badge-'));
after(() => rmSync(work, { recursive: true, force: true }));

const KEY = { '1': 2, '2': 3, '3': 4, '4': 5, '5': 6, '6': 7, '7': 8, '8': 9, '9': 10, '0': 11, A: 30, F: 33 } as const;
const ENTER = 28;

/** Synthetic input_event structs: press + release per key, with SYN reports in between, like a real reader. */
function events(text: string, eventSize: 16 | 24, enter = true): Buffer {
  const list: Array<[number, number, number]> = [];
  for (const ch of text) {
    const code = KEY[ch as keyof typeof KEY];
    list.push([4, 4, 0x7001e], [1, code, 1], [0, 0, 0], [1, code, 0], [0, 0, 0]);
  }
  if (enter) list.push([1, ENTER, 1], [0, 0, 0], [1, ENTER, 0], [0, 0, 0]);
  const buf = Buffer.alloc(list.length * eventSize);
  list.forEach(([type, code, value], i) => {
    const at = i * eventSize;
    buf.writeUInt32LE(1_700_000_000 + i, at); // tv_sec (low word): must not be mistaken for a key
    buf.writeUInt16LE(type, at + eventSize - 8);
    buf.writeUInt16LE(code, at + eventSize - 6);
    buf.writeInt32LE(value, at + eventSize - 4);
  });
  return buf;
}

describe('normaliseBadge', () => {
  const cases: Array<[string, Parameters<typeof normaliseBadge>[1], string | null]> = [
    ['  0012345678 \r', {}, '0012345678'],
    ['12-34 56', {}, '123456'],
    ['123', {}, null],
    ['', {}, null],
    ['1'.repeat(33), {}, null],
    ['12345', { maxLength: 4 }, null],
    ['12', { minLength: 2 }, '12'],
    ['ab:cd:ef:01', { charset: 'alphanumeric' }, 'ABCDEF01'],
    ['ab:cd:ef:01', {}, null],
  ];
  for (const [raw, format, expected] of cases) {
    test(`${JSON.stringify(raw)} ${JSON.stringify(format)} → ${expected}`, () => {
      assert.equal(normaliseBadge(raw, format), expected);
    });
  }
});

describe('stdin badge source', () => {
  test('lines become normalised badges; junk is dropped without logging the number', async () => {
    const input = new PassThrough();
    const warnings: unknown[] = [];
    const logger = { warn: (o: unknown) => warnings.push(o), info() {}, debug() {}, error() {} };
    const source = createBadgeSource('stdin', { input, logger: logger as never });
    const badges: string[] = [];
    source.start((b) => badges.push(b));
    input.write(' 0012345678\r\n\nxx\n99');
    input.write('887766\n');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(badges, ['0012345678', '99887766']);
    assert.equal(warnings.length, 1);
    assert.doesNotMatch(JSON.stringify(warnings), /xx/);
    await source.stop();
  });

  test('EOF is harmless: no error, no more badges, stop() still fine', async () => {
    const input = new PassThrough();
    const source = createBadgeSource('stdin', { input });
    const badges: string[] = [];
    source.start((b) => badges.push(b));
    input.end('55554444\n');
    await new Promise((r) => input.on('end', r));
    assert.deepEqual(badges, ['55554444']);
    await source.stop();
  });

  test('a process whose stdin is /dev/null (as under systemd) keeps running', async (t) => {
    const script = path.join(work, 'stdin-child.mts');
    writeFileSync(
      script,
      `import { createBadgeSource } from ${JSON.stringify(path.join(repoRoot, 'src/hardware/badge/create.ts'))};
createBadgeSource('stdin').start(() => {});
setTimeout(() => { process.stdout.write('still alive'); process.exit(0); }, 300);
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      err += c;
    });
    const code = await new Promise((r) => child.on('exit', r));
    assert.equal(code, 0, err);
    assert.equal(out, 'still alive');
  });

  test('mqtt and none are quiet sources; bad specs are config errors', async () => {
    for (const spec of ['mqtt', 'none']) {
      const source = createBadgeSource(spec);
      source.start(() => assert.fail('no badges expected'));
      await source.stop();
    }
    for (const spec of ['serial', 'evdev:', 'stdin:x']) {
      assert.throws(
        () => createBadgeSource(spec),
        (e: unknown) => e instanceof FacegateError && e.exitCode === 78,
      );
    }
  });
});

describe('evdev badge reader', () => {
  for (const size of [24, 16] as const) {
    test(`input_event parser (${size}-byte structs), split at awkward offsets`, () => {
      const bytes = Buffer.concat([events('0012345678', size), events('4321', size)]);
      for (const splitAt of [1, size - 1, size + 5, 100, bytes.length - 3]) {
        const parser = new InputEventParser(size);
        const reads = [...parser.push(bytes.subarray(0, splitAt)), ...parser.push(bytes.subarray(splitAt))];
        assert.deepEqual(reads, ['0012345678', '4321'], `split at ${splitAt}`);
      }
    });
  }

  test('keypad digits, letters, autorepeat and releases; Enter alone is no read', () => {
    const keys = new KeyAccumulator();
    const pressed = [
      [79, 1], // KP1
      [79, 0],
      [80, 2], // autorepeat: ignored
      [30, 1], // A
      [33, 1], // F
      [28, 1],
      [28, 1],
    ].map(([code, value]) => keys.key(code as number, value as number));
    assert.deepEqual(pressed, [null, null, null, null, null, '1AF', null]);
  });

  test('evtest --grab output lines', () => {
    assert.deepEqual(parseEvtestLine('Event: time 1700000000.000001, type 1 (EV_KEY), code 2 (KEY_1), value 1'), {
      code: 2,
      value: 1,
    });
    assert.equal(parseEvtestLine('Event: time 1700000000.000001, -------------- SYN_REPORT ------------'), null);
    assert.equal(parseEvtestLine('Event: time 1.0, type 4 (EV_MSC), code 4 (MSC_SCAN), value 7001e'), null);
  });

  test('raw reading of an event stream (no grab) delivers normalised badges', async () => {
    const device = path.join(work, 'event-fake');
    writeFileSync(device, Buffer.concat([events('87654321', defaultEventSize()), events('12', defaultEventSize())]));
    const source = createBadgeSource(`evdev:${device}`, { grab: false, logger: { warn() {} } as never });
    const badge = await new Promise<string>((resolve) => source.start(resolve));
    await source.stop();
    assert.equal(badge, '87654321');
  });
});
