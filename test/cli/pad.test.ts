/**
 * `facegate pad` as a user runs it (spawned), with the models imported from ../shared into a temporary models
 * directory (`facegate models import`), on a few shared PAD frames; and `calibratePad` with a scorer of known
 * scores. Only what holds for any correct implementation is asserted (no rate of this data set): the JSON shape,
 * `live` ⇔ score ≥ threshold, exit 0 ⇔ every image live, bad input = exit 2 with one line and nothing scored.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { calibratePad, calibratePadText } from '../../src/cli/commands/calibrate-pad.ts';
import type { RgbImage } from '../../src/runtime/image.ts';
import { FacegateError } from '../../src/util/errors.ts';
import { errorLines, facegate } from '../helpers/cli.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const BONA = ['real_1.jpg', 'real_101.jpg'].map((f) => sharedPath('data', 'pad', 'bona-fide', f));
const ATTACK = ['fake_1.jpg', 'fake_1026.jpg'].map((f) => sharedPath('data', 'pad', 'attack', f));

interface PadJson {
  file: string;
  face: boolean;
  score: number | null;
  live: boolean;
  threshold: number;
}

describe('facegate pad', { skip: skipUnlessShared }, () => {
  let dir = '';
  let env: NodeJS.ProcessEnv;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'facegate-pad-'));
    env = { ...process.env, FACEGATE_MODELS_DIR: path.join(dir, 'models') };
    for (const kind of ['minifasnet', 'yunet']) {
      const r = await facegate(['models', 'import', kind, sharedPath('models', kind)], { env });
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('--json: one object per image, live ⇔ score ≥ threshold, exit 0 only when every image is live', async () => {
    const files = [...BONA, ...ATTACK];
    const r = await facegate(['--json', 'pad', ...files], { env });
    const results = JSON.parse(r.stdout) as PadJson[];
    assert.equal(results.length, files.length);
    for (const [i, one] of results.entries()) {
      assert.deepEqual(Object.keys(one).sort(), ['face', 'file', 'live', 'score', 'threshold']);
      assert.equal(one.file, files[i]);
      assert.equal(one.threshold, 0.5, 'the default threshold');
      if (one.face) {
        assert.ok(typeof one.score === 'number' && one.score >= 0 && one.score <= 1, `score ${one.score}`);
        assert.equal(one.live, one.score >= one.threshold);
      } else {
        assert.equal(one.score, null);
        assert.equal(one.live, false, 'no face is never live');
      }
    }
    assert.equal(r.code, results.every((x) => x.live) ? 0 : 1, r.stderr);
  });

  test('one image gives one object; --threshold 0 makes any face live (exit 0), the human line says so', async () => {
    const one = await facegate(['--json', 'pad', '--threshold', '0', ATTACK[0]!], { env });
    const parsed = JSON.parse(one.stdout) as PadJson;
    assert.ok(!Array.isArray(parsed));
    assert.equal(parsed.threshold, 0);
    assert.equal(parsed.face, true, 'YuNet finds the face of a 256x256 PAD frame');
    assert.equal(parsed.live, true);
    assert.equal(one.code, 0);
    const human = await facegate(['pad', '--threshold', '0.75', ATTACK[0]!], { env });
    const line = human.stdout.trim();
    assert.match(line, /: (live \(P\(real\) [01]\.\d{3} ≥ 0\.75\)|spoof suspected \(P\(real\) [01]\.\d{3} < 0\.75\))$/);
    assert.equal(human.code, line.includes(': live') ? 0 : 1);
  });

  test('bad input: exit 2 with one line and nothing scored (missing file, not an image, bad threshold, no model)', async () => {
    const notImage = path.join(dir, 'notes.jpg');
    await writeFile(notImage, 'not a picture');
    const cases: Array<[string[], NodeJS.ProcessEnv]> = [
      [['pad', BONA[0]!, path.join(dir, 'missing.jpg')], env],
      [['pad', notImage], env],
      [['pad', '--threshold', '1.5', BONA[0]!], env],
      [['pad', BONA[0]!], { ...process.env, FACEGATE_MODELS_DIR: path.join(dir, 'empty') }],
    ];
    for (const [args, caseEnv] of cases) {
      const r = await facegate(args, { env: caseEnv });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', 'nothing scored');
      assert.equal(errorLines(r.stderr).length, 1, r.stderr);
      assert.ok(!r.stderr.includes('    at '), 'no stack trace');
    }
  });
});

describe('calibratePad', () => {
  let dir = '';
  const scores: Record<string, number | null> = {
    'b1.png': 0.9,
    'b2.png': 0.8,
    'b3.png': 0.4,
    'b4.png': null,
    'a1.png': 0.1,
    'a2.png': 0.2,
    'a3.png': 0.6,
    'a4.png': 0.05,
  };
  const blank: RgbImage = { data: new Uint8Array(3), width: 1, height: 1 };
  let current = '';
  const scorer = {
    score: async () => {
      const s = scores[path.basename(current)];
      return { face: s !== null, score: s ?? null };
    },
  };
  const load = async (file: string) => {
    current = file;
    return blank;
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'facegate-calpad-'));
    await mkdir(path.join(dir, 'bona'));
    await mkdir(path.join(dir, 'attack'));
    await mkdir(path.join(dir, 'empty'));
    for (const f of Object.keys(scores)) await writeFile(path.join(dir, f[0] === 'b' ? 'bona' : 'attack', f), '');
    await writeFile(path.join(dir, 'bona', 'README.txt'), 'not an image: skipped by extension');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('APCER/BPCER at the threshold, no face counted as refused, the threshold for a BPCER target, the ROC', async () => {
    const r = await calibratePad(path.join(dir, 'bona'), path.join(dir, 'attack'), {
      threshold: 0.5,
      targetBpcer: 0.25,
      scorer,
      load,
    });
    assert.deepEqual(r.files, { bonaFide: 4, attack: 4 });
    assert.deepEqual(r.noFace, { bonaFide: 1, attack: 0 });
    // At 0.5: attacks accepted a3 (0.6) → 1/4; bona fide refused b3 (0.4) and b4 (no face) → 2/4.
    assert.equal(r.atThreshold.attacksAccepted, 1);
    assert.equal(r.atThreshold.bonaFideRefused, 2);
    // BPCER ≤ 25 %: refuse at most one bona fide (the faceless one) → threshold 0.4, which accepts a3 too.
    assert.equal(r.suggested.threshold, 0.4);
    assert.equal(r.suggested.bonaFideRefused, 1);
    assert.equal(r.suggested.attacksAccepted, 1);
    assert.ok(r.roc.length >= 2);
    for (let i = 1; i < r.roc.length; i++) assert.ok(r.roc[i]!.threshold < r.roc[i - 1]!.threshold, 'descending');
    const text = calibratePadText(r);
    assert.match(text, /at threshold 0\.5: APCER 25\.0 % \(1\/4\), BPCER 50\.0 % \(2\/4\)/);
    assert.match(text, /no face found: 1 bona fide, 0 attack/);
  });

  test('bad folders and targets are one clear error', async () => {
    const run = (bona: string, attack: string, targetBpcer = 0.1) =>
      calibratePad(bona, attack, { threshold: 0.5, targetBpcer, scorer, load });
    const attempts = [
      () => run(path.join(dir, 'nope'), path.join(dir, 'attack')),
      () => run(path.join(dir, 'bona'), path.join(dir, 'empty')),
      () => run(path.join(dir, 'bona'), path.join(dir, 'attack'), 1.5),
    ];
    for (const attempt of attempts) {
      await assert.rejects(attempt, (err: unknown) => err instanceof FacegateError && !err.message.includes('\n'));
    }
  });
});
