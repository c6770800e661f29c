/**
 * Face tracks follow the recognition metric (issue 17): with reid-0095 the radius is a cosine distance, so two
 * views of one face at cosine 0.3 (Euclidean 0.77 between unit vectors) are one track under the cosine radius 0.6,
 * and would be two under a Euclidean reading of the same number.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FaceTrackLockout } from '../../src/door/face-tracks.ts';
import { cosineDistance } from '../../src/recognition/embed/metric.ts';

const settings = { maxFailures: 2, windowMs: 60_000, lockoutMs: 60_000, maxTracked: 10, maxLocked: 10 };
// Unit vectors with cos = 0.7: cosine distance 0.3, Euclidean sqrt(2 · 0.3) ≈ 0.775.
const a = Float32Array.from([1, 0]);
const b = Float32Array.from([0.7, Math.sqrt(1 - 0.49)]);

test('with the cosine metric, two failures of one face at cosine 0.3 lock it out', () => {
  assert.ok(Math.abs(cosineDistance(a, b) - 0.3) < 1e-6);
  const faces = new FaceTrackLockout(settings, 0.6, cosineDistance);
  assert.equal(faces.recordFailure(a, 0), null);
  assert.notEqual(faces.recordFailure(b, 1), null, 'the second failure joins the same track and locks it');
  assert.equal(faces.isLockedOut(a, 2), true);
});

test('the same numbers read as Euclidean make two tracks (the default, for the 128-d encoders)', () => {
  const faces = new FaceTrackLockout(settings, 0.6);
  assert.equal(faces.recordFailure(a, 0), null);
  assert.equal(faces.recordFailure(b, 1), null);
  assert.equal(faces.isLockedOut(a, 2), false);
  assert.equal(faces.sizes.tracked, 2);
});
