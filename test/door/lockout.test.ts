/**
 * Attempt counting on its own: the lockout rule, and memory that stays bounded whatever arrives (1 M distinct badges
 * once kept 234 MB) without a flood being able to lift a real lockout.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultConfig } from '../../src/config/index.ts';
import { FaceTrackLockout } from '../../src/door/face-tracks.ts';
import { BadgeLockout } from '../../src/door/lockout.ts';

const bounds = { maxTracked: 100, maxLocked: 200 };
const settings = { maxFailures: 3, windowMs: 60_000, lockoutMs: 300_000, ...bounds };

describe('badge lockout', () => {
  test('the Nth failure within the window locks the badge out, for lockoutMs only', () => {
    const lockout = new BadgeLockout(settings);
    assert.equal(lockout.recordFailure('42', 0), null);
    assert.equal(lockout.recordFailure('42', 10_000), null);
    assert.equal(lockout.isLockedOut('42', 10_000), false);
    assert.equal(lockout.recordFailure('42', 20_000), 3);
    assert.equal(lockout.isLockedOut('42', 20_000 + 299_999), true);
    assert.equal(lockout.isLockedOut('other', 20_000), false, 'other badges unaffected');
    assert.equal(lockout.isLockedOut('42', 20_000 + 300_000), false);
  });

  test('failures older than the window do not count, and a grant forgives', () => {
    const lockout = new BadgeLockout(settings);
    lockout.recordFailure('42', 0);
    lockout.recordFailure('42', 1_000);
    assert.equal(lockout.recordFailure('42', 61_500), null, 'the first two fell out of the window');
    lockout.recordSuccess('42');
    assert.equal(lockout.recordFailure('42', 62_000), null);
    assert.equal(lockout.recordFailure('42', 63_000), null);
    assert.equal(lockout.recordFailure('42', 64_000), 3);
  });

  test('expired entries are pruned: the maps empty again once the window and the lockouts are over', () => {
    const lockout = new BadgeLockout(settings);
    for (let i = 0; i < 50; i++) lockout.recordFailure(`a${i}`, 0);
    for (let i = 0; i < 3; i++) lockout.recordFailure('locked', 0);
    assert.deepEqual(lockout.sizes, { tracked: 50, locked: 1 });
    lockout.isLockedOut('x', 60_000);
    assert.deepEqual(lockout.sizes, { tracked: 0, locked: 1 });
    lockout.isLockedOut('x', 300_000);
    assert.deepEqual(lockout.sizes, { tracked: 0, locked: 0 });
  });
});

describe('bounded under a flood of 1 M distinct badges (the configured caps)', () => {
  const caps = defaultConfig().door.lockout;

  test('failure counts stay at maxTracked, and the attacked badge keeps its lockout', () => {
    const lockout = new BadgeLockout(caps);
    const victim = '10001234';
    for (let i = 0; i < caps.maxFailures; i++) lockout.recordFailure(victim, i);
    assert.equal(lockout.isLockedOut(victim, 10), true);
    for (let i = 0; i < 1_000_000; i++) lockout.recordFailure(String(20_000_000 + i), 10 + (i % 1000));
    assert.deepEqual(lockout.sizes, { tracked: caps.maxTracked, locked: 1 });
    assert.equal(lockout.isLockedOut(victim, 2_000), true, 'the flood lifted the lockout');
  });

  test('lockouts stay at maxLocked; a full lockout map refuses everyone rather than forget one', () => {
    const lockout = new BadgeLockout({ ...caps, maxFailures: 1 });
    const victim = '10001234';
    lockout.recordFailure(victim, 0);
    for (let i = 0; i < 1_000_000; i++) lockout.recordFailure(String(20_000_000 + i), 1);
    assert.equal(lockout.sizes.locked, caps.maxLocked);
    assert.ok(lockout.sizes.tracked <= caps.maxTracked);
    assert.equal(lockout.isLockedOut(victim, 2), true, 'the flood lifted the lockout');
    assert.equal(lockout.isLockedOut('30003333', 2), true, 'saturated: fails secure');
    // Once the lockouts end, everything is pruned and the lockout map is usable again.
    assert.equal(lockout.isLockedOut('30003333', 1 + caps.lockoutMs), false);
    assert.deepEqual(lockout.sizes, { tracked: 0, locked: 0 });
  });
});

describe('face tracks', () => {
  /** A random unit vector: two of them are ~√2 apart, far beyond the radius. */
  function randomFace(seed: number): Float32Array {
    let x = seed * 2654435761;
    const v = new Float32Array(128);
    let norm = 0;
    for (let i = 0; i < 128; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      v[i] = x / 2147483648 - 0.5;
      norm += v[i]! ** 2;
    }
    return v.map((c) => c / Math.sqrt(norm));
  }
  const shifted = (v: Float32Array, by: number) => v.map((c, i) => (i === 0 ? c + by : c));

  test('a face refused maxFailures times is locked out, and so is a nearby descriptor of it', () => {
    const faces = new FaceTrackLockout(settings, 0.6);
    const face = randomFace(1);
    assert.equal(faces.recordFailure(face, 0), null);
    assert.equal(faces.recordFailure(shifted(face, 0.2), 1), null, 'the same track, drifting');
    assert.equal(faces.recordFailure(shifted(face, 0.1), 2), 3);
    assert.equal(faces.isLockedOut(shifted(face, -0.3), 3), true);
    assert.equal(faces.isLockedOut(randomFace(2), 3), false);
    assert.equal(faces.isLockedOut(face, 2 + 300_000), false);
  });

  test('20 000 distinct faces keep the tracks and their descriptors at the caps, locked ones kept', () => {
    const faces = new FaceTrackLockout({ ...settings, maxFailures: 2, maxTracked: 50, maxLocked: 100 }, 0.6);
    const victim = randomFace(0);
    faces.recordFailure(victim, 0);
    faces.recordFailure(victim, 0);
    for (let i = 1; i <= 20_000; i++) faces.recordFailure(randomFace(i), 1 + (i % 10));
    const sizes = faces.sizes;
    assert.equal(sizes.tracked, 50);
    assert.equal(sizes.locked, 1);
    assert.equal(sizes.descriptors, 51, 'a descriptor per remembered track, no more');
    assert.equal(faces.isLockedOut(victim, 20), true);
  });
});
