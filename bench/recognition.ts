/**
 * `facegate bench recognition`: one 640x480 frame with one face (built from the shared bbt photos) through our
 * pipeline — detect, landmarks + aligned crop, encode, match — and through face-api's stock
 * `detectAllFaces().withFaceLandmarks().withFaceDescriptors()` in the same run; 1:N identify over synthetic
 * databases of 1k/10k/100k identities; RSS after model load.
 */
import path from 'node:path';
import sharp from 'sharp';
import { loadFaceApiNets } from '../src/recognition/face-api-models.ts';
import { EncodingIndex } from '../src/recognition/matching.ts';
import { FacePipeline } from '../src/recognition/pipeline.ts';
import type { RgbImage } from '../src/runtime/image.ts';
import { type BackendName, tf } from '../src/runtime/tf.ts';
import { FacegateError } from '../src/util/errors.ts';
import { median, percentile, round1 } from '../src/util/stats.ts';

export interface RecognitionBenchOptions {
  sharedDir: string;
  backend?: BackendName;
  runs?: number;
  warmup?: number;
  log?: (line: string) => void;
}

interface Stage {
  p50Ms: number;
  p95Ms: number;
}

export interface RecognitionBenchResult {
  frame: Stage & { detect: Stage; landmarks: Stage; encode: Stage; match: Stage; runs: number; size: string };
  /** face-api's stock call exactly as documented, `detectAllFaces(input)` with its default detector (SSD). */
  stock: Stage & { detector: string };
  /** The same stock call with the detector we use (TinyFaceDetector 416): a like-for-like comparison. */
  stockSameDetector: Stage & { detector: string };
  ratioToStock: number;
  ratioToStockSameDetector: number;
  identify: Record<'1000' | '10000' | '100000', number>;
  rssMB: number;
  backend: string;
}

const stage = (xs: number[]): Stage => ({ p50Ms: round1(median(xs)), p95Ms: round1(percentile(xs, 95)) });

/** A kiosk-like frame: grey background, one face photo (with its own margin) in the middle, about 200 px wide. */
async function buildFrame(sharedDir: string): Promise<RgbImage> {
  const face = path.join(sharedDir, 'data', 'faces', 'bbt', 'penny', 'penny5.png');
  const faceBytes = await sharp(face)
    .resize(200, 200)
    .extend({ top: 40, bottom: 40, left: 40, right: 40, background: '#808080' })
    .png()
    .toBuffer()
    .catch(() => {
      throw new FacegateError(`bench needs ${face} (the shared test data)`);
    });
  const { data, info } = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#8a8a8a' } })
    .composite([{ input: faceBytes, left: 180, top: 100 }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

function randomVectors(count: number, dim: number, seed: number): Float32Array[] {
  let s = seed >>> 0;
  const rand = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  // Spread like real descriptors: different people sit ~0.6-1.0 apart.
  return Array.from({ length: count }, () => Float32Array.from({ length: dim }, () => rand() * 0.25));
}

function benchIdentify(count: number, queries: Float32Array[]): number {
  const index = new EncodingIndex(
    128,
    randomVectors(count, 128, count).map((vector, i) => ({ identityId: `id${i}`, vector })),
  );
  const times: number[] = [];
  for (const q of queries) {
    const t0 = performance.now();
    index.nearest(q);
    times.push(performance.now() - t0);
  }
  return round1(median(times) * 100) / 100;
}

export async function benchRecognition(opts: RecognitionBenchOptions): Promise<RecognitionBenchResult> {
  const runs = Math.max(20, opts.runs ?? 20);
  const warmup = opts.warmup ?? 3;
  const log = opts.log ?? (() => {});
  const pipeline = await FacePipeline.create({ backend: opts.backend ?? 'auto' });
  const rssMB = Math.round(process.memoryUsage().rss / 2 ** 20);
  const frame = await buildFrame(opts.sharedDir);
  const gallery = new EncodingIndex(
    128,
    randomVectors(40, 128, 1).map((vector, i) => ({ identityId: `p${i % 8}`, vector })),
  );

  const totals: number[] = [];
  const detect: number[] = [];
  const landmarks: number[] = [];
  const encode: number[] = [];
  const match: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    const result = await pipeline.analyse(frame);
    const face = result.faces[0];
    if (!face || face.padded) throw new FacegateError('bench frame: face not found on the first detection pass');
    const m0 = performance.now();
    gallery.nearest(face.descriptor);
    const t1 = performance.now();
    if (i < warmup) continue;
    totals.push(t1 - t0);
    detect.push(result.timings.detectMs);
    landmarks.push(result.timings.landmarksMs);
    encode.push(result.timings.encodeMs);
    match.push(t1 - m0);
  }
  log(`ours: total p50 ${round1(median(totals))} ms`);

  const api = await loadFaceApiNets(['tinyFaceDetector', 'ssdMobilenetv1', 'faceLandmark68Net', 'faceRecognitionNet']);
  const input = tf.tensor3d(frame.data, [frame.height, frame.width, 3], 'int32');
  const stockRun = async (options: unknown): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      const t0 = performance.now();
      const found = await api
        .detectAllFaces(input as never, options as never)
        .withFaceLandmarks()
        .withFaceDescriptors();
      const t1 = performance.now();
      if (found.length === 0) throw new FacegateError('bench frame: stock face-api found no face');
      if (i >= warmup) times.push(t1 - t0);
    }
    return times;
  };
  const stockTiny = await stockRun(new api.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: 0.5 }));
  log(`stock (tiny): p50 ${round1(median(stockTiny))} ms`);
  // What `detectAllFaces(input)` uses when given no options.
  const stockSsd = await stockRun(new api.SsdMobilenetv1Options());
  log(`stock (ssd, its default): p50 ${round1(median(stockSsd))} ms`);
  input.dispose();

  const queries = randomVectors(20, 128, 99);
  const identify = {
    '1000': benchIdentify(1_000, queries),
    '10000': benchIdentify(10_000, queries),
    '100000': benchIdentify(100_000, queries),
  };
  log(`identify 1k/10k/100k: ${identify['1000']} / ${identify['10000']} / ${identify['100000']} ms`);
  pipeline.dispose();
  return {
    frame: {
      ...stage(totals),
      detect: stage(detect),
      landmarks: stage(landmarks),
      encode: stage(encode),
      match: stage(match),
      runs,
      size: '640x480',
    },
    stock: { ...stage(stockSsd), detector: 'ssd-mobilenetv1 (default)' },
    stockSameDetector: { ...stage(stockTiny), detector: 'tiny 416' },
    ratioToStock: Math.round((median(totals) / median(stockSsd)) * 100) / 100,
    ratioToStockSameDetector: Math.round((median(totals) / median(stockTiny)) * 100) / 100,
    identify,
    rssMB,
    backend: pipeline.backend,
  };
}
