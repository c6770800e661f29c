import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EncodingIndex, euclidean } from '../../src/recognition/matching.ts';

/** Small deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('euclidean distance matches the hand-computed value', () => {
  assert.equal(euclidean(new Float32Array([0, 0, 0]), new Float32Array([1, 2, 2])), 3);
  assert.equal(euclidean(new Float32Array([1, 1]), new Float32Array([1, 1])), 0);
  assert.throws(() => euclidean(new Float32Array(2), new Float32Array(3)), /length mismatch/);
});

test('index nearest equals brute force (best and distinct runner-up), with several encodings per identity', () => {
  const rand = rng(7);
  const dim = 128;
  const rows: { identityId: string; vector: Float32Array }[] = [];
  for (let p = 0; p < 300; p++) {
    for (let k = 0; k < 1 + (p % 3); k++)
      rows.push({ identityId: `p${p}`, vector: Float32Array.from({ length: dim }, () => rand() - 0.5) });
  }
  const index = new EncodingIndex(dim, rows);
  for (let q = 0; q < 50; q++) {
    const query = Float32Array.from({ length: dim }, () => rand() - 0.5);
    const perIdentity = new Map<string, number>();
    for (const r of rows)
      perIdentity.set(r.identityId, Math.min(perIdentity.get(r.identityId) ?? Infinity, euclidean(query, r.vector)));
    const sorted = [...perIdentity.entries()].sort((a, b) => a[1] - b[1]);
    const { best, second } = index.nearest(query);
    assert.equal(best?.identityId, sorted[0]![0]);
    assert.ok(Math.abs(best!.distance - sorted[0]![1]) < 1e-5);
    assert.equal(second?.identityId, sorted[1]![0]);
    assert.ok(Math.abs(second!.distance - sorted[1]![1]) < 1e-5);
  }
});

test('a query equal to a stored vector finds it at distance 0; an empty index finds nothing', () => {
  const v = Float32Array.from({ length: 8 }, (_, i) => i);
  const index = new EncodingIndex(8, [
    { identityId: 'a', vector: v },
    { identityId: 'b', vector: v.map((x) => x + 1) },
  ]);
  assert.deepEqual(index.nearest(v).best, { identityId: 'a', distance: 0 });
  assert.equal(index.nearest(v).second?.identityId, 'b');
  assert.deepEqual(new EncodingIndex(8, []).nearest(v), { best: null, second: null });
  assert.throws(() => new EncodingIndex(8, [{ identityId: 'x', vector: new Float32Array(4) }]), /expected 8/);
});
