/**
 * FaceNet nn4.small2 embed-only benchmark: one 96x96 crop already in memory as a tensor → `encoder.encode` →
 * 128 floats back in JS (preprocessing, forward pass and the device→JS read included; image decoding, detection
 * and alignment excluded). Warm-up runs first (wasm compiles kernels on first use), then `runs` timed encodes.
 *
 * Weights: the import under the models directory when there is one; otherwise seeded synthetic weights of the
 * right shapes, since the timing does not depend on the values (reported as `weights: 'synthetic'`).
 *
 * Run directly: `node --import tsx bench/facenet.ts [--runs 20] [--backend wasm]`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TF from '@tensorflow/tfjs';
import { resolveModelsDir } from '../src/models/paths.ts';
import { facenetModelDir, WEIGHTS_JSON } from '../src/recognition/facenet/binary.ts';
import { createFacenetNn4Small2 } from '../src/recognition/facenet/encoder.ts';
import { FACENET_TENSORS } from '../src/recognition/facenet/shape-table.ts';
import { completeWeightTable, type WeightTable } from '../src/recognition/facenet/weight-table.ts';
import { loadImage } from '../src/runtime/image.ts';
import { type BackendName, initBackend, parseBackend, tf } from '../src/runtime/tf.ts';
import { defaultSharedDir } from '../src/util/shared-dir.ts';
import { median, percentile, round1 } from '../src/util/stats.ts';

export interface FacenetBenchResult {
  embedP50Ms: number;
  embedP95Ms: number;
  backend: string;
  runs: number;
  weights: 'imported' | 'synthetic';
}

export interface FacenetBenchOptions {
  runs?: number;
  warmup?: number;
  backend?: BackendName;
  modelsDir?: string;
  /** A 96x96 (or any size) RGB face crop; default: the exercise's camera_0.jpg from ../shared, else noise. */
  cropFile?: string;
}

/** Seeded values in plausible ranges (variances positive), so the network runs on ordinary, non-denormal floats. */
function syntheticTable(): WeightTable {
  let s = 12345;
  const rand = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
  const values = new Map<string, Float32Array>();
  for (const t of FACENET_TENSORS) {
    const v = new Float32Array(t.size);
    const fanIn = t.shape.length > 1 ? t.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    const isVariance = t.name.endsWith('_v') || (t.name.includes('bn') && t.name.endsWith('_w'));
    for (let i = 0; i < v.length; i++) v[i] = isVariance ? 0.5 + rand() : (rand() * 2 - 1) * Math.sqrt(6 / fanIn);
    values.set(t.name, v);
  }
  return completeWeightTable('synthetic (benchmark)', values);
}

async function loadCrop(file: string | undefined): Promise<TF.Tensor3D> {
  const defaultFile = path.join(defaultSharedDir(), 'data', 'faces', 'happy-house', 'camera_0.jpg');
  const chosen = file ?? (existsSync(defaultFile) ? defaultFile : undefined);
  if (!chosen) return tf.randomUniform([96, 96, 3], 0, 255, 'float32', 1) as TF.Tensor3D;
  const img = await loadImage(chosen);
  return tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
}

export async function benchFacenet(opts: FacenetBenchOptions = {}): Promise<FacenetBenchResult> {
  const runs = opts.runs ?? 20;
  const warmup = opts.warmup ?? 3;
  const backend = await initBackend(opts.backend ?? 'wasm');
  const modelsDir = resolveModelsDir(opts.modelsDir);
  const imported = existsSync(path.join(facenetModelDir(modelsDir), WEIGHTS_JSON));
  const encoder = createFacenetNn4Small2({ modelsDir, weights: imported ? undefined : async () => syntheticTable() });
  const crop = await loadCrop(opts.cropFile);
  try {
    await encoder.load();
    for (let i = 0; i < warmup; i++) await encoder.encode(crop);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await encoder.encode(crop);
      times.push(performance.now() - t0);
    }
    return {
      embedP50Ms: round1(median(times)),
      embedP95Ms: round1(percentile(times, 95)),
      backend,
      runs,
      weights: imported ? 'imported' : 'synthetic',
    };
  } finally {
    crop.dispose();
    encoder.dispose();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const runs = arg('--runs');
  const backend = arg('--backend');
  const result = await benchFacenet({
    runs: runs ? Number(runs) : undefined,
    backend: backend ? parseBackend(backend) : undefined,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
