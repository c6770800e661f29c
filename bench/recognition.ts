/**
 * `facegate bench recognition`: one 640x480 frame with one face (built from the shared bbt photos) through the
 * default pipeline (YuNet 320 + five-point warp + reid-0095, weights from `<shared>/models` or `--models-dir`) and
 * the face-api pipeline — detect, landmarks/alignment, encode, match — in the same run, and through face-api's stock
 * `detectAllFaces().withFaceLandmarks().withFaceDescriptors()` in the same run; 1:N identify over synthetic
 * databases of 1k/10k/100k identities; RSS after model load.
 */
import path from 'node:path';
import sharp from 'sharp';
import { DEFAULT_LIVE_TINY_INPUT_SIZE } from '../src/inference/protocol.ts';
import { loadFaceApiNets } from '../src/recognition/face-api-models.ts';
import type { FaceAnalysisPipeline } from '../src/recognition/face-types.ts';
import { EncodingIndex } from '../src/recognition/matching.ts';
import { type AnalyseOptions, FacePipeline } from '../src/recognition/pipeline.ts';
import { YunetPipeline } from '../src/recognition/yunet-pipeline.ts';
import type { RgbImage } from '../src/runtime/image.ts';
import { type BackendName, tf } from '../src/runtime/tf.ts';
import { FacegateError } from '../src/util/errors.ts';
import { median, percentile, round1 } from '../src/util/stats.ts';

export interface RecognitionBenchOptions {
  sharedDir: string;
  backend?: BackendName;
  runs?: number;
  warmup?: number;
  /** Where YuNet/reid-0095 are (default `<shared>/models`). */
  modelsDir?: string;
  log?: (line: string) => void;
}

interface Stage {
  p50Ms: number;
  p95Ms: number;
}

export interface RecognitionBenchResult {
  /** The default pipeline (issue 17) on the same frame: YuNet at 320, five-point warp, reid-0095, cosine match. */
  yunet: Stage & { detect: Stage; align: Stage; encode: Stage; match: Stage; inputLongSide: number };
  /** yunet p50 / face-api live-setting p50, timed in the same process, alternating blocks. */
  ratioYunetToFaceApi: number;
  /** The kiosk frame as the daemon analyses it (live detector input, no padded retries). */
  frame: Stage & {
    detect: Stage;
    landmarks: Stage;
    encode: Stage;
    match: Stage;
    runs: number;
    size: string;
    tinyInputSize: number;
  };
  /** The same frame with the photo setting (detector input 416), compared with the stock call on that detector. */
  photoSetting: Stage & { tinyInputSize: number };
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
export async function buildFrame(sharedDir: string): Promise<RgbImage> {
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
  return Math.round(median(times) * 100) / 100;
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

  const yunet = await YunetPipeline.create({
    backend: opts.backend ?? 'auto',
    modelsDir: opts.modelsDir ?? path.join(opts.sharedDir, 'models'),
  });
  const gallery256 = new EncodingIndex(
    256,
    randomVectors(40, 256, 2).map((vector, i) => ({ identityId: `p${i % 8}`, vector })),
  );

  /** A pipeline on the frame, timed per stage, with the detector input the caller chooses. */
  const timeOurs = async (analyseOptions: AnalyseOptions, p: FaceAnalysisPipeline = pipeline) => {
    const index = p === pipeline ? gallery : gallery256;
    const t = {
      totals: [] as number[],
      detect: [] as number[],
      landmarks: [] as number[],
      encode: [] as number[],
      match: [] as number[],
    };
    for (let i = 0; i < warmup + runs; i++) {
      const t0 = performance.now();
      const result = await p.analyse(frame, analyseOptions);
      const face = result.faces[0];
      if (!face || face.padded) throw new FacegateError('bench frame: face not found on the first detection pass');
      const m0 = performance.now();
      index.nearest(face.descriptor);
      const t1 = performance.now();
      if (i < warmup) continue;
      t.totals.push(t1 - t0);
      t.detect.push(result.timings.detectMs);
      t.landmarks.push(result.timings.landmarksMs);
      t.encode.push(result.timings.encodeMs);
      t.match.push(t1 - m0);
    }
    return t;
  };
  // As the daemon analyses live camera frames (config `recognition.liveTinyInputSize`, no padded retries), in
  // alternating halves with the default YuNet pipeline so both see the same machine load...
  const liveOptions = { padRetry: false, tinyInputSize: DEFAULT_LIVE_TINY_INPUT_SIZE };
  const halves = [await timeOurs(liveOptions), await timeOurs(liveOptions, yunet)];
  halves.push(await timeOurs(liveOptions), await timeOurs(liveOptions, yunet));
  const join = (a: (typeof halves)[0], b: (typeof halves)[0]) =>
    Object.fromEntries(Object.keys(a).map((k) => [k, [...a[k as 'totals'], ...b[k as 'totals']]])) as typeof a;
  const live = join(halves[0]!, halves[2]!);
  const yun = join(halves[1]!, halves[3]!);
  log(`yunet + reid-0095: total p50 ${round1(median(yun.totals))} ms`);
  yunet.dispose();
  // ...and with the photo setting (416), the like-for-like comparison with the stock call on the same detector.
  const photo = await timeOurs({});
  const { totals, detect, landmarks, encode, match } = live;
  log(`ours: total p50 ${round1(median(totals))} ms`);

  const api = await loadFaceApiNets(['tinyFaceDetector', 'ssdMobilenetv1', 'faceLandmark68Net', 'faceRecognitionNet']);
  // Both start from the same decoded RGB frame, so the stock run also pays for turning it into a tensor.
  const stockRun = async (options: unknown): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      const t0 = performance.now();
      const input = tf.tensor3d(frame.data, [frame.height, frame.width, 3], 'int32');
      const found = await api
        .detectAllFaces(input as never, options as never)
        .withFaceLandmarks()
        .withFaceDescriptors();
      input.dispose();
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

  const queries = randomVectors(20, 128, 99);
  const identify = {
    '1000': benchIdentify(1_000, queries),
    '10000': benchIdentify(10_000, queries),
    '100000': benchIdentify(100_000, queries),
  };
  log(`identify 1k/10k/100k: ${identify['1000']} / ${identify['10000']} / ${identify['100000']} ms`);
  pipeline.dispose();
  return {
    yunet: {
      ...stage(yun.totals),
      detect: stage(yun.detect),
      align: stage(yun.landmarks),
      encode: stage(yun.encode),
      match: stage(yun.match),
      inputLongSide: 320,
    },
    ratioYunetToFaceApi: Math.round((median(yun.totals) / median(totals)) * 100) / 100,
    frame: {
      ...stage(totals),
      tinyInputSize: DEFAULT_LIVE_TINY_INPUT_SIZE,
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
    ratioToStockSameDetector: Math.round((median(photo.totals) / median(stockTiny)) * 100) / 100,
    photoSetting: { ...stage(photo.totals), tinyInputSize: 416 },
    identify,
    rssMB,
    backend: pipeline.backend,
  };
}
