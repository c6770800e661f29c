/**
 * FaceNet weight directories for tests, always in fresh temp dirs (never in the repository or ../shared):
 * the 219 real CSV files from ../shared are symlinked (with the two strays, which the loader must ignore), and
 * the 5 files that could not be obtained are generated, seeded, in the same format (one line, CRLF).
 * With generated tensors the network's decisions mean nothing; the real files prove the parser and shape table.
 */
import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { importFacenetWeights } from '../../src/recognition/facenet/binary.ts';
import { csvFileName } from '../../src/recognition/facenet/csv-loader.ts';
import { FACENET_TENSORS, type TensorSpec } from '../../src/recognition/facenet/shape-table.ts';
import { seededRandom } from '../../src/util/random.ts';
import { sharedPath } from './shared.ts';

export const realFacenetWeightsDir = sharedPath('models', 'facenet-nn4small2', 'weights');

/** The five tensors too large to obtain offline (README of ../shared/models/facenet-nn4small2). */
export const MISSING_REAL_TENSORS = [
  'inception_3c_3x3_conv2_w',
  'inception_4e_3x3_conv2_w',
  'inception_5a_3x3_conv2_w',
  'inception_5a_1x1_conv_w',
  'inception_5b_3x3_conv2_w',
] as const;

/** Uniform He-style init for a conv [out, in, kh, kw] so activations keep a sane scale through the real BNs. */
export function generatedCsv(spec: TensorSpec, seed: number): string {
  const rand = seededRandom(seed);
  const fanIn = spec.shape.slice(1).reduce((a, b) => a * b, 1);
  const limit = Math.sqrt(6 / fanIn);
  const values: string[] = new Array(spec.size);
  for (let i = 0; i < spec.size; i++) values[i] = ((rand() * 2 - 1) * limit).toPrecision(9);
  return `${values.join(',')}\r\n`;
}

export interface TempWeights {
  dir: string;
  generated: string[];
  linked: number;
  cleanup(): Promise<void>;
}

/**
 * A complete 224-tensor CSV directory: real files linked, missing ones generated with `seed`.
 * `omit` leaves tensors out entirely and `override` replaces a file's text, for the failure tests.
 */
export async function makeFacenetCsvDir(
  opts: { seed?: number; omit?: string[]; override?: Record<string, string> } = {},
): Promise<TempWeights> {
  const seed = opts.seed ?? 20240607;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-facenet-csv-'));
  const omit = new Set(opts.omit ?? []);
  const override = opts.override ?? {};
  const real = new Set(await readdir(realFacenetWeightsDir));
  let linked = 0;
  for (const file of real) {
    const stem = file.replace(/\.csv$/, '');
    if (omit.has(stem) || override[stem] !== undefined) continue;
    await symlink(path.join(realFacenetWeightsDir, file), path.join(dir, file));
    linked++;
  }
  const generated: string[] = [];
  for (const [i, spec] of FACENET_TENSORS.entries()) {
    const file = csvFileName(spec.name);
    if (omit.has(spec.name)) continue;
    const text = override[spec.name];
    if (text !== undefined) await writeFile(path.join(dir, file), text);
    else if (!real.has(file)) {
      await writeFile(path.join(dir, file), generatedCsv(spec, seed + i));
      generated.push(spec.name);
    }
  }
  return { dir, generated, linked, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A temp models directory with the weights imported (CSV → binary + manifest), as `facegate models import` does. */
export async function makeImportedModelsDir(seed?: number): Promise<{ modelsDir: string; cleanup(): Promise<void> }> {
  const csv = await makeFacenetCsvDir({ seed });
  const modelsDir = await mkdtemp(path.join(os.tmpdir(), 'facegate-facenet-models-'));
  try {
    await importFacenetWeights(csv.dir, modelsDir);
  } finally {
    await csv.cleanup();
  }
  return { modelsDir, cleanup: () => rm(modelsDir, { recursive: true, force: true }) };
}
