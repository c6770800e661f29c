/**
 * FaceNet weights: the shape table against ../shared's README, the CSV loader on the 219 real files (+5 generated),
 * its all-or-nothing failures, and the import to binary with its sha256 manifest.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  encodeBinary,
  facenetModelDir,
  loadFacenetBinary,
  WEIGHTS_BIN,
  WEIGHTS_JSON,
} from '../../../src/recognition/facenet/binary.ts';
import { loadCsvWeights, parseCsvValues } from '../../../src/recognition/facenet/csv-loader.ts';
import { facenetModelKind } from '../../../src/recognition/facenet/model-kind.ts';
import { FACENET_TENSORS, FACENET_TOTAL_VALUES } from '../../../src/recognition/facenet/shape-table.ts';
import type { WeightTable } from '../../../src/recognition/facenet/weight-table.ts';
import { FacegateError } from '../../../src/util/errors.ts';
import {
  MISSING_REAL_TENSORS,
  makeFacenetCsvDir,
  realFacenetWeightsDir,
  type TempWeights,
} from '../../helpers/facenet-weights.ts';
import { sharedPath, skipUnlessShared } from '../../helpers/shared.ts';

/** Asserts `fn` rejects with a FacegateError whose single-line message matches `pattern`. */
async function rejectsWith(fn: () => Promise<unknown>, pattern: RegExp): Promise<string> {
  let message = '';
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof FacegateError, `expected a FacegateError, got ${String(err)}`);
    message = err.message;
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'error message is one line');
    return true;
  });
  return message;
}

describe('FaceNet shape table', () => {
  test('has 224 tensors and agrees with the README table in ../shared, name by name', {
    skip: skipUnlessShared,
  }, async () => {
    const readme = await readFile(sharedPath('models', 'facenet-nn4small2', 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| (\S+)\.csv \| \[([\d, ]+)\][^|]*\| (\d+) \| (yes|NO)/gm)];
    assert.equal(rows.length, 224);
    const fromReadme = new Map(
      rows.map((m) => [m[1], { shape: (m[2] as string).split(', ').map(Number), size: Number(m[3]), here: m[4] }]),
    );
    assert.equal(FACENET_TENSORS.length, 224);
    for (const t of FACENET_TENSORS) {
      const r = fromReadme.get(t.name);
      assert.ok(r, `${t.name} is in the README table`);
      assert.deepEqual([...t.shape], r.shape, t.name);
      assert.equal(t.size, r.size, t.name);
    }
    const notHere = rows.filter((m) => m[4] === 'NO').map((m) => m[1]);
    assert.deepEqual(notHere.sort(), [...MISSING_REAL_TENSORS].sort());
    assert.equal(
      FACENET_TOTAL_VALUES,
      [...fromReadme.values()].reduce((a, r) => a + r.size, 0),
    );
  });
});

describe('parseCsvValues', () => {
  test('reads the exercise format: one line, CRLF-terminated', () => {
    assert.deepEqual([...parseCsvValues('0.5,-1.25,3e-2\r\n', 'x.csv')], [0.5, -1.25, Math.fround(0.03)]);
  });
  test('accepts LF, no terminator, and values split over lines', () => {
    assert.deepEqual([...parseCsvValues('1,2\n3', 'x.csv')], [1, 2, 3]);
    assert.deepEqual([...parseCsvValues('1,2\r\n3,4\r\n', 'x.csv')], [1, 2, 3, 4]);
  });
  test('an empty file is zero values (the count check then names it)', () => {
    assert.equal(parseCsvValues('\r\n', 'x.csv').length, 0);
  });
  test('refuses empty fields and non-numbers instead of reading them as 0 or NaN', () => {
    assert.throws(() => parseCsvValues('1,,2', 'x.csv'), /x\.csv: value 2 is not a finite number/);
    assert.throws(() => parseCsvValues('1,abc', 'x.csv'), /x\.csv: value 2 is not a finite number \("abc"\)/);
    assert.throws(() => parseCsvValues('1,nan', 'x.csv'), /value 2/);
  });
});

describe('loadCsvWeights on the real files', { skip: skipUnlessShared }, () => {
  let weights: TempWeights;
  let table: WeightTable;

  before(async () => {
    weights = await makeFacenetCsvDir();
    table = await loadCsvWeights(weights.dir);
  });
  after(() => weights?.cleanup());

  test('219 real files (and the 2 strays) are linked, exactly the 5 unobtainable ones generated', () => {
    assert.deepEqual(
      weights.generated,
      FACENET_TENSORS.map((t) => t.name).filter((n) => MISSING_REAL_TENSORS.includes(n as never)),
    );
    assert.equal(weights.linked, 221);
  });

  test('loads all 224 tensors with their exact value counts, ignoring the strays', () => {
    assert.equal(table.values.size, 224);
    for (const t of FACENET_TENSORS) assert.equal(table.values.get(t.name)?.length, t.size, t.name);
    assert.equal(table.values.has('inception_5a_3x3_conv2_m'), false);
  });

  test('values are the files’ numbers (first and last of conv1_b, checked against the raw text)', async () => {
    const raw = (await readFile(path.join(realFacenetWeightsDir, 'conv1_b.csv'), 'utf8')).trimEnd().split(',');
    const v = table.values.get('conv1_b') as Float32Array;
    assert.equal(v[0], Math.fround(Number(raw[0])));
    assert.equal(v[63], Math.fround(Number(raw[63])));
  });

  test('the real directory alone fails naming the first missing file in table order', async () => {
    const msg = await rejectsWith(
      () => loadCsvWeights(realFacenetWeightsDir),
      /missing inception_3c_3x3_conv2_w\.csv \(and 4 more\)/,
    );
    assert.match(msg, /all 224 files are required/);
  });
});

describe('loadCsvWeights failures', { skip: skipUnlessShared }, () => {
  const dirs: TempWeights[] = [];
  after(async () => {
    for (const d of dirs) await d.cleanup();
  });
  const make = async (opts: Parameters<typeof makeFacenetCsvDir>[0]) => {
    const d = await makeFacenetCsvDir(opts);
    dirs.push(d);
    return d.dir;
  };

  test('a missing file is named (the first in table order when several are missing)', async () => {
    const dir = await make({ omit: ['dense_b', 'bn1_v'] });
    await rejectsWith(() => loadCsvWeights(dir), /missing bn1_v\.csv \(and 1 more\)/);
  });

  test('a wrong value count names the file, the counts and the shape', async () => {
    const dir = await make({ override: { inception_4a_pool_bn_m: `${new Array(127).fill('0.1').join(',')}\r\n` } });
    await rejectsWith(
      () => loadCsvWeights(dir),
      /inception_4a_pool_bn_m\.csv has 127 values, expected 128 for shape \[128\]/,
    );
  });

  test('a non-numeric value names the file and the position', async () => {
    const dir = await make({ override: { conv2_b: `${new Array(63).fill('0.1').join(',')},oops\r\n` } });
    await rejectsWith(() => loadCsvWeights(dir), /conv2_b\.csv: value 64 is not a finite number/);
  });

  test('a path that is not a directory', async () => {
    await rejectsWith(() => loadCsvWeights(path.join(os.tmpdir(), 'no-such-facenet-dir')), /is not a directory/);
  });
});

describe('import to binary', { skip: skipUnlessShared }, () => {
  let weights: TempWeights;
  let csvTable: WeightTable;
  let modelsDir: string;

  before(async () => {
    weights = await makeFacenetCsvDir();
    csvTable = await loadCsvWeights(weights.dir);
    modelsDir = await mkdtemp(path.join(os.tmpdir(), 'facegate-facenet-models-'));
  });
  after(async () => {
    await weights?.cleanup();
    if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
  });

  test('before import: loading says how to import, and `models list` says missing', async () => {
    await rejectsWith(
      () => loadFacenetBinary(modelsDir),
      /not found in .*facenet-nn4small2: run "facegate models import facenet <dir>"/,
    );
    const [row] = await facenetModelKind.list(modelsDir);
    assert.equal(row?.status, 'missing');
  });

  test('a failed import (bad source) leaves nothing behind', async () => {
    await assert.rejects(
      () => facenetModelKind.importFrom?.(realFacenetWeightsDir, modelsDir) ?? Promise.resolve(),
      /missing/,
    );
    const [row] = await facenetModelKind.list(modelsDir);
    assert.equal(row?.status, 'missing');
  });

  test('imports into one float32 .bin + JSON table + sha256 manifest, and loads back bit-identical', async () => {
    const summary = await facenetModelKind.importFrom?.(weights.dir, modelsDir);
    assert.match(summary ?? '', /imported 224 FaceNet tensors \(3743280 values, 15\.0 MB\)/);
    const dir = facenetModelDir(modelsDir);
    const manifest = JSON.parse(await readFile(path.join(dir, 'sha256.json'), 'utf8')) as Record<string, string>;
    assert.deepEqual(Object.keys(manifest).sort(), [WEIGHTS_BIN, WEIGHTS_JSON]);
    assert.equal((await readFile(path.join(dir, WEIGHTS_BIN))).byteLength, FACENET_TOTAL_VALUES * 4);
    const loaded = await loadFacenetBinary(modelsDir);
    for (const t of FACENET_TENSORS) assert.deepEqual(loaded.values.get(t.name), csvTable.values.get(t.name), t.name);
    const [row] = await facenetModelKind.list(modelsDir);
    assert.equal(row?.status, 'ready');
  });

  test('the JSON table records name, shape, byte offset and size in table order', () => {
    const { json, bin } = encodeBinary(csvTable);
    assert.equal(json.tensors[0]?.name, 'conv1_w');
    assert.deepEqual(json.tensors[0]?.shape, [64, 3, 7, 7]);
    assert.equal(json.tensors[1]?.offset, 9408 * 4);
    assert.equal(bin.readFloatLE(9408 * 4), csvTable.values.get('conv1_b')?.[0]);
  });

  test('re-importing replaces the previous import cleanly', async () => {
    await facenetModelKind.importFrom?.(weights.dir, modelsDir);
    const loaded = await loadFacenetBinary(modelsDir);
    assert.equal(loaded.values.size, 224);
  });

  test('a modified weights.bin is refused by its sha256', async () => {
    const file = path.join(facenetModelDir(modelsDir), WEIGHTS_BIN);
    const original = await readFile(file);
    const bad = Buffer.from(original);
    bad[100] = (bad[100] as number) ^ 0xff;
    await writeFile(file, bad);
    try {
      await rejectsWith(() => loadFacenetBinary(modelsDir), /weights\.bin differs from its recorded sha256/);
      const [row] = await facenetModelKind.list(modelsDir);
      assert.equal(row?.status, 'invalid');
    } finally {
      await writeFile(file, original);
    }
    assert.equal((await loadFacenetBinary(modelsDir)).values.size, 224);
  });
});
