/**
 * Head and eye geometry from face-api's 68 landmarks (iBUG 300-W order: jaw 0-16, brows 17-26, nose bridge 27-30
 * with the tip at 30, nostrils 31-35, the image-left eye 36-41, the image-right eye 42-47, mouth 48-67), for the
 * active liveness challenge. Pure functions on point arrays in frame pixels; nothing here touches tfjs.
 *
 * Yaw sign: positive = the person turned their head to THEIR OWN left. The landmarks come from the camera frame,
 * which is not mirrored (the kiosk screen mirrors it for display only): the person's left is the image's right,
 * so a turn to their left moves the nose tip towards the image-right eye (42-47). A camera that mirrors its own
 * frames (some UVC cameras have an h-flip setting) inverts this: pass `mirrored` and the sign is flipped back.
 */
import type { Point } from '../detect/yunet.ts';
import { fitHomography } from './homography.ts';

export const LANDMARK_COUNT = 68;
export const JAW_LEFT = 0;
export const JAW_RIGHT = 16;
export const NOSE_TIP = 30;
/** Eye contours as p1..p6 of Soukupová & Čech's EAR: outer/inner corner, two upper-lid points, two lower-lid. */
export const IMAGE_LEFT_EYE = [36, 37, 38, 39, 40, 41] as const;
export const IMAGE_RIGHT_EYE = [42, 43, 44, 45, 46, 47] as const;

export type Landmarks68 = readonly Point[];

/** True when `points` is 68 finite points (anything else from a detector or a caller is refused, not guessed at). */
export function isLandmarks68(points: unknown): points is Landmarks68 {
  if (!Array.isArray(points) || points.length !== LANDMARK_COUNT) return false;
  return points.every(
    (p: unknown) =>
      typeof p === 'object' && p !== null && Number.isFinite((p as Point).x) && Number.isFinite((p as Point).y),
  );
}

function centroid(points: Landmarks68, indices: readonly number[]): Point {
  let x = 0;
  let y = 0;
  for (const i of indices) {
    x += points[i]!.x;
    y += points[i]!.y;
  }
  return { x: x / indices.length, y: y / indices.length };
}

const dist = (a: Point, b: Point) => Math.hypot(a.x - b.x, a.y - b.y);

export interface EyeAxis {
  /** Centres of the image-left and image-right eye contours. */
  left: Point;
  right: Point;
  mid: Point;
  /** Inter-ocular distance: between the two eye centres, in pixels. */
  iod: number;
  /** Unit vector from the image-left to the image-right eye (follows head roll). */
  ux: number;
  uy: number;
}

export function eyeAxis(points: Landmarks68): EyeAxis {
  const left = centroid(points, IMAGE_LEFT_EYE);
  const right = centroid(points, IMAGE_RIGHT_EYE);
  const iod = dist(left, right);
  const ux = iod > 0 ? (right.x - left.x) / iod : 1;
  const uy = iod > 0 ? (right.y - left.y) / iod : 0;
  return { left, right, mid: { x: (left.x + right.x) / 2, y: (left.y + right.y) / 2 }, iod, ux, uy };
}

/** Inter-ocular distance in pixels (between the eye-contour centres). */
export function interOcular(points: Landmarks68): number {
  return eyeAxis(points).iod;
}

/** Eye aspect ratio of one eye: (|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|); 0 for a degenerate eye. */
export function eyeAspectRatio(points: Landmarks68, eye: readonly number[]): number {
  const [p1, p2, p3, p4, p5, p6] = eye.map((i) => points[i]!) as [Point, Point, Point, Point, Point, Point];
  const width = dist(p1, p4);
  return width > 0 ? (dist(p2, p6) + dist(p3, p5)) / (2 * width) : 0;
}

/** The mean EAR of both eyes (face-api: about 0.30 open and 0.25 closed on average — a weak separation). */
export function meanEyeAspectRatio(points: Landmarks68): number {
  return (eyeAspectRatio(points, IMAGE_LEFT_EYE) + eyeAspectRatio(points, IMAGE_RIGHT_EYE)) / 2;
}

export interface YawCues {
  /** Nose tip against the eye midpoint, along the eye axis, / IOD. */
  eyes: number;
  /** Nose tip against the midpoint of the outline's ends (jaw 0 and 16), along the eye axis, / IOD. */
  outline: number;
  /** Mean of the two: the yaw measure (signed, see the header; 0 for a frontal face, grows like tan(yaw)). */
  yaw: number;
}

/**
 * Head yaw from the nose tip's offset against two references, both measured along the eye axis (so head roll does
 * not leak in) and divided by the inter-ocular distance (so distance to the camera does not either). The nose tip
 * stands in front of the eyes and far in front of the outline, so both offsets grow with the turn; the outline one
 * more (on the synthetic 3-D head of test/helpers/face3d.ts: yaw ≈ 0.20 at 10°, 0.31 at 15°, 0.43 at 20°, 0.69
 * at 30°).
 */
export function yawCues(points: Landmarks68, mirrored = false): YawCues {
  const axis = eyeAxis(points);
  if (!(axis.iod > 0)) return { eyes: 0, outline: 0, yaw: 0 };
  const nose = points[NOSE_TIP]!;
  const jawL = points[JAW_LEFT]!;
  const jawR = points[JAW_RIGHT]!;
  const along = (from: Point) => ((nose.x - from.x) * axis.ux + (nose.y - from.y) * axis.uy) / axis.iod;
  const sign = mirrored ? -1 : 1;
  const eyes = sign * along(axis.mid);
  const outline = sign * along({ x: (jawL.x + jawR.x) / 2, y: (jawL.y + jawR.y) / 2 });
  return { eyes, outline, yaw: (eyes + outline) / 2 };
}

/**
 * How far two frames' landmarks are from moving as a plane: the RMS residual of the best homography between them
 * (all 68 points), divided by the mean inter-ocular distance of the two frames. A flat print moved by hand gives
 * only the detector's noise (about 1.85x the per-coordinate noise: 0.026 IOD for 1 px on a 71 px IOD; face-api
 * on real photos warped as a print: median 0.023, see bench/liveness.ts); a head turning gives parallax
 * (synthetic head: 0.047 at 10° of yaw, 0.096 at 20°; real bbt photos turned ≥ 0.3 apart: ≥ 0.084).
 */
export function planarResidual(a: Landmarks68, b: Landmarks68): number {
  const iod = (interOcular(a) + interOcular(b)) / 2;
  if (!(iod > 0)) return 0;
  // Degenerate (e.g. collinear) points can leave no finite fit: that is no evidence of depth, so 0 (fail secure).
  const r = fitHomography(a, b).rms / iod;
  return Number.isFinite(r) ? r : 0;
}
