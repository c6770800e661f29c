/**
 * The worker's anti-spoofing cues on real images (issue 12), and the active challenge fed with them:
 * - the inference worker reports, for the largest face, a PAD score and 68 landmarks when asked, and says why
 *   when the MiniFASNets cannot load (the door then fails secure);
 * - a still photo replayed as the camera (the same frame over and over) is refused by the challenge;
 * - SIMULATED hand-held prints: the photo, placed in a camera frame, under a random plane motion per frame
 *   (perspective tilt, rotation ±14°, scale ±15 %, shift ±8 %, every other frame blurred), landmarks found again
 *   each frame by face-api — the share refused is printed; a print is flat, so every one must be refused.
 * Not a measurement of real prints: these are simulations (bench/RESULTS.md, issue 12, says so).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { composeFaceImage, frameOf } from '../../bench/face-frames.ts';
import { defaultConfig } from '../../src/config/index.ts';
import { ClaimLiveness } from '../../src/door/liveness-gate.ts';
import { WorkerAnalyser } from '../../src/inference/analyser.ts';
import { LivenessAnalysis } from '../../src/inference/liveness-analysis.ts';
import { largestFace, type Point, YunetDetector } from '../../src/recognition/detect/yunet.ts';
import type { RgbImage } from '../../src/runtime/image.ts';
import { initBackend } from '../../src/runtime/tf.ts';
import { seededRandom } from '../../src/util/random.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const PAD_FILES = {
  v2: sharedPath('models', 'minifasnet', '2.7_80x80_MiniFASNetV2.onnx'),
  v1se: sharedPath('models', 'minifasnet', '4_0_0_80x80_MiniFASNetV1SE.onnx'),
};
/** Bona-fide PAD frames (real people): the "photo of the badge holder" an attacker prints. */
const PHOTOS = ['real_1.jpg', 'real_101.jpg', 'real_106.jpg'];
const TRIALS_PER_PHOTO = 2;
const FRAME_MS = 100;

/** Inverse-maps every output pixel through the homography `h` (output → source), bilinear, grey outside. */
function warp(src: RgbImage, h: number[]): RgbImage {
  const { width, height } = src;
  const out = new Uint8Array(width * height * 3).fill(128);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const w = h[6]! * x + h[7]! * y + h[8]!;
      const sx = (h[0]! * x + h[1]! * y + h[2]!) / w;
      const sy = (h[3]! * x + h[4]! * y + h[5]!) / w;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      if (x0 < 0 || y0 < 0 || x0 + 1 >= width || y0 + 1 >= height) continue;
      const fx = sx - x0;
      const fy = sy - y0;
      for (let c = 0; c < 3; c++) {
        const at = (xx: number, yy: number) => src.data[(yy * width + xx) * 3 + c]!;
        const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx;
        const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx;
        out[(y * width + x) * 3 + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return { data: out, width, height };
}

function boxBlur(img: RgbImage): RgbImage {
  const { width, height, data } = img;
  const out = Uint8Array.from(data);
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) sum += data[((y + dy) * width + x + dx) * 3 + c]!;
        out[(y * width + x) * 3 + c] = Math.round(sum / 9);
      }
    }
  }
  return { data: out, width, height };
}

/**
 * A random plane motion about the frame centre, as output → source homography: the inverse of
 * shift ∘ rotate ∘ scale ∘ tilt (the sheet's one side nearer the camera, up to 15 % of its size).
 */
function randomPrintMotion(width: number, height: number, random: () => number): number[] {
  const u = (a: number) => (2 * random() - 1) * a;
  const angle = u(0.25);
  const scale = 1 + u(0.15);
  const tx = u(0.08 * width);
  const ty = u(0.08 * height);
  const kx = u(0.15) / width;
  const ky = u(0.15) / height;
  const cx = width / 2;
  const cy = height / 2;
  // Forward (source → output) about the centre: p' = T + R S p / (1 + k·p), with p relative to the centre.
  const c = Math.cos(angle) * scale;
  const s = Math.sin(angle) * scale;
  const forward = [c, -s, 0, s, c, 0, kx, ky, 1];
  const inv = invert3(forward);
  // Output → source: undo the shift and the centre, invert, re-centre.
  return compose([1, 0, cx, 0, 1, cy, 0, 0, 1], compose(inv, [1, 0, -cx - tx, 0, 1, -cy - ty, 0, 0, 1]));
}

function compose(a: number[], b: number[]): number[] {
  const out: number[] = [];
  for (let r = 0; r < 3; r++)
    for (let col = 0; col < 3; col++)
      out.push(a[r * 3]! * b[col]! + a[r * 3 + 1]! * b[3 + col]! + a[r * 3 + 2]! * b[6 + col]!);
  return out;
}

function invert3(m: number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [
    A,
    -(b * i - c * h),
    b * f - c * e,
    B,
    a * i - c * g,
    -(a * f - c * d),
    C,
    -(a * h - b * g),
    a * e - b * d,
  ].map((v) => v / det);
}

describe('anti-spoofing cues on real images', { skip: skipUnlessShared }, () => {
  let cues: LivenessAnalysis;
  /** Landmarks only: what the challenge reads (the PAD score would cost each frame for nothing here). */
  let landmarksOnly: LivenessAnalysis;
  let yunet: YunetDetector;

  before(async () => {
    await initBackend('wasm');
    yunet = await YunetDetector.load(sharedPath('models', 'yunet', 'face_detection_yunet_2023mar.onnx'));
    const made = await LivenessAnalysis.create({ padFiles: PAD_FILES, landmarks: true });
    const light = await LivenessAnalysis.create({ padFiles: null, landmarks: true });
    assert.ok(made && light);
    cues = made;
    landmarksOnly = light;
  });
  after(() => {
    cues?.dispose();
    landmarksOnly?.dispose();
    yunet?.dispose();
  });

  /** Feeds `frames` (as a camera would deliver them, 10 fps) to a fresh challenge; returns the verdict. */
  async function challenge(frames: Iterable<RgbImage | 'same'>, seed: number) {
    const clock = new FakeClock();
    const settings = { ...defaultConfig().door.antiSpoofing, mode: 'active' as const };
    const gate = new ClaimLiveness({
      settings,
      padAvailable: false,
      passive: false,
      challenge: true,
      clock,
      random: seededRandom(seed),
    });
    let t = clock.now();
    let faces = 0;
    let found: Awaited<ReturnType<LivenessAnalysis['analyse']>> | null = null;
    for (const frame of frames) {
      t += FRAME_MS;
      // 'same': the camera delivered the previous picture again; the models are deterministic, so are its cues.
      if (frame !== 'same') {
        const face = largestFace(await yunet.detect(frame));
        found = face ? await landmarksOnly.analyse(frame, face.box) : null;
      }
      if (found?.landmarks68) faces++;
      gate.observe(found, t);
      if (gate.verdict().kind !== 'pending') break;
    }
    clock.advance(settings.challengeMs + FRAME_MS);
    return { verdict: gate.verdict(), faces };
  }

  test('PAD score and 68 landmarks of the face, from the whole frame', async () => {
    const frame = await composeFaceImage(sharedPath('data', 'pad', 'bona-fide', PHOTOS[0]!));
    const face = largestFace(await yunet.detect(frame));
    assert.ok(face, 'YuNet finds the face');
    const found = await cues.analyse(frame, face.box);
    assert.ok(typeof found.pad === 'number' && found.pad >= 0 && found.pad <= 1, `pad ${found.pad}`);
    assert.equal(found.landmarks68?.length, 136);
    // The nose tip (landmark 30) lies inside the detector's box, in frame pixels.
    const nose: Point = { x: found.landmarks68![60]!, y: found.landmarks68![61]! };
    assert.ok(nose.x > face.box.x && nose.x < face.box.x + face.box.width, `nose x ${nose.x}`);
    assert.ok(nose.y > face.box.y && nose.y < face.box.y + face.box.height, `nose y ${nose.y}`);
  });

  test('a still photo replayed as the camera is refused by the challenge', async () => {
    for (const [i, photo] of PHOTOS.entries()) {
      const frame = await composeFaceImage(sharedPath('data', 'pad', 'bona-fide', photo));
      const still = [frame, ...Array.from({ length: 59 }, () => 'same' as const)];
      const { verdict, faces } = await challenge(still, i + 1);
      assert.ok(faces > 0, `${photo}: the face was seen`);
      assert.deepEqual(verdict, { kind: 'refused', reason: 'liveness-failed' }, photo);
    }
  });

  test('simulated hand-held prints (random plane motion and blur per frame) are refused', async () => {
    const random = seededRandom(12);
    let refused = 0;
    let trials = 0;
    for (const photo of PHOTOS) {
      const base = await composeFaceImage(sharedPath('data', 'pad', 'bona-fide', photo));
      for (let trial = 0; trial < TRIALS_PER_PHOTO; trial++) {
        const frames = function* () {
          for (let i = 0; i < 60; i++) {
            const moved = warp(base, randomPrintMotion(base.width, base.height, random));
            yield i % 2 === 1 ? boxBlur(moved) : moved;
          }
        };
        const { verdict } = await challenge(frames(), 100 + trials);
        trials++;
        if (verdict.kind === 'refused') refused++;
      }
    }
    process.stdout.write(`# simulated hand-held prints refused: ${refused}/${trials}\n`);
    assert.equal(refused, trials, `${trials - refused} of ${trials} simulated prints passed the challenge`);
  });
});

describe('the inference worker with anti-spoofing', { skip: skipUnlessShared }, () => {
  const options = (padFiles: typeof PAD_FILES) => ({
    // The face-api pipeline (its models ship in the npm package): this test is about the anti-spoofing cues.
    pipeline: { backend: 'wasm' as const, detector: 'tiny' as const, encoder: 'dlib-resnet128' },
    threshold: null,
    gate: { minFaceSize: 40, minScore: 0.5 },
    maxImagePixels: 40_000_000,
    antiSpoofing: { padFiles, landmarks: true },
  });
  let analyser: WorkerAnalyser | undefined;
  after(async () => {
    await analyser?.close();
  });

  test('reports pad and landmarks68 for the largest face; a PAD model that cannot load is reported, not fatal', async () => {
    analyser = await WorkerAnalyser.start(options(PAD_FILES), { logger: pino({ level: 'silent' }) });
    assert.equal(analyser.padStatus, 'ready');
    const frame = await composeFaceImage(sharedPath('data', 'faces', 'bbt', 'amy', 'amy5.png'));
    const analysis = await analyser.analyseFrame(frameOf(frame, 1));
    const face = analysis?.faces[0];
    assert.ok(face, 'a face');
    assert.ok(typeof face.pad === 'number' && face.pad >= 0 && face.pad <= 1);
    assert.equal(face.landmarks68?.length, 136);
    await analyser.close();

    analyser = await WorkerAnalyser.start(options({ v2: '/nonexistent/v2.onnx', v1se: PAD_FILES.v1se }), {
      logger: pino({ level: 'silent' }),
    });
    assert.match(analyser.padStatus, /MiniFASNet could not load/);
    const again = await analyser.analyseFrame(frameOf(frame, 2));
    assert.equal(again?.faces[0]?.pad, undefined, 'no score without the model');
    assert.equal(again?.faces[0]?.landmarks68?.length, 136);
  });
});
