/**
 * The best homography between two sets of corresponding points, and how far the points are from moving as a plane.
 * A flat photo moved in front of a camera (shifted, turned, tilted, brought closer) changes its image by exactly a
 * homography, so the landmarks of a print in two frames fit one up to the detector's noise; a real head turning
 * shows parallax (the nose tip moves against the outline) that no homography absorbs.
 *
 * Fit: Hartley's normalised DLT (each set centred, scaled to a mean distance of √2; the algebraic least-squares
 * solution is the eigenvector of AᵀA with the smallest eigenvalue, by cyclic Jacobi on the 9x9 matrix), then
 * Levenberg-Marquardt on the geometric error in the second image (the DLT minimises an algebraic error that
 * over-states the residual of non-planar motion), all in normalised coordinates. Residual: the RMS of
 * |H(a_i) - b_i| over all points, in the second image's pixels.
 */
import type { Point } from '../detect/yunet.ts';

/** Row-major 3x3, mapping [x, y, 1] of the first set to the second. */
export type Homography = [number, number, number, number, number, number, number, number, number];

interface Normaliser {
  cx: number;
  cy: number;
  s: number;
}

function normaliser(points: readonly Point[]): Normaliser {
  let cx = 0;
  let cy = 0;
  for (const p of points) {
    cx += p.x / points.length;
    cy += p.y / points.length;
  }
  let mean = 0;
  for (const p of points) mean += Math.hypot(p.x - cx, p.y - cy) / points.length;
  if (!(mean > 1e-9)) throw new Error('homography: the points coincide');
  return { cx, cy, s: Math.SQRT2 / mean };
}

/** Eigenvector of the smallest eigenvalue of a symmetric n x n matrix (row-major), by cyclic Jacobi rotations. */
export function smallestEigenvector(matrix: readonly number[], n: number): number[] {
  const a = [...matrix];
  const v: number[] = Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i < n; i++) if (a[i * n + i]! < a[best * n + best]!) best = i;
  return Array.from({ length: n }, (_, k) => v[k * n + best]!);
}

/** Solves the n x n system m · x = rhs (row-major) by Gaussian elimination with partial pivoting; null if singular. */
export function solveLinear(m: readonly number[], rhs: readonly number[], n: number): number[] | null {
  const a = [...m];
  const b = [...rhs];
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]!) > Math.abs(a[pivot * n + col]!)) pivot = r;
    if (!(Math.abs(a[pivot * n + col]!) > 1e-300)) return null;
    if (pivot !== col) {
      for (let k = 0; k < n; k++) [a[col * n + k], a[pivot * n + k]] = [a[pivot * n + k]!, a[col * n + k]!];
      [b[col], b[pivot]] = [b[pivot]!, b[col]!];
    }
    for (let r = col + 1; r < n; r++) {
      const f = a[r * n + col]! / a[col * n + col]!;
      if (f === 0) continue;
      for (let k = col; k < n; k++) a[r * n + k] = a[r * n + k]! - f * a[col * n + k]!;
      b[r] = b[r]! - f * b[col]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let k = r + 1; k < n; k++) s -= a[r * n + k]! * x[k]!;
    x[r] = s / a[r * n + r]!;
  }
  return x;
}

export function applyHomography(h: Homography, p: Point): Point {
  const w = h[6] * p.x + h[7] * p.y + h[8];
  return { x: (h[0] * p.x + h[1] * p.y + h[2]) / w, y: (h[3] * p.x + h[4] * p.y + h[5]) / w };
}

/** Sum of squared transfer errors of the 8-parameter homography (h33 = 1) on normalised points. */
function sumSquares(p: readonly number[], a: readonly Point[], b: readonly Point[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const { x, y } = a[i]!;
    const w = p[6]! * x + p[7]! * y + 1;
    const du = (p[0]! * x + p[1]! * y + p[2]!) / w - b[i]!.x;
    const dv = (p[3]! * x + p[4]! * y + p[5]!) / w - b[i]!.y;
    sum += du * du + dv * dv;
  }
  return Number.isFinite(sum) ? sum : Number.POSITIVE_INFINITY;
}

/** Levenberg-Marquardt on the 8 parameters; returns the refined parameters (never worse than the start). */
function refine(start: number[], a: readonly Point[], b: readonly Point[], iterations = 15): number[] {
  let p = start;
  let cost = sumSquares(p, a, b);
  let lambda = 1e-3;
  for (let it = 0; it < iterations && cost > 0; it++) {
    const jtj = new Array<number>(64).fill(0);
    const jtr = new Array<number>(8).fill(0);
    for (let i = 0; i < a.length; i++) {
      const { x, y } = a[i]!;
      const w = p[6]! * x + p[7]! * y + 1;
      const u = (p[0]! * x + p[1]! * y + p[2]!) / w;
      const v = (p[3]! * x + p[4]! * y + p[5]!) / w;
      const ju = [x / w, y / w, 1 / w, 0, 0, 0, (-u * x) / w, (-u * y) / w];
      const jv = [0, 0, 0, x / w, y / w, 1 / w, (-v * x) / w, (-v * y) / w];
      const ru = u - b[i]!.x;
      const rv = v - b[i]!.y;
      for (let r = 0; r < 8; r++) {
        jtr[r] = jtr[r]! + ju[r]! * ru + jv[r]! * rv;
        for (let c = 0; c < 8; c++) jtj[r * 8 + c] = jtj[r * 8 + c]! + ju[r]! * ju[c]! + jv[r]! * jv[c]!;
      }
    }
    let improved = false;
    for (let tries = 0; tries < 8 && !improved; tries++) {
      const damped = jtj.map((val, i) => (i % 9 === 0 ? val * (1 + lambda) : val));
      const step = solveLinear(
        damped,
        jtr.map((g) => -g),
        8,
      );
      if (!step) {
        lambda *= 10;
        continue;
      }
      const next = p.map((val, i) => val + step[i]!);
      const nextCost = sumSquares(next, a, b);
      if (nextCost < cost) {
        improved = cost - nextCost > 1e-15 * cost || nextCost === 0;
        p = next;
        cost = nextCost;
        lambda = Math.max(lambda / 10, 1e-12);
        if (!improved) return p;
      } else {
        lambda *= 10;
      }
    }
    if (!improved) break;
  }
  return p;
}

export interface HomographyFit {
  h: Homography;
  /** RMS of |H(a_i) - b_i| in the second set's units (pixels). */
  rms: number;
}

/** The least-squares homography taking `a` onto `b` (≥ 4 corresponding points, not all collinear). */
export function fitHomography(a: readonly Point[], b: readonly Point[]): HomographyFit {
  if (a.length !== b.length || a.length < 4) {
    throw new Error(`homography needs ≥ 4 corresponding points (got ${a.length} and ${b.length})`);
  }
  const na = normaliser(a);
  const nb = normaliser(b);
  const an = a.map((p) => ({ x: (p.x - na.cx) * na.s, y: (p.y - na.cy) * na.s }));
  const bn = b.map((p) => ({ x: (p.x - nb.cx) * nb.s, y: (p.y - nb.cy) * nb.s }));
  const ata = new Array<number>(81).fill(0);
  for (let i = 0; i < an.length; i++) {
    const { x, y } = an[i]!;
    const { x: u, y: v } = bn[i]!;
    const rows = [
      [-x, -y, -1, 0, 0, 0, u * x, u * y, u],
      [0, 0, 0, -x, -y, -1, v * x, v * y, v],
    ];
    for (const row of rows) {
      for (let r = 0; r < 9; r++) for (let c = 0; c < 9; c++) ata[r * 9 + c] = ata[r * 9 + c]! + row[r]! * row[c]!;
    }
  }
  const e = smallestEigenvector(ata, 9);
  // Normalised coordinates are centred, so h33 is far from 0 for any motion a face can make in front of a camera.
  const params =
    Math.abs(e[8]!) > 1e-12
      ? refine(
          e.slice(0, 8).map((val) => val / e[8]!),
          an,
          bn,
        )
      : null;
  const hn = params ? [...params, 1] : e;
  // H = Tb⁻¹ · Hn · Ta, with T = [[s, 0, -s·cx], [0, s, -s·cy], [0, 0, 1]].
  const ta = [na.s, 0, -na.s * na.cx, 0, na.s, -na.s * na.cy, 0, 0, 1];
  const tbInv = [1 / nb.s, 0, nb.cx, 0, 1 / nb.s, nb.cy, 0, 0, 1];
  const h = multiply3(tbInv, multiply3(hn, ta)) as Homography;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const q = applyHomography(h, a[i]!);
    sum += (q.x - b[i]!.x) ** 2 + (q.y - b[i]!.y) ** 2;
  }
  return { h, rms: Math.sqrt(sum / a.length) };
}

function multiply3(m: readonly number[], n: readonly number[]): number[] {
  const out = new Array<number>(9).fill(0);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      for (let k = 0; k < 3; k++) out[r * 3 + c] = out[r * 3 + c]! + m[r * 3 + k]! * n[k * 3 + c]!;
    }
  }
  return out;
}
