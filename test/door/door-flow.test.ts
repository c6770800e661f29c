/**
 * The door flow with a fake clock, a real (temporary) face database of synthetic descriptors, and frame analyses
 * built by hand: every rule of the state machine without a camera or a model.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BADGES,
  encoding,
  type Harness,
  near,
  personVector,
  THRESHOLD,
  useDoorBench,
} from '../helpers/door-harness.ts';

const { harness, faceDb } = useDoorBench();

function badge(h: Harness, number: string): void {
  h.badge(number);
}

describe('listener isolation', () => {
  test('a throwing access listener neither skips the unlock nor stops the flow', async () => {
    const h = await harness({ consecutiveFrames: 1 });
    h.bus.on(
      'access',
      () => {
        throw new Error('a broken feature');
      },
      'broken-feature',
    );
    badge(h, BADGES.alice);
    h.frame(near(personVector(0)));
    assert.equal(h.pulses.length, 1, 'the door opened');
    assert.equal(h.access.at(-1)?.decision, 'granted', 'later listeners still heard it');
    h.clock.advance(10_000);
    badge(h, BADGES.bob);
    h.frame(near(personVector(1)));
    assert.equal(h.pulses.length, 2, 'the flow goes on after the failure');
  });
});

describe('badge+face mode', () => {
  test('grants only after K consecutive matching frames, pulses once, reports latency', async () => {
    const h = await harness({ consecutiveFrames: 2 });
    badge(h, BADGES.alice);
    assert.equal(h.flow.state, 'VERIFYING');
    h.frame(near(personVector(0)));
    assert.equal(h.access.length, 0, 'one frame is not enough');
    h.frame(null); // a frame without a face breaks the streak
    h.frame(near(personVector(0)));
    assert.equal(h.access.length, 0, 'the streak started over');
    h.frame(near(personVector(0)));
    assert.equal(h.access.length, 1);
    const e = h.access[0]!;
    assert.equal(e.decision, 'granted');
    assert.equal(e.reason, 'match');
    assert.equal(e.identityId, 'alice');
    assert.equal(e.identityName, 'Alice');
    assert.equal(e.badge, '****1234');
    assert.equal(e.threshold, THRESHOLD);
    assert.ok(e.distance !== null && e.distance < THRESHOLD);
    assert.equal(e.latencyMs, 60);
    assert.match(e.eventId, /^[0-9a-f-]{36}$/);
    assert.equal(h.pulses.length, 1);
    assert.deepEqual(
      h.states.map((s) => s.state),
      ['IDLE', 'VERIFYING', 'GRANTED', 'COOLDOWN'],
    );
    assert.equal(h.states.find((s) => s.state === 'GRANTED')?.name, 'Alice');
  });

  test('K=3 needs three frames', async () => {
    const h = await harness({ consecutiveFrames: 3 });
    badge(h, BADGES.alice);
    h.frame(near(personVector(0)));
    h.frame(near(personVector(0)));
    assert.equal(h.access.length, 0);
    h.frame(near(personVector(0)));
    assert.equal(h.access[0]?.decision, 'granted');
  });

  test("badge of A with the face of B is denied 'no-match' and the door stays shut", async () => {
    const h = await harness();
    badge(h, BADGES.alice);
    h.frame(near(personVector(1)));
    h.frame(near(personVector(1)));
    assert.equal(h.access.length, 1);
    assert.equal(h.access[0]?.decision, 'denied');
    assert.equal(h.access[0]?.reason, 'no-match');
    assert.equal(h.access[0]?.identityId, 'alice', 'the claimed identity, not who it looked like');
    assert.equal(h.pulses.length, 0);
  });

  test('the badge window closes with a denial: timeout without a face', async () => {
    const h = await harness({ badgeWindowMs: 10_000 });
    badge(h, BADGES.alice);
    const verifying = h.states.at(-1)!;
    assert.equal(verifying.state, 'VERIFYING');
    assert.equal(verifying.deadline, h.clock.now() + 10_000);
    h.clock.advance(9_999);
    assert.equal(h.access.length, 0);
    h.clock.advance(1);
    assert.equal(h.access[0]?.decision, 'denied');
    assert.equal(h.access[0]?.reason, 'timeout');
    assert.equal(h.access[0]?.latencyMs, null);
    assert.equal(h.pulses.length, 0);
  });

  test('frames captured before the badge read do not count', async () => {
    const h = await harness();
    badge(h, BADGES.alice);
    const before = h.clock.now() - 1;
    h.frame(near(personVector(0)), { capturedAt: before });
    h.frame(near(personVector(0)), { capturedAt: before });
    assert.equal(h.access.length, 0);
  });

  test('faces smaller than minFacePx are ignored', async () => {
    const h = await harness({ minFacePx: 100 });
    badge(h, BADGES.alice);
    h.frame(near(personVector(0)), { faceSize: 60 });
    h.frame(near(personVector(0)), { faceSize: 60 });
    assert.equal(h.access.length, 0);
    h.frame(near(personVector(0)), { faceSize: 120 });
    h.frame(near(personVector(0)), { faceSize: 120 });
    assert.equal(h.access[0]?.decision, 'granted');
  });

  test('unknown, disabled and expired badges are denied with their reason after the face step, masked', async () => {
    const h = await harness({ consecutiveFrames: 2, cooldownMs: 1000 });
    for (const number of ['99998888', BADGES.carol, BADGES.dave]) {
      badge(h, number);
      assert.equal(h.flow.state, 'VERIFYING', 'the same prompt as a valid badge');
      // Their own faces: even the right face does not help.
      h.frame(near(personVector(2)));
      assert.equal(h.access.length, ['99998888', BADGES.carol, BADGES.dave].indexOf(number), 'not before K frames');
      h.frame(near(personVector(3)));
      h.clock.advance(1000);
    }
    assert.deepEqual(
      h.access.map((e) => [e.decision, e.reason, e.badge]),
      [
        ['denied', 'unknown-badge', '****8888'],
        ['denied', 'disabled', '****9999'],
        ['denied', 'expired', '****4444'],
      ],
    );
    assert.equal(h.pulses.length, 0);
    const accessLines = h.logLines.map((l) => JSON.parse(l)).filter((l) => l.event === 'access');
    assert.equal(accessLines.length, 3);
    assert.equal(accessLines[0].decision, 'denied');
    assert.equal(accessLines[0].reason, 'unknown-badge');
    const everything = h.logLines.join('');
    for (const full of ['99998888', BADGES.carol, BADGES.dave])
      assert.ok(!everything.includes(full), `full badge ${full} logged`);
  });

  test('lockout after N failures within the window: alarm, then locked-out, then free again', async () => {
    const h = await harness({ lockout: { maxFailures: 3, windowMs: 60_000, lockoutMs: 120_000 } });
    for (let i = 0; i < 3; i++) {
      badge(h, BADGES.alice);
      h.frame(near(personVector(1)));
      h.frame(near(personVector(1)));
      h.clock.advance(5_000);
    }
    assert.deepEqual(
      h.access.map((e) => e.reason),
      ['no-match', 'no-match', 'no-match'],
    );
    assert.equal(h.alarms.length, 1);
    assert.equal(h.alarms[0]?.kind, 'lockout');
    assert.equal(h.alarms[0]?.badge, '****1234');
    // Even the right face does not help while locked out; the refusal comes after the face step.
    badge(h, BADGES.alice);
    h.frame(near(personVector(0)));
    h.frame(near(personVector(0)));
    assert.equal(h.access.at(-1)?.reason, 'locked-out');
    assert.equal(h.pulses.length, 0);
    h.clock.advance(120_000);
    badge(h, BADGES.alice);
    h.frame(near(personVector(0)));
    h.frame(near(personVector(0)));
    assert.equal(h.access.at(-1)?.decision, 'granted');
    assert.equal(h.pulses.length, 1);
  });

  test('failures spread wider than the window do not lock out', async () => {
    const h = await harness({ badgeWindowMs: 2_000, lockout: { maxFailures: 2, windowMs: 10_000, lockoutMs: 60_000 } });
    badge(h, '99998888');
    h.clock.advance(2_000); // the window closes: failure at t=2 s
    h.clock.advance(11_000);
    badge(h, '99998888');
    h.clock.advance(2_000); // failure at t=15 s: the first one is 13 s old
    assert.equal(h.alarms.length, 0);
    badge(h, '99998888');
    h.clock.advance(2_000); // t=17 s: two within 10 s
    assert.equal(h.alarms.length, 1);
    badge(h, '99998888');
    h.clock.advance(2_000);
    assert.equal(h.access.at(-1)?.reason, 'locked-out');
  });

  test('frames during cooldown are ignored; the flow returns to IDLE after it', async () => {
    const h = await harness({ cooldownMs: 3_000 });
    badge(h, BADGES.alice);
    h.frame(near(personVector(0)));
    h.frame(near(personVector(0)));
    assert.equal(h.flow.state, 'COOLDOWN');
    h.frame(near(personVector(0)));
    assert.equal(h.access.length, 1);
    h.clock.advance(3_000);
    assert.equal(h.flow.state, 'FACE_PRESENT');
    h.frame(null);
    assert.equal(h.flow.state, 'IDLE');
  });
});

describe('face mode (1:N)', () => {
  test('identifies the right person on K frames, badges are ignored', async () => {
    const h = await harness({ mode: 'face' });
    badge(h, BADGES.bob);
    assert.equal(h.access.length, 0);
    h.frame(near(personVector(1)));
    assert.equal(h.flow.state, 'VERIFYING');
    h.frame(near(personVector(1)));
    assert.equal(h.access[0]?.decision, 'granted');
    assert.equal(h.access[0]?.identityId, 'bob');
    assert.equal(h.access[0]?.badge, null);
    assert.equal(h.access[0]?.mode, 'face');
    assert.equal(h.pulses.length, 1);
  });

  test('someone who stays in view is not decided again after the cooldown; once they leave, they are', async () => {
    const h = await harness({ mode: 'face', cooldownMs: 1000 });
    h.frame(near(personVector(1)));
    h.frame(near(personVector(1)));
    assert.equal(h.access.length, 1);
    h.clock.advance(1000);
    for (let i = 0; i < 5; i++) h.frame(near(personVector(1)));
    assert.equal(h.access.length, 1, 'no second grant while bob stays');
    assert.equal(h.pulses.length, 1);
    h.frame(null);
    h.frame(near(personVector(1)));
    h.frame(near(personVector(1)));
    assert.equal(h.access.length, 2, 'bob came back');
    h.clock.advance(1000);
    h.frame(near(personVector(0)));
    h.frame(near(personVector(0)));
    assert.equal(h.access[2]?.identityId, 'alice', 'a different face is decided without a gap');
  });

  test('two different people on consecutive frames do not add up', async () => {
    const h = await harness({ mode: 'face' });
    h.frame(near(personVector(0)));
    h.frame(near(personVector(1)));
    assert.equal(h.access.length, 0);
    h.frame(near(personVector(1)));
    assert.equal(h.access[0]?.identityId, 'bob');
  });

  test('a stranger is denied no-match; disabled identities are never identified', async () => {
    const h = await harness({ mode: 'face', cooldownMs: 1000 });
    h.frame(near(personVector(50)));
    h.frame(near(personVector(50)));
    assert.equal(h.access[0]?.reason, 'no-match');
    h.clock.advance(1000);
    h.frame(near(personVector(2))); // carol, disabled
    h.frame(near(personVector(2)));
    assert.equal(h.access[1]?.decision, 'denied');
    assert.equal(h.pulses.length, 0);
  });

  test('best and runner-up closer than identifyMargin → denied ambiguous', async () => {
    const twin = personVector(0);
    twin[127] = 0.08; // 0.08 from alice
    await faceDb().upsert({ id: 'alice-twin', name: 'Twin', badges: [], enabled: true });
    await faceDb().addEncodings('alice-twin', [encoding(twin)]);
    const h = await harness({ mode: 'face', identifyMargin: 0.05 });
    const between = personVector(0);
    between[127] = 0.04;
    h.frame(between);
    h.frame(between);
    assert.equal(h.access[0]?.decision, 'denied');
    assert.equal(h.access[0]?.reason, 'ambiguous');
    // With no margin required the nearest wins.
    const h2 = await harness({ mode: 'face', identifyMargin: 0 });
    h2.frame(near(personVector(0), 0.01));
    h2.frame(near(personVector(0), 0.01));
    assert.equal(h2.access[0]?.identityId, 'alice');
  });
});

describe('badge mode and remote unlock', () => {
  test('badge mode grants on a valid badge alone and still refuses unknown ones', async () => {
    const h = await harness({ mode: 'badge' });
    badge(h, BADGES.alice);
    badge(h, '99998888');
    assert.deepEqual(
      h.access.map((e) => [e.decision, e.reason]),
      [
        ['granted', 'badge'],
        ['denied', 'unknown-badge'],
      ],
    );
    assert.equal(h.pulses.length, 1);
  });

  test('unlockRequest pulses the door and is an access event', async () => {
    const h = await harness();
    h.bus.emit('unlockRequest', { by: 'mqtt:admin', reason: 'delivery' });
    assert.equal(h.pulses.length, 1);
    assert.equal(h.access[0]?.reason, 'remote-unlock');
    assert.equal(h.access[0]?.decision, 'granted');
  });

  test('stop() unsubscribes and cancels the open window, which counts as one failed attempt', async () => {
    const h = await harness();
    badge(h, BADGES.alice);
    await h.flow.stop();
    assert.deepEqual(
      h.access.map((e) => [e.decision, e.reason]),
      [['denied', 'abandoned']],
    );
    h.clock.advance(60_000);
    badge(h, BADGES.alice);
    assert.equal(h.access.length, 1);
  });
});
