import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Point } from '../../../src/recognition/detect/yunet.ts';
import {
  applyHomography,
  fitHomography,
  type Homography,
  smallestEigenvector,
  solveLinear,
} from '../../../src/recognition/liveness/homography.ts';
import {
  eyeAspectRatio,
  IMAGE_LEFT_EYE,
  interOcular,
  isLandmarks68,
  meanEyeAspectRatio,
  planarResidual,
  yawCues,
} from '../../../src/recognition/liveness/landmarks68.ts';
import { seededRandom } from '../../../src/util/random.ts';
import { bentPrint, closeEyes, flatPrint, jitter, mirrorFrame, realHead } from '../../helpers/face3d.ts';

/** Landmark noise per coordinate: face-api's jitter on real photos (bench/liveness.ts, residual median 0.023 IOD). */
const NOISE_PX = 0.9;

test('yaw: grows monotonically with the turn, positive when the person turns to their own left', () => {
  let previous = Number.NEGATIVE_INFINITY;
  for (let deg = -40; deg <= 40; deg += 5) {
    const { yaw, eyes, outline } = yawCues(realHead({ yawDeg: deg }));
    assert.ok(yaw > previous, `yaw at ${deg}° (${yaw}) must exceed the one at ${deg - 5}°`);
    previous = yaw;
    if (deg >= 10) assert.ok(eyes > 0 && outline > 0 && yaw > 0, `${deg}°: both cues say left`);
    if (deg <= -10) assert.ok(eyes < 0 && outline < 0 && yaw < 0, `${deg}°: both cues say right`);
  }
  // The person's left is the image's right in an unmirrored frame: the nose tip moved towards +x.
  const frontal = realHead();
  const left = realHead({ yawDeg: 20 });
  assert.ok(left[30]!.x - frontal[30]!.x > 5);
  assert.ok(yawCues(left).yaw > 0.35);
});

test('yaw: independent of distance, roll and where the face sits in the image', () => {
  const ref = yawCues(realHead({ yawDeg: 20 })).yaw;
  for (const pose of [{ distanceMm: 350 }, { distanceMm: 900 }, { rollDeg: 20 }, { rollDeg: -25 }]) {
    const yaw = yawCues(realHead({ yawDeg: 20, ...pose })).yaw;
    assert.ok(Math.abs(yaw - ref) < 0.05, `${JSON.stringify(pose)}: ${yaw} vs ${ref}`);
  }
  const shifted = realHead({ yawDeg: 20 }).map((p) => ({ x: p.x + 150, y: p.y - 70 }));
  assert.ok(Math.abs(yawCues(shifted).yaw - ref) < 1e-9);
  // A head beside the camera's axis (here 120 mm to its left, 13.5° off-axis) is seen from the side: it reads as
  // turned to the left, which is why the challenge measures turns against the person's own first frames.
  const offAxis = yawCues(realHead({ offset: { x: 120, y: 0 } })).yaw;
  const at = (deg: number) => yawCues(realHead({ yawDeg: deg })).yaw;
  assert.ok(offAxis > at(5) && offAxis < at(20), `off-axis ${offAxis}`);
});

test('yaw: a camera that mirrors its frames is corrected by the mirrored flag', () => {
  const turned = realHead({ yawDeg: 20 });
  const inMirror = mirrorFrame(turned);
  const plain = yawCues(turned).yaw;
  assert.ok(yawCues(inMirror).yaw < -0.35, 'read as unmirrored, the mirror image turns the other way');
  assert.ok(Math.abs(yawCues(inMirror, true).yaw - plain) < 1e-9);
});

test('eye aspect ratio: closing the eyes lowers it in proportion; 0.7 open is a dip below 0.8x', () => {
  const open = realHead();
  const ear = meanEyeAspectRatio(open);
  assert.ok(ear > 0.25 && ear < 0.4, `open-eye EAR ${ear}`);
  const nearlyShut = meanEyeAspectRatio(closeEyes(open, 0.7));
  // Above the classic absolute 0.2 rule (which face-api's closed eyes rarely reach), below 0.8x this person's own.
  assert.ok(nearlyShut > 0.2 && nearlyShut < 0.8 * ear, `${nearlyShut} vs open ${ear}`);
  assert.ok(meanEyeAspectRatio(closeEyes(open, 0.9)) > 0.8 * ear);
  assert.ok(Math.abs(meanEyeAspectRatio(closeEyes(open, 0.5)) - ear / 2) < 0.01 * ear);
  // A degenerate eye (corners on top of each other) gives 0, not NaN.
  const squashed = open.map((p, i) => (i === 36 || i === 39 ? { x: 100, y: 100 } : p));
  assert.equal(eyeAspectRatio(squashed, IMAGE_LEFT_EYE), 0);
});

test('landmark arrays: only 68 finite points are accepted', () => {
  const good = realHead();
  assert.ok(isLandmarks68(good));
  assert.ok(!isLandmarks68(good.slice(1)));
  assert.ok(!isLandmarks68(good.map((p, i) => (i === 5 ? { x: Number.NaN, y: 1 } : p))));
  assert.ok(!isLandmarks68(good.map((p, i) => (i === 5 ? { x: 1, y: Number.POSITIVE_INFINITY } : p))));
  assert.ok(!isLandmarks68([...good.slice(1), null]));
  assert.ok(!isLandmarks68('68 points'));
  assert.ok(!isLandmarks68(undefined));
});

test('linear algebra: Jacobi finds the smallest eigenvector, elimination solves and reports singularity', () => {
  // Symmetric matrix with eigenvalues 1, 3 (vectors (1,-1)/√2, (1,1)/√2) and 5 on the third axis.
  const v = smallestEigenvector([2, 1, 0, 1, 2, 0, 0, 0, 5], 3);
  assert.ok(Math.abs(Math.abs(v[0]!) - Math.SQRT1_2) < 1e-12 && Math.abs(v[0]! + v[1]!) < 1e-12 && v[2] === 0);
  assert.deepEqual(
    // A zero first pivot: only row exchanges solve it.
    solveLinear([0, 2, 1, 1, 3, 2, 2, 1, 1], [5, 11, 8], 3)!.map((x) => Math.round(x * 1e9) / 1e9),
    [2, 1, 3],
  );
  assert.equal(solveLinear([1, 2, 2, 4], [1, 2], 2), null);
});

test('homography: recovers an exact projective map (residual 0, same mapping on new points)', () => {
  const truth: Homography = [1.1, 0.2, 30, -0.15, 0.9, -12, 0.0004, -0.0003, 1];
  const rand = seededRandom(3);
  const pts = Array.from({ length: 30 }, () => ({ x: 400 * rand(), y: 300 * rand() }));
  const fit = fitHomography(
    pts,
    pts.map((p) => applyHomography(truth, p)),
  );
  assert.ok(fit.rms < 1e-9, `rms ${fit.rms}`);
  const probe = { x: 123, y: 45 };
  const a = applyHomography(fit.h, probe);
  const b = applyHomography(truth, probe);
  assert.ok(Math.hypot(a.x - b.x, a.y - b.y) < 1e-8);
  assert.throws(() => fitHomography(pts.slice(0, 3), pts.slice(0, 3)), /≥ 4/);
  assert.throws(() => fitHomography(pts.slice(0, 5), pts.slice(0, 4)), /≥ 4/);
  const same = Array.from({ length: 6 }, () => ({ x: 5, y: 5 }));
  assert.throws(() => fitHomography(same, same), /coincide/);
});

test('homography: the fit is the geometric least-squares optimum, not just the algebraic DLT solution', () => {
  // Non-planar motion (a real head turning) is where the DLT's algebraic error and the RMS differ.
  const a = realHead();
  const b = realHead({ yawDeg: 25, pitchDeg: 8 });
  const fit = fitHomography(a, b);
  const rmsOf = (h: Homography) =>
    Math.sqrt(
      a.reduce((s, p, i) => {
        const q = applyHomography(h, p);
        return s + (q.x - b[i]!.x) ** 2 + (q.y - b[i]!.y) ** 2;
      }, 0) / a.length,
    );
  assert.ok(Math.abs(rmsOf(fit.h) - fit.rms) < 1e-9);
  const scale = [1e-3, 1e-3, 0.1, 1e-3, 1e-3, 0.1, 1e-6, 1e-6];
  for (let k = 0; k < 8; k++) {
    for (const sign of [-1, 1]) {
      const h = [...fit.h] as Homography;
      h[k] = h[k]! + sign * scale[k]! * h[8];
      assert.ok(rmsOf(h) >= fit.rms - 1e-12, `moving parameter ${k} lowered the RMS`);
    }
  }
});

function randomPose(rand: () => number) {
  const u = (a: number) => (2 * rand() - 1) * a;
  return {
    yawDeg: u(40),
    pitchDeg: u(30),
    rollDeg: u(30),
    distanceMm: 300 + rand() * 500,
    offset: { x: u(80), y: u(80) },
  };
}

test('a flat print under random plane rotations, scales and shifts moves as a plane: residual ≈ 0', () => {
  const rand = seededRandom(11);
  const front = flatPrint();
  for (let i = 0; i < 200; i++) {
    const moved = flatPrint(randomPose(rand), 0.7 + 0.6 * rand());
    assert.ok(planarResidual(front, moved) < 1e-9);
    // With face-api-sized landmark noise in both frames it stays under the 0.045 IOD a print must stay under.
    const r = planarResidual(jitter(front, NOISE_PX, rand), jitter(moved, NOISE_PX, rand));
    assert.ok(r < 0.045, `pose ${i}: residual ${r} IOD (IOD ${interOcular(moved).toFixed(1)} px)`);
  }
});

test('a real head turning shows parallax: residual ≥ 0.05 IOD once turned 15° or more', () => {
  const rand = seededRandom(12);
  const u = (a: number) => (2 * rand() - 1) * a;
  for (let i = 0; i < 200; i++) {
    const yawDeg = (15 + 25 * rand()) * (rand() < 0.5 ? -1 : 1);
    const pose = { yawDeg, pitchDeg: u(10), rollDeg: u(10), distanceMm: 400 + 300 * rand() };
    const r = planarResidual(jitter(realHead(), NOISE_PX, rand), jitter(realHead(pose), NOISE_PX, rand));
    assert.ok(r >= 0.05, `${JSON.stringify(pose)}: residual ${r}`);
  }
  // And it grows with the turn.
  const noiseless = [5, 10, 20, 30].map((deg) => planarResidual(realHead(), realHead({ yawDeg: deg })));
  for (let k = 1; k < noiseless.length; k++) assert.ok(noiseless[k]! > noiseless[k - 1]!);
});

test('a bent print (a cylinder, radius 100-300 mm) moved by hand mostly stays below 0.05 IOD', () => {
  const rand = seededRandom(13);
  let below = 0;
  const n = 300;
  for (let i = 0; i < n; i++) {
    const radius = 100 + 200 * rand();
    const r = planarResidual(
      jitter(bentPrint(radius), NOISE_PX, rand),
      jitter(bentPrint(radius, randomPose(rand)), NOISE_PX, rand),
    );
    if (r < 0.05) below++;
  }
  // Measured 91-94 %; a sheet bent harder (radius 60-100 mm) is below only half the time — see the report.
  assert.ok(below / n >= 0.8, `${below}/${n} below`);
  assert.ok(below < n, 'bending is depth: some poses must show it');
});

test('planar residual: degenerate landmarks give 0 (no evidence of depth), never NaN', () => {
  const line: Point[] = Array.from({ length: 68 }, (_, i) => ({ x: i * 3, y: 50 }));
  const other: Point[] = Array.from({ length: 68 }, (_, i) => ({ x: i * 2, y: 80 + (i % 7) }));
  const r = planarResidual(line, other);
  assert.ok(Number.isFinite(r) && r >= 0);
});
