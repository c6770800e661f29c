/**
 * Matching maths on plain Float32Arrays (no tensors): Euclidean distance, and a packed index for 1:N search that
 * stays in milliseconds over 100k identities by abandoning a candidate as soon as its partial sum is already
 * worse than the current second-best identity.
 */

export function euclidean(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`descriptor length mismatch: ${a.length} vs ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    sum += d * d;
  }
  return Math.sqrt(sum);
}

export interface Candidate {
  identityId: string;
  distance: number;
}

export interface NearestResult {
  best: Candidate | null;
  /** The nearest *other* identity, for the margin rule of 1:N identification. */
  second: Candidate | null;
}

/** All encodings of one encoder, packed row after row; rows of the same identity share its index. */
export class EncodingIndex {
  readonly dimension: number;
  private readonly vectors: Float32Array;
  private readonly rowIdentity: Int32Array;
  private readonly identityIds: string[];

  constructor(dimension: number, rows: ReadonlyArray<{ identityId: string; vector: ArrayLike<number> }>) {
    this.dimension = dimension;
    this.vectors = new Float32Array(rows.length * dimension);
    this.rowIdentity = new Int32Array(rows.length);
    const idIndex = new Map<string, number>();
    this.identityIds = [];
    rows.forEach((row, r) => {
      if (row.vector.length !== dimension) {
        throw new Error(`encoding of "${row.identityId}" has ${row.vector.length} values, expected ${dimension}`);
      }
      let idx = idIndex.get(row.identityId);
      if (idx === undefined) {
        idx = this.identityIds.length;
        idIndex.set(row.identityId, idx);
        this.identityIds.push(row.identityId);
      }
      this.rowIdentity[r] = idx;
      this.vectors.set(row.vector, r * dimension);
    });
  }

  get size(): number {
    return this.rowIdentity.length;
  }

  nearest(query: Float32Array): NearestResult {
    const dim = this.dimension;
    if (query.length !== dim) throw new Error(`query has ${query.length} values, expected ${dim}`);
    const vectors = this.vectors;
    let bestId = -1;
    let bestSq = Number.POSITIVE_INFINITY;
    let secondId = -1;
    let secondSq = Number.POSITIVE_INFINITY;
    for (let r = 0, off = 0; r < this.rowIdentity.length; r++, off += dim) {
      const id = this.rowIdentity[r]!;
      // A row of the current best can only improve the best; any other row must beat the second to matter.
      const bound = id === bestId ? bestSq : secondSq;
      let sum = 0;
      let i = 0;
      for (; i < dim; i += 16) {
        const end = Math.min(i + 16, dim);
        for (let j = i; j < end; j++) {
          const d = query[j]! - vectors[off + j]!;
          sum += d * d;
        }
        if (sum >= bound) break;
      }
      if (sum >= bound) continue;
      if (id === bestId) {
        bestSq = sum;
      } else if (sum < bestSq) {
        secondId = bestId;
        secondSq = bestSq;
        bestId = id;
        bestSq = sum;
      } else if (id === secondId || sum < secondSq) {
        secondId = id;
        secondSq = sum;
      }
    }
    const toCandidate = (id: number, sq: number): Candidate | null =>
      id < 0 ? null : { identityId: this.identityIds[id]!, distance: Math.sqrt(sq) };
    return { best: toCandidate(bestId, bestSq), second: toCandidate(secondId, secondSq) };
  }
}
