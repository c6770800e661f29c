import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadgeLockout } from '../src/daemon/lockout.ts';

const settings = { maxFailures: 3, windowMs: 60_000, lockoutMs: 300_000 };

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
