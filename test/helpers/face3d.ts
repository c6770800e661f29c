/**
 * Synthetic 68-point faces for the liveness tests: a 3-D head (OpenFace's mean 2-D landmark layout, 1 template
 * unit = 165 mm so the eye centres are 63 mm apart, with hand-set plausible depths) turned about a vertical neck
 * axis and seen by a pinhole camera; a flat print of that face, and the same print bent round a cylinder, moved
 * in front of the same camera; closed eyes; landmark noise.
 * Camera frame: x to the image's right, y down, z away from the camera. The head faces the camera, so the person's
 * left is the image's right; a positive yaw turns the head to the person's own left (nose towards +x).
 */

import { OPENFACE_TEMPLATE } from '../../src/recognition/align-openface.ts';
import type { Point } from '../../src/recognition/detect/yunet.ts';

const MM_PER_UNIT = 165;
const NOSE_TIP = 30;

/** Depth of each landmark in mm, from the nose tip (0) towards the camera (so every other point is negative). */
const DEPTH_MM: readonly number[] = [
  // jaw 0-16: from the ear-level outline round the chin
  -95, -90, -82, -72, -58, -46, -36, -29, -26, -29, -36, -46, -58, -72, -82, -90, -95,
  // brows 17-26 (outer ends deepest)
  -38, -30, -25, -22, -21, -21, -22, -25, -30, -38,
  // nose bridge 27-30 (tip last) and nostrils 31-35
  -20, -13, -6, 0, -16, -11, -9, -11, -16,
  // eyes 36-41, 42-47 (outer corner, upper lid x2, inner corner, lower lid x2)
  -38, -32, -31, -30, -31, -32, -30, -31, -32, -38, -32, -31,
  // outer lips 48-59, inner lips 60-67
  -32, -22, -16, -15, -16, -22, -32, -23, -18, -17, -18, -23, -30, -19, -18, -19, -30, -20, -19, -20,
];

export interface Point3 {
  x: number;
  y: number;
  z: number;
}

/** The head in mm, origin at the nose tip, z towards the camera. */
export function head3d(): Point3[] {
  const [nx, ny] = OPENFACE_TEMPLATE[NOSE_TIP]!;
  return OPENFACE_TEMPLATE.map(([x, y], i) => ({
    x: (x - nx) * MM_PER_UNIT,
    y: (y - ny) * MM_PER_UNIT,
    z: DEPTH_MM[i]!,
  }));
}

export interface Camera {
  focalPx: number;
  cx: number;
  cy: number;
}

export const CAMERA: Camera = { focalPx: 600, cx: 320, cy: 240 };

const rad = (deg: number) => (deg * Math.PI) / 180;

/** Rotation by yaw (about y; positive: nose to +x), then pitch (about x; positive: nose down), then roll (about z). */
export function rotate(p: Point3, yawDeg: number, pitchDeg = 0, rollDeg = 0): Point3 {
  const [cy, sy] = [Math.cos(rad(yawDeg)), Math.sin(rad(yawDeg))];
  // Yaw: the nose (z > 0, towards the camera) goes to +x.
  let x = p.x * cy + p.z * sy;
  let z = -p.x * sy + p.z * cy;
  let y = p.y;
  const [cp, sp] = [Math.cos(rad(pitchDeg)), Math.sin(rad(pitchDeg))];
  [y, z] = [y * cp + z * sp, -y * sp + z * cp];
  const [cr, sr] = [Math.cos(rad(rollDeg)), Math.sin(rad(rollDeg))];
  [x, y] = [x * cr - y * sr, x * sr + y * cr];
  return { x, y, z };
}

/** Pinhole projection of points whose depth axis points towards the camera, the origin `distanceMm` away. */
export function project(points: readonly Point3[], distanceMm: number, offset: Point = { x: 0, y: 0 }, cam = CAMERA) {
  return points.map((p) => {
    const depth = distanceMm - p.z;
    return {
      x: cam.cx + (cam.focalPx * (p.x + offset.x)) / depth,
      y: cam.cy + (cam.focalPx * (p.y + offset.y)) / depth,
    };
  });
}

export interface Pose {
  yawDeg?: number;
  pitchDeg?: number;
  rollDeg?: number;
  distanceMm?: number;
  /** Sideways/vertical shift of the head in mm. */
  offset?: Point;
}

/** A real head: turned about a neck axis 90 mm behind the nose tip, then projected. */
export function realHead(pose: Pose = {}): Point[] {
  const pivot = 90;
  const turned = head3d().map((p) => {
    const r = rotate({ ...p, z: p.z + pivot }, pose.yawDeg ?? 0, pose.pitchDeg ?? 0, pose.rollDeg ?? 0);
    return { ...r, z: r.z - pivot };
  });
  return project(turned, pose.distanceMm ?? 500, pose.offset);
}

/** The print itself: the frontal photo's landmarks as a flat sheet, in mm at life size, centred on the nose tip. */
function printSheet(): Point3[] {
  return head3d().map((p) => ({ x: p.x, y: p.y, z: 0 }));
}

/** A flat print (of the frontal face) held in `pose` in front of the camera: a homography of the photo. */
export function flatPrint(pose: Pose = {}, scale = 1): Point[] {
  const sheet = printSheet().map((p) =>
    rotate({ x: p.x * scale, y: p.y * scale, z: 0 }, pose.yawDeg ?? 0, pose.pitchDeg ?? 0, pose.rollDeg ?? 0),
  );
  return project(sheet, pose.distanceMm ?? 500, pose.offset);
}

/**
 * The print bent round a vertical cylinder of radius `radiusMm` (positive: bulging towards the camera, as a sheet
 * held by its edges), then held in `pose`.
 */
export function bentPrint(radiusMm: number, pose: Pose = {}): Point[] {
  const sheet = printSheet().map((p) => {
    const angle = p.x / radiusMm;
    return { x: radiusMm * Math.sin(angle), y: p.y, z: radiusMm * (Math.cos(angle) - 1) };
  });
  const posed = sheet.map((p) => rotate(p, pose.yawDeg ?? 0, pose.pitchDeg ?? 0, pose.rollDeg ?? 0));
  return project(posed, pose.distanceMm ?? 500, pose.offset);
}

/** Eyes closed to `openness` (1 = as given, 0 = shut): the lid points move towards the line between the corners. */
export function closeEyes(points: readonly Point[], openness: number): Point[] {
  const out = points.map((p) => ({ ...p }));
  for (const [outer, up1, up2, inner, lo1, lo2] of [
    [36, 37, 38, 39, 40, 41],
    [42, 43, 44, 45, 46, 47],
  ] as const) {
    const a = points[outer]!;
    const b = points[inner]!;
    for (const i of [up1, up2, lo1, lo2]) {
      const p = points[i]!;
      const t = ((p.x - a.x) * (b.x - a.x) + (p.y - a.y) * (b.y - a.y)) / ((b.x - a.x) ** 2 + (b.y - a.y) ** 2);
      const foot = { x: a.x + t * (b.x - a.x), y: a.y + t * (b.y - a.y) };
      out[i] = { x: foot.x + (p.x - foot.x) * openness, y: foot.y + (p.y - foot.y) * openness };
    }
  }
  return out;
}

/** Adds independent Gaussian noise of `sigmaPx` to every coordinate (Box-Muller on the given uniform source). */
export function jitter(points: readonly Point[], sigmaPx: number, random: () => number): Point[] {
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return points.map((p) => ({ x: p.x + sigmaPx * gauss(), y: p.y + sigmaPx * gauss() }));
}

/** The 68-point layout's left-right pairs: a detector labels points by image side, so a mirror swaps them. */
function mirrorIndex(i: number): number {
  const pairs: Array<[number, number]> = [
    [17, 26],
    [18, 25],
    [19, 24],
    [20, 23],
    [21, 22],
    [31, 35],
    [32, 34],
    [36, 45],
    [37, 44],
    [38, 43],
    [39, 42],
    [40, 47],
    [41, 46],
    [48, 54],
    [49, 53],
    [50, 52],
    [55, 59],
    [56, 58],
    [60, 64],
    [61, 63],
    [65, 67],
  ];
  if (i <= 16) return 16 - i;
  for (const [a, b] of pairs) if (i === a || i === b) return i === a ? b : a;
  return i;
}

/** What a detector finds in the mirrored frame: x flipped about the frame centre, left-right labels swapped. */
export function mirrorFrame(points: readonly Point[], width = 2 * CAMERA.cx): Point[] {
  return points.map((_, i) => ({ x: width - points[mirrorIndex(i)]!.x, y: points[mirrorIndex(i)]!.y }));
}
