/**
 * The door flow attacked as an intruder would (issue 10, item 1), each attack reproduced with a fake clock and
 * hand-built frame analyses: re-badging before K refusing frames, faceless frames between impostor frames, a
 * look-alike in face mode, someone trying badge numbers, and the screen as an oracle for which numbers exist.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FlowStateEvent } from '../../src/bus/event-bus.ts';
import { DisplayState } from '../../src/display/view.ts';
import { BADGES, type Harness, near, personVector, THRESHOLD, useDoorBench } from '../helpers/door-harness.ts';

const { harness } = useDoorBench();

/** Frames of one look-alike of alice: some match her (under the threshold), some do not; 0.1 apart. */
const looksLike = (distance: number) => {
  const v = personVector(0);
  v[127] = distance;
  return v;
};
const MATCH = looksLike(THRESHOLD - 0.05);
const MISS = looksLike(THRESHOLD + 0.05);
const IMPOSTOR = near(personVector(50));

const lockoutAlarms = (h: Harness) => h.alarms.filter((a) => a.kind === 'lockout');
/** What the screen was told about the last denial. */
const lastDenial = (h: Harness) => h.states.filter((s) => s.state === 'DENIED').at(-1)?.reason;

describe('badge+face: every claim that ends without a grant is one failed attempt', () => {
  test('the re-badge loop: re-badging before K refusing frames counts, the badge locks out', async () => {
    const h = await harness({ lockout: { maxFailures: 3, windowMs: 60_000, lockoutMs: 120_000 } });
    for (let i = 0; i < 3; i++) {
      h.badge(BADGES.alice);
      h.frame(IMPOSTOR); // one refusing frame, then the badge again before the K-th
    }
    h.badge(BADGES.alice);
    assert.deepEqual(
      h.access.map((e) => [e.decision, e.reason, e.badge]),
      Array(3).fill(['denied', 'abandoned', '****1234']),
    );
    assert.equal(lockoutAlarms(h).length, 1);
    assert.equal(lockoutAlarms(h)[0]?.badge, '****1234');
    // The claim now open is refused whatever the face, after the face step.
    h.frame(near(personVector(0)));
    h.frame(near(personVector(0)));
    assert.equal(h.access.at(-1)?.reason, 'locked-out');
    assert.equal(h.pulses.length, 0);
  });

  test('a look-alike who re-badges after each miss is locked out instead of let in after 19 frames', async () => {
    const h = await harness({ lockout: { maxFailures: 5, windowMs: 300_000, lockoutMs: 300_000 } });
    // Before: each re-badge discarded the claim, so "match, miss, re-badge" ×9 then "match, match" got in.
    for (let i = 0; i < 9; i++) {
      h.badge(BADGES.alice);
      h.frame(MATCH);
      h.frame(MISS);
    }
    h.badge(BADGES.alice);
    h.frame(MATCH);
    h.frame(MATCH);
    assert.equal(h.pulses.length, 0, 'the look-alike got in');
    assert.equal(lockoutAlarms(h).length, 1);
    assert.equal(h.access.at(-1)?.reason, 'locked-out');
  });

  test('2 000 impostor frames with re-badging never grant and do raise lockout', async () => {
    const h = await harness({ lockout: { maxFailures: 5, windowMs: 300_000, lockoutMs: 300_000 } });
    // The badge again after every frame, so no claim ever sees K (2) refusing frames; a faceless frame now and then.
    for (let i = 0; i < 2000; i++) {
      h.badge(BADGES.alice);
      h.frame(i % 3 === 0 ? null : IMPOSTOR);
    }
    assert.equal(h.pulses.length, 0);
    assert.ok(lockoutAlarms(h).length >= 1, 'no lockout alarm');
    assert.ok(h.access.length >= 5 && h.access.every((e) => e.decision === 'denied'));
    assert.ok(h.access.some((e) => e.reason === 'locked-out'));
  });

  test('faceless frames between impostor frames do not reset the count: a denial, then a lockout', async () => {
    const h = await harness({
      consecutiveFrames: 2,
      cooldownMs: 500,
      lockout: { maxFailures: 3, windowMs: 60_000, lockoutMs: 60_000 },
    });
    h.badge(BADGES.alice);
    h.frame(IMPOSTOR);
    h.frame(null);
    h.frame(IMPOSTOR);
    assert.deepEqual(
      h.access.map((e) => [e.decision, e.reason]),
      [['denied', 'no-match']],
      'K refusing frames in one claim deny, faceless frames or not',
    );
    for (let i = 0; i < 2; i++) {
      h.clock.advance(500);
      h.badge(BADGES.alice);
      h.frame(IMPOSTOR);
      h.frame(null);
      h.frame(MATCH); // a lucky match between misses does not reset the count either
      h.frame(IMPOSTOR);
    }
    assert.equal(h.access.length, 3);
    assert.equal(lockoutAlarms(h).length, 1);
    assert.equal(lastDenial(h), 'locked-out', 'the screen says why');
    assert.equal(h.pulses.length, 0);
  });

  test('a claim cut short by a remote unlock counts as a failed attempt of its badge', async () => {
    const h = await harness({ lockout: { maxFailures: 2, windowMs: 60_000, lockoutMs: 60_000 } });
    h.badge(BADGES.alice);
    h.bus.emit('unlockRequest', { by: 'mqtt:admin', reason: 'delivery' });
    h.badge(BADGES.alice);
    h.clock.advance(10_000); // the window closes: the second failure
    assert.deepEqual(
      h.access.map((e) => e.reason),
      ['abandoned', 'remote-unlock', 'timeout'],
    );
    assert.equal(lockoutAlarms(h).length, 1);
  });
});

describe('the screen is no oracle: known and unknown badges look the same up to the decision', () => {
  /** One attempt at the door, the same script for every badge: what the screen shows, frame by frame. */
  async function screens(number: string): Promise<{ states: unknown[]; views: unknown[] }> {
    const h = await harness({ consecutiveFrames: 3, cooldownMs: 1000 });
    const display = new DisplayState({
      siteName: 'x',
      slideSeconds: 5,
      preview: false,
      pageVersion: 'v',
      now: () => 0,
    });
    const views: unknown[] = [];
    const t0 = h.clock.now();
    h.bus.on('flowState', (e: FlowStateEvent) => {
      display.applyFlowState(e);
      const { screen, message, deadline } = display.snapshot();
      views.push({ at: h.clock.now() - t0, screen, message, deadline: deadline === null ? null : deadline - t0 });
    });
    h.frame(null);
    h.frame(IMPOSTOR);
    h.badge(number);
    for (const frame of [IMPOSTOR, null, IMPOSTOR, null, null, IMPOSTOR, IMPOSTOR]) h.frame(frame);
    h.clock.advance(1000);
    h.frame(null);
    const states = h.states.map((s) => ({ ...s, deadline: s.deadline === undefined ? undefined : s.deadline - t0 }));
    assert.equal(h.access.length, 1, `${number}: one decision`);
    return { states, views };
  }

  test('unknown, disabled, expired: the same flowState and display sequence as a valid badge', async () => {
    const known = await screens(BADGES.alice);
    assert.ok(
      known.views.some((v) => (v as { screen: string }).screen === 'look'),
      'a valid badge gets "look at the camera"',
    );
    for (const other of ['99998888', BADGES.carol, BADGES.dave]) {
      const seen = await screens(other);
      assert.deepEqual(seen.states, known.states, `flowState events for ${other.slice(-4)}`);
      assert.deepEqual(seen.views, known.views, `screens for ${other.slice(-4)}`);
    }
  });

  test('the true reason is in the access event, decided after the face step', async () => {
    const h = await harness({ consecutiveFrames: 2 });
    h.badge('99998888');
    assert.equal(h.access.length, 0, 'not decided at the badge read');
    h.frame(IMPOSTOR);
    h.frame(IMPOSTOR);
    assert.equal(h.access[0]?.reason, 'unknown-badge');
    assert.equal(h.states.find((s) => s.state === 'DENIED')?.reason, 'denied');
  });

  test('an unknown badge locks out after the same attempts as a known one', async () => {
    const lockout = { maxFailures: 3, windowMs: 60_000, lockoutMs: 60_000 };
    const reasons = async (number: string) => {
      const h = await harness({ lockout, cooldownMs: 100 });
      for (let i = 0; i < 4; i++) {
        h.badge(number);
        h.frame(IMPOSTOR);
        h.frame(IMPOSTOR);
        h.clock.advance(100);
      }
      return h.states.filter((s) => s.state === 'DENIED').map((s) => s.reason);
    };
    const known = await reasons(BADGES.alice);
    assert.deepEqual(known, ['denied', 'denied', 'locked-out', 'locked-out']);
    assert.deepEqual(await reasons('99998888'), known);
  });

  test('badge mode still decides at once', async () => {
    const h = await harness({ mode: 'badge' });
    h.badge('99998888');
    assert.equal(h.access[0]?.reason, 'unknown-badge');
  });
});

describe('unknown badges are rate-limited per kiosk', () => {
  test('more than maxAttempts unknown badges raise a lockout alarm and pause every badge claim', async () => {
    const h = await harness({
      badgeWindowMs: 1000,
      cooldownMs: 100,
      unknownBadgeLimit: { maxAttempts: 4, windowMs: 60_000, pauseMs: 30_000 },
    });
    for (let i = 0; i < 4; i++) {
      h.badge(`9999000${i}`);
      h.clock.advance(1000);
    }
    assert.equal(lockoutAlarms(h).length, 1);
    assert.equal(lockoutAlarms(h)[0]?.badge, undefined, 'no badge named: it is the kiosk that is paused');
    for (let i = 0; i < 8; i++) h.badge(`8888000${i}`);
    assert.equal(lockoutAlarms(h).length, 1, 'attempts during the pause neither extend it nor raise more alarms');
    // Paused: even alice with her own face is refused, after the face step, shown as a plain denial.
    h.badge(BADGES.alice);
    assert.equal(h.flow.state, 'VERIFYING');
    h.frame(near(personVector(0)));
    h.frame(near(personVector(0)));
    assert.equal(h.access.at(-1)?.reason, 'rate-limited');
    assert.equal(lastDenial(h), 'denied');
    assert.equal(h.pulses.length, 0);
    h.clock.advance(30_000);
    h.badge(BADGES.alice);
    h.frame(near(personVector(0)));
    h.frame(near(personVector(0)));
    assert.equal(h.access.at(-1)?.decision, 'granted');
  });

  test('badge mode is paused too', async () => {
    const h = await harness({
      mode: 'badge',
      unknownBadgeLimit: { maxAttempts: 3, windowMs: 60_000, pauseMs: 30_000 },
    });
    for (let i = 0; i < 3; i++) h.badge(`9999000${i}`);
    h.badge(BADGES.alice);
    assert.equal(h.access.at(-1)?.reason, 'rate-limited');
    assert.equal(h.pulses.length, 0);
    assert.equal(lockoutAlarms(h).length, 1);
  });
});

describe('face mode: attempts are limited per face track and per kiosk', () => {
  test('a look-alike who steps away after each miss is locked out, with an alarm', async () => {
    const h = await harness({
      mode: 'face',
      cooldownMs: 500,
      faceLockout: { maxFailures: 3, windowMs: 60_000, lockoutMs: 60_000 },
    });
    // Before: a claim ended by a faceless frame was forgotten, so "match, miss, step away" could go on for ever.
    for (let i = 0; i < 5; i++) {
      h.frame(MATCH);
      h.frame(MISS);
      h.frame(null);
    }
    h.frame(MATCH);
    h.frame(MATCH);
    assert.equal(h.pulses.length, 0, 'the look-alike got in');
    assert.equal(lockoutAlarms(h).length, 1);
    assert.equal(h.access.at(-1)?.reason, 'locked-out');
    assert.equal(lastDenial(h), 'locked-out');
    // Someone else is not affected.
    h.frame(null);
    h.clock.advance(500);
    h.frame(near(personVector(1)));
    h.frame(near(personVector(1)));
    assert.equal(h.access.at(-1)?.identityId, 'bob');
    assert.equal(h.access.at(-1)?.decision, 'granted');
    // Alice's own face is within the track's radius: refused too until the lock ends (the price of a face lockout).
    h.frame(null);
    h.clock.advance(500);
    h.frame(near(personVector(0)));
    h.frame(near(personVector(0)));
    assert.equal(h.access.at(-1)?.reason, 'locked-out');
    h.clock.advance(60_000);
    h.frame(null);
    h.frame(near(personVector(0)));
    h.frame(near(personVector(0)));
    assert.equal(h.access.at(-1)?.identityId, 'alice');
    assert.equal(h.access.at(-1)?.decision, 'granted');
  });

  test('an impostor denied K frames at a time is locked out after maxFailures denials', async () => {
    const h = await harness({
      mode: 'face',
      cooldownMs: 500,
      faceLockout: { maxFailures: 2, windowMs: 60_000, lockoutMs: 60_000 },
    });
    for (let i = 0; i < 3; i++) {
      h.frame(IMPOSTOR);
      h.frame(IMPOSTOR);
      h.clock.advance(500);
      h.frame(null);
    }
    assert.deepEqual(
      h.access.map((e) => e.reason),
      ['no-match', 'no-match', 'locked-out'],
    );
    assert.equal(lockoutAlarms(h).length, 1);
  });

  test('refused faces beyond the per-kiosk rate raise an alarm and pause face checks', async () => {
    const h = await harness({
      mode: 'face',
      cooldownMs: 100,
      faceAttemptLimit: { maxAttempts: 4, windowMs: 60_000, pauseMs: 20_000 },
    });
    for (let i = 0; i < 4; i++) {
      h.frame(near(personVector(20 + i))); // four different strangers
      h.frame(null);
    }
    assert.equal(lockoutAlarms(h).length, 1);
    h.frame(near(personVector(1)));
    h.frame(near(personVector(1)));
    assert.equal(h.access.at(-1)?.reason, 'rate-limited', 'bob refused while paused');
    h.clock.advance(20_000);
    h.frame(null);
    h.frame(near(personVector(1)));
    h.frame(near(personVector(1)));
    assert.equal(h.access.at(-1)?.decision, 'granted');
  });

  test('people walking past (matching frames only) are not counted', async () => {
    const h = await harness({ mode: 'face', faceLockout: { maxFailures: 1, windowMs: 60_000, lockoutMs: 60_000 } });
    for (let i = 0; i < 10; i++) {
      h.frame(near(personVector(0)));
      h.frame(null);
    }
    assert.equal(h.access.length, 0);
    assert.equal(h.alarms.length, 0);
    h.frame(near(personVector(0)));
    h.frame(near(personVector(0)));
    assert.equal(h.access[0]?.decision, 'granted');
  });
});

describe('attempt state stays bounded', () => {
  test('20 000 distinct badges through the flow keep the maps at their caps; a full lockout map fails secure', async () => {
    const unknownBadgeLimit = { maxAttempts: 1000, windowMs: 1000, pauseMs: 1000 };
    const counting = await harness({ lockout: { maxFailures: 3, maxTracked: 100, maxLocked: 300 }, unknownBadgeLimit });
    // Each number twice (the second read replaces the first claim, the next number the second): two failures each.
    for (let i = 0; i < 20_000; i++) counting.badge(String(10_000_000 + Math.floor(i / 2)));
    assert.deepEqual(counting.flow.attemptStateSizes.badges, { tracked: 100, locked: 0 });

    const locking = await harness({ lockout: { maxFailures: 1, maxTracked: 100, maxLocked: 300 }, unknownBadgeLimit });
    for (let i = 0; i < 20_000; i++) locking.badge(String(10_000_000 + i));
    assert.equal(locking.flow.attemptStateSizes.badges.locked, 300);
    // 300 badges locked at once, more refused: nobody's lockout was dropped to make room, everyone is refused.
    locking.badge(BADGES.alice);
    locking.frame(near(personVector(0)));
    locking.frame(near(personVector(0)));
    assert.equal(locking.access.at(-1)?.reason, 'locked-out');
    assert.equal(locking.pulses.length, 0);
  });
});
