/**
 * The active challenge's cues on real photos, measured with face-api's 68 landmarks (the detector the challenge
 * reads), as a sanity check of src/recognition/liveness/*: single frames only, so no real challenge is run.
 * - yaw measure and eye-aspect ratio of every face found (the shared PAD bona-fide and attack frames, the bbt
 *   crops): where frontal faces sit, how far the detector's jitter moves them;
 * - a simulated hand-held print: each photo warped by random homographies (a sheet turned by perspective, rotated
 *   ±14°, scaled ±15 %, shifted ±8 %; every other one blurred by a 3x3 box), the landmarks found again, and the
 *   planar residual between the two landmark sets — the detector's own noise on a flat face. Pairs at or above
 *   the challenge's 0.05 IOD look 3-D (the challenge takes the median over the turned frames, so a few do not
 *   pass a print); frames whose yaw moved by the challenge's turn threshold are the print alone faking a turn.
 * Run: node --import tsx bench/liveness.ts [warps per photo] [shared dir] [--json]
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import type { Point } from '../src/recognition/detect/yunet.ts';
import { type FaceApiModule, loadFaceApiNets } from '../src/recognition/face-api-models.ts';
import { CHALLENGE_DEFAULTS } from '../src/recognition/liveness/challenge.ts';
import { fitHomography } from '../src/recognition/liveness/homography.ts';
import {
  interOcular,
  type Landmarks68,
  meanEyeAspectRatio,
  planarResidual,
  yawCues,
} from '../src/recognition/liveness/landmarks68.ts';
import { loadImage } from '../src/runtime/image.ts';
import { initBackend, tf } from '../src/runtime/tf.ts';
import { seededRandom } from '../src/util/random.ts';
import { defaultSharedDir } from '../src/util/shared-dir.ts';
import { median, percentile } from '../src/util/stats.ts';

/** Detector input sizes and grey margins tried in turn (tight crops need a margin, as in the pipeline). */
const TRIES: ReadonlyArray<{ pad: number; inputSize: number }> = [
  { pad: 0, inputSize: 416 },
  { pad: 0.5, inputSize: 224 },
  { pad: 0.5, inputSize: 320 },
];

async function landmarksOf(api: FaceApiModule, image: TF.Tensor3D): Promise<Landmarks68 | null> {
  const [h, w] = image.shape;
  for (const { pad, inputSize } of TRIES) {
    const px = Math.round(w * pad);
    const py = Math.round(h * pad);
    const work =
      pad > 0
        ? (tf.pad(
            image,
            [
              [py, py],
              [px, px],
              [0, 0],
            ],
            128,
          ) as TF.Tensor3D)
        : image;
    try {
      const found = await api
        .detectSingleFace(work as never, new api.TinyFaceDetectorOptions({ inputSize, scoreThreshold: 0.5 }))
        .withFaceLandmarks();
      if (found) return found.landmarks.positions.map((p) => ({ x: p.x - px, y: p.y - py }));
    } finally {
      if (work !== image) work.dispose();
    }
  }
  return null;
}

/** A random plane motion of a `w` x `h` photo: its corners moved as a sheet turned, rotated, scaled and shifted. */
function randomPrintMotion(w: number, h: number, random: () => number, tilt: number): Point[][] {
  const u = (a: number) => (2 * random() - 1) * a;
  const corners = [
    { x: 0, y: 0 },
    { x: w, y: 0 },
    { x: w, y: h },
    { x: 0, y: h },
  ];
  const angle = u(0.25);
  const scale = 1 + u(0.15);
  const shift = { x: u(0.08 * w), y: u(0.08 * h) };
  // Perspective: one side of the sheet nearer the camera than the other (up to `tilt` of its size).
  const kx = u(tilt);
  const ky = u(tilt);
  const moved = corners.map((c) => {
    const nx = c.x / w - 0.5;
    const ny = c.y / h - 0.5;
    const depth = 1 + kx * nx + ky * ny;
    const px = (nx * scale) / depth;
    const py = (ny * scale) / depth;
    return {
      x: w / 2 + shift.x + w * (px * Math.cos(angle) - py * Math.sin(angle)),
      y: h / 2 + shift.y + h * (px * Math.sin(angle) + py * Math.cos(angle)),
    };
  });
  return [corners, moved];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== '--json');
  const json = process.argv.includes('--json');
  const warps = Number(args[0] ?? 5);
  const shared = path.resolve(args[1] ?? defaultSharedDir());
  await initBackend('wasm');
  const api = await loadFaceApiNets(['tinyFaceDetector', 'faceLandmark68Net']);
  const sets: Record<string, string[]> = {};
  for (const set of ['bona-fide', 'attack']) {
    const dir = path.join(shared, 'data', 'pad', set);
    sets[`pad/${set}`] = (await readdir(dir)).sort().map((f) => path.join(dir, f));
  }
  const bbt = path.join(shared, 'data', 'faces', 'bbt');
  sets.bbt = [];
  for (const person of (await readdir(bbt, { withFileTypes: true })).filter((d) => d.isDirectory())) {
    for (const f of (await readdir(path.join(bbt, person.name))).sort()) sets.bbt.push(path.join(bbt, person.name, f));
  }
  const random = seededRandom(12);
  const report: Record<string, unknown> = {};
  for (const [name, files] of Object.entries(sets)) {
    const yaws: number[] = [];
    const ears: number[] = [];
    const iods: number[] = [];
    const residuals: number[] = [];
    let missed = 0;
    /** Warped frames whose yaw moved by a turn's worth: the print alone faking a head turn. */
    let yawTurns = 0;
    for (const file of files) {
      const img = await loadImage(file);
      const t = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
      try {
        const base = await landmarksOf(api, t);
        if (!base) {
          missed++;
          continue;
        }
        yaws.push(yawCues(base).yaw);
        ears.push(meanEyeAspectRatio(base));
        iods.push(interOcular(base));
        for (let k = 0; k < warps; k++) {
          const [from, to] = randomPrintMotion(img.width, img.height, random, 0.3);
          // tf.image.transform maps output pixels to input pixels: the inverse of the print's motion.
          const motion = fitHomography(to!, from!).h;
          const inv = motion.map((v) => v / motion[8]);
          const warped = tf.tidy(() => {
            const batch = tf.expandDims(tf.cast(t, 'float32'), 0) as TF.Tensor4D;
            const m = tf.tensor2d([inv.slice(0, 8)]);
            const moved = tf.image.transform(batch, m, 'bilinear', 'constant', 128);
            // Every other frame motion-blurred a little (a 3x3 box), as a hand-held sheet often is.
            const out = k % 2 === 1 ? tf.avgPool(moved, 3, 1, 'same') : moved;
            return tf.squeeze(out, [0]) as TF.Tensor3D;
          });
          try {
            const moved = await landmarksOf(api, warped);
            if (moved) {
              residuals.push(planarResidual(base, moved));
              if (Math.abs(yawCues(moved).yaw - yawCues(base).yaw) >= CHALLENGE_DEFAULTS.yawThreshold) yawTurns++;
            }
          } finally {
            warped.dispose();
          }
        }
      } finally {
        t.dispose();
      }
    }
    const q = (xs: number[]) => ({
      p5: +percentile(xs, 5).toFixed(3),
      p50: +median(xs).toFixed(3),
      p95: +percentile(xs, 95).toFixed(3),
    });
    const atLeast = residuals.filter((r) => r >= CHALLENGE_DEFAULTS.minParallax).length;
    report[name] = {
      photos: files.length,
      noFace: missed,
      iodPx: q(iods),
      yaw: q(yaws),
      ear: q(ears),
      printMotion: {
        pairs: residuals.length,
        residual: q(residuals),
        max: +Math.max(...residuals).toFixed(3),
        atLeast,
        yawTurns,
      },
    };
  }
  if (json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  for (const [name, r] of Object.entries(report) as Array<[string, Record<string, unknown>]>) {
    const pm = r.printMotion as { pairs: number; residual: object; max: number; atLeast: number; yawTurns: number };
    console.log(`${name}: ${r.photos} photos, ${r.noFace} without a face found`);
    console.log(`  IOD px ${JSON.stringify(r.iodPx)}  yaw ${JSON.stringify(r.yaw)}  EAR ${JSON.stringify(r.ear)}`);
    console.log(
      `  simulated print motion: ${pm.pairs} frame pairs, planar residual (IOD) ${JSON.stringify(pm.residual)}, max ${pm.max}, ≥ ${CHALLENGE_DEFAULTS.minParallax}: ${pm.atLeast}; yaw moved ≥ ${CHALLENGE_DEFAULTS.yawThreshold}: ${pm.yawTurns}`,
    );
  }
}

await main();
