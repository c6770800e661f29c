/**
 * Mutation check for the exercise's constants (issue 15): in a scratch copy of the working tree, change one
 * constant at a time and run the style-transfer or FaceNet tests; every change must turn them red. Not part of
 * `npm test` (it runs each group once per mutation: ~20-30 minutes on a 2-core box).
 *
 *   node --import tsx test/mutation/run.ts [--all] [--only <id>,<id>] [--keep]
 *
 * `--all` runs both groups for every mutation (default: the group of the mutation's area). Prints a markdown table
 * (mutation → red/green → the tests that failed) for test/README.md; exits 1 if the unmutated copy is red or any
 * mutation stays green.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const STYLE = [
  'test/nst/exercise.test.ts',
  'test/nst/gatys/gatys.test.ts',
  'test/nst/gatys/split.test.ts',
  'test/nst/gatys/mat5-scipy.test.ts',
  'test/display/portraits.test.ts',
];
const FACENET = [
  'test/recognition/facenet/align.test.ts',
  'test/store/face-db.test.ts',
  'test/recognition/matching.test.ts',
  'test/recognition/facenet/network.test.ts',
  'test/recognition/facenet/reference.test.ts',
  'test/recognition/facenet/exercise.test.ts',
];

interface Mutation {
  id: string;
  constant: string;
  file: string;
  from: string;
  to: string;
  group: 'style' | 'facenet';
}

const D = 'src/config/gatys-defaults.ts';
const style = (id: string, constant: string, file: string, from: string, to: string): Mutation => ({
  id,
  constant,
  file,
  from,
  to,
  group: 'style',
});
const facenet = (id: string, constant: string, file: string, from: string, to: string): Mutation => ({
  id,
  constant,
  file,
  from,
  to,
  group: 'facenet',
});

export const MUTATIONS: Mutation[] = [
  style('means-bgr', 'VGG means in RGB order', D, '[123.68, 116.779, 103.939]', '[103.939, 116.779, 123.68]'),
  style('mean-r', 'VGG mean R 123.68', D, '[123.68, 116.779', '[120, 116.779'),
  style('content-layer', 'content layer conv4_2', D, "CONTENT_LAYER = 'conv4_2'", "CONTENT_LAYER = 'conv4_1'"),
  style('style-layer', 'style layer conv3_1', D, "['conv3_1', 0.2]", "['conv3_2', 0.2]"),
  style('style-w1', 'style weight conv1_1 0.2', D, "['conv1_1', 0.2]", "['conv1_1', 0.3]"),
  style('style-w5', 'style weight conv5_1 0.2', D, "['conv5_1', 0.2]", "['conv5_1', 0.1]"),
  style('noise-range', 'noise range [-20, 20]', D, 'NOISE_RANGE = 20', 'NOISE_RANGE = 10'),
  style('noise-ratio', 'noise ratio 0.6', D, 'noiseRatio: 0.6', 'noiseRatio: 0.5'),
  style('lr', 'Adam learning rate 2.0', D, 'learningRate: 2.0', 'learningRate: 1.0'),
  style('adam-b1', 'Adam beta1 0.9', D, 'beta1: 0.9', 'beta1: 0.8'),
  style('adam-b2', 'Adam beta2 0.999', D, 'beta2: 0.999', 'beta2: 0.99'),
  style('adam-eps', 'Adam epsilon 1e-8', D, 'epsilon: 1e-8', 'epsilon: 1e-4'),
  style('iterations', 'iterations 200', D, 'iterations: 200', 'iterations: 100'),
  style('alpha', 'alpha 10 (run)', D, '  alpha: 10,\n  beta: 80', '  alpha: 20,\n  beta: 80'),
  style('beta', 'beta 80 (run)', D, 'beta: 80', 'beta: 40'),
  style('total-cost-beta', "total_cost's own default beta 40", D, 'alpha: 10, beta: 40', 'alpha: 10, beta: 80'),
  style('size', 'size 400x300', D, '{ width: 400, height: 300 }', '{ width: 300, height: 300 }'),
  style('truncate', "truncation as astype('uint8')", 'src/nst/gatys/gatys.ts', '.floor()', '.round()'),
  style(
    'cover-content',
    'content cover-cropped',
    'src/nst/engine.ts',
    "resizeRgb(content, size, 'cover')",
    'resizeRgb(content, size)',
  ),
  style(
    'cover-style',
    'style cover-cropped',
    'src/nst/engine.ts',
    "resizeRgb(options.styleImage, size, 'cover')",
    'resizeRgb(options.styleImage, size)',
  ),
  style(
    'unroll',
    'unroll (n_C, n_H·n_W) with the transpose',
    'src/nst/gatys/gatys.ts',
    'return tf.reshape(a, [nH * nW, nC]);',
    'return tf.transpose(tf.reshape(a, [nC, nH * nW])) as Tensor2D;',
  ),
  style(
    'avg-pool',
    'average pooling',
    'src/nst/gatys/split/vgg-half.ts',
    "x = tf.avgPool(x, 2, 2, 'same');",
    "x = tf.maxPool(x, 2, 2, 'same');",
  ),
  facenet(
    'tie',
    'match iff distance < threshold (verify and who_is_it)',
    'src/recognition/verification.ts',
    'return distance < threshold;',
    'return distance <= threshold;',
  ),
  facenet(
    'threshold',
    'FaceNet threshold 0.7',
    'src/recognition/facenet/encoder.ts',
    'FACENET_THRESHOLD = 0.7',
    'FACENET_THRESHOLD = 0.75',
  ),
  facenet(
    'channels',
    'FaceNet input RGB',
    'src/recognition/facenet/encoder.ts',
    "INPUT_CHANNEL_ORDER: 'rgb' | 'bgr' = 'rgb'",
    "INPUT_CHANNEL_ORDER: 'rgb' | 'bgr' = 'bgr'",
  ),
  facenet(
    'align-indices',
    'INNER_EYES_AND_BOTTOM_LIP [39, 42, 57]',
    'src/recognition/align-openface.ts',
    '[39, 42, 57] as const',
    '[36, 45, 33] as const',
  ),
  facenet(
    'align-size',
    'aligned crop 96x96',
    'src/recognition/align-openface.ts',
    'OPENFACE_IMG_DIM = 96',
    'OPENFACE_IMG_DIM = 112',
  ),
  facenet(
    'template-39',
    'OpenFace TEMPLATE[39]',
    'src/recognition/align-openface.ts',
    '[0.403718978315, 0.33867711083]',
    '[0.41, 0.33867711083]',
  ),
  facenet(
    'template-max-y',
    'OpenFace TEMPLATE y max (point 8)',
    'src/recognition/align-openface.ts',
    '1.06080371126',
    '1.05',
  ),
  facenet(
    'align-method',
    'FaceNet encoder uses OpenFace alignment',
    'src/recognition/facenet/encoder.ts',
    "readonly alignment = 'openface';",
    "readonly alignment = 'dlib';",
  ),
];

interface Outcome {
  red: boolean;
  failed: string[];
  skipped: number;
}

function copyTree(dest: string): void {
  const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repo,
    encoding: 'utf8',
  }).stdout.split('\0');
  for (const f of files.filter(Boolean)) {
    mkdirSync(path.dirname(path.join(dest, f)), { recursive: true });
    cpSync(path.join(repo, f), path.join(dest, f), { dereference: false });
  }
  symlinkSync(path.join(repo, 'node_modules'), path.join(dest, 'node_modules'));
}

function runTests(dir: string, files: string[]): Outcome {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, FACEGATE_SHARED: process.env.FACEGATE_SHARED ?? path.resolve(repo, '..', 'shared') },
    maxBuffer: 256 * 1024 * 1024,
    timeout: 30 * 60_000,
  });
  const lines = `${r.stdout}`.split('\n');
  // TAP: failed leaf tests are `not ok N - name` at any depth; keep the innermost (the test names).
  const failed = [
    ...new Set(lines.filter((l) => /^\s*not ok \d+ - /.test(l)).map((l) => l.replace(/^\s*not ok \d+ - /, ''))),
  ];
  const leaves = failed.filter((name) => !files.some((f) => name.endsWith(f)) && !/subtests? failed/.test(name));
  const skipped = Number(/^# skipped (\d+)/m.exec(r.stdout)?.[1] ?? 0);
  return { red: r.status !== 0, failed: leaves.length ? leaves : failed, skipped };
}

function main(): void {
  const args = process.argv.slice(2);
  const all = args.includes('--all');
  const keep = args.includes('--keep');
  const only = args.includes('--only') ? new Set((args[args.indexOf('--only') + 1] ?? '').split(',')) : null;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'facegate-mut-'));
  copyTree(scratch);
  const chosen = MUTATIONS.filter((m) => !only || only.has(m.id));
  const groups = (m: Mutation) => (all ? [...STYLE, ...FACENET] : m.group === 'style' ? STYLE : FACENET);
  let ok = true;
  try {
    for (const group of [...new Set(chosen.map((m) => m.group))]) {
      const base = runTests(scratch, group === 'style' ? STYLE : FACENET);
      console.error(`baseline ${group}: ${base.red ? `RED (${base.failed.join('; ')})` : 'green'}`);
      if (base.red) ok = false;
    }
    console.log('| mutation | constant | result | failing tests |');
    console.log('|---|---|---|---|');
    for (const m of chosen) {
      const file = path.join(scratch, m.file);
      const original = readFileSync(file, 'utf8');
      const count = original.split(m.from).length - 1;
      if (count !== 1) throw new Error(`${m.id}: "${m.from}" occurs ${count} times in ${m.file}`);
      writeFileSync(file, original.replace(m.from, m.to));
      const started = Date.now();
      const out = runTests(scratch, groups(m));
      writeFileSync(file, original);
      if (!out.red) ok = false;
      console.error(`${m.id}: ${out.red ? 'red' : 'GREEN'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      console.log(
        `| \`${m.id}\` ${m.file}: \`${m.from.replace(/\n\s*/g, ' ')}\` → \`${m.to.replace(/\n\s*/g, ' ')}\` | ${m.constant} | ${out.red ? 'red' : '**GREEN**'} | ${out.failed.join('; ')} |`,
      );
    }
  } finally {
    if (!keep) rmSync(scratch, { recursive: true, force: true });
    else console.error(`scratch copy kept at ${scratch}`);
  }
  process.exitCode = ok ? 0 : 1;
}

main();
