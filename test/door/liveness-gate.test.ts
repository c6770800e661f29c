/**
 * Anti-spoofing in the door flow (issue 12), on the door harness: frames carry a hand-set PAD score (what the
 * worker's MiniFASNets would report) or synthetic 68 landmarks (test/helpers/face3d.ts) of a real head or a
 * flat print. What must hold for any correct implementation: a spoof-scored claim is denied `spoof-suspected`,
 * counts toward the badge lockout and says only "liveness" on the screen; a grant waits for the PAD frames; the
 * median (not the mean) decides; no model = deny unless allowed; the challenge refuses a still print and passes a
 * head doing the steps.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultConfig } from '../../src/config/index.ts';
import { ClaimLiveness, landmarkPoints, layersFor, PAD_SPREAD_MS } from '../../src/door/liveness-gate.ts';
import type { Point } from '../../src/recognition/detect/yunet.ts';
import { sampleSteps } from '../../src/recognition/liveness/challenge.ts';
import { BADGES, harness, near, personVector, useFaceDb } from '../helpers/door-harness.ts';
import { closeEyes, flatPrint, realHead } from '../helpers/face3d.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

const faceDb = useFaceDb();
const alice = () => near(personVector(0));

const flat = (points: readonly Point[]) => Float32Array.from(points.flatMap((p) => [p.x, p.y]));

async function passive(overrides: Record<string, unknown> = {}, padAvailable = true) {
  return harness(
    faceDb(),
    { consecutiveFrames: 2, antiSpoofing: { mode: 'passive', ...overrides } },
    { liveness: { padAvailable } },
  );
}

describe('passive layer (MiniFASNet score per frame)', () => {
  test('a spoof-scored claim of the right face is denied spoof-suspected, and the screen says only "liveness"', async () => {
    const h = await passive();
    h.badge(BADGES.alice);
    for (let i = 0; i < 10 && h.access.length === 0; i++) h.frame(alice(), { pad: 0.1 });
    assert.equal(h.access.length, 1);
    assert.equal(h.access[0]!.decision, 'denied');
    assert.equal(h.access[0]!.reason, 'spoof-suspected');
    assert.equal(h.access[0]!.identityId, 'alice');
    assert.equal(h.pulses.length, 0, 'the door never opened');
    assert.equal(h.states.find((s) => s.state === 'DENIED')?.reason, 'liveness');
  });

  test('spoof refusals count toward the badge lockout', async () => {
    const h = await passive();
    const maxFailures = defaultConfig().door.lockout.maxFailures;
    for (let attempt = 0; attempt < maxFailures; attempt++) {
      h.clock.advance(4000);
      h.badge(BADGES.alice);
      for (let i = 0; i < 10 && h.access.length === attempt; i++) h.frame(alice(), { pad: 0.05 });
    }
    assert.equal(h.access.filter((e) => e.reason === 'spoof-suspected').length, maxFailures);
    assert.equal(h.alarms.filter((a) => a.kind === 'lockout').length, 1, 'the badge is locked out');
    // Locked out now: even a live face is refused.
    h.clock.advance(4000);
    h.badge(BADGES.alice);
    for (let i = 0; i < 10 && h.access.length === maxFailures; i++) h.frame(alice(), { pad: 0.99 });
    assert.equal(h.access.at(-1)?.reason, 'locked-out');
  });

  test('a live claim is granted only once `frames` scores spread over ≥ 0.3 s were taken', async () => {
    const h = await passive({ frames: 3 });
    h.badge(BADGES.alice);
    const times: number[] = [];
    for (let i = 0; i < 20 && h.access.length === 0; i++) {
      h.frame(alice(), { pad: 0.9 });
      times.push(h.clock.now());
    }
    assert.equal(h.access[0]?.decision, 'granted');
    // Frames come every 100 ms here: K = 2 matches alone would have granted at the 2nd frame.
    const spanMs = times.at(-1)! - times[0]!;
    assert.ok(spanMs >= PAD_SPREAD_MS, `granted after ${spanMs} ms of frames`);
    assert.equal(times.length, 5, 'samples at 0, 200 and 400 ms (≥ 150 ms apart)');
  });

  test('the median decides, not the mean: 0.05, 0.6, 0.6 is live (mean 0.42)', async () => {
    const h = await passive({ frames: 3 });
    h.badge(BADGES.alice);
    for (const pad of [0.05, 0.05, 0.6, 0.6, 0.6, 0.6]) if (h.access.length === 0) h.frame(alice(), { pad });
    assert.equal(h.access[0]?.decision, 'granted');
  });

  test('the threshold is the configured one', async () => {
    const h = await passive({ threshold: 0.7 });
    h.badge(BADGES.alice);
    for (let i = 0; i < 10 && h.access.length === 0; i++) h.frame(alice(), { pad: 0.65 });
    assert.equal(h.access[0]?.reason, 'spoof-suspected');
  });

  test('no PAD model: denied anti-spoofing-unavailable (fail secure), or granted with whenUnavailable: allow', async () => {
    const denying = await passive({}, false);
    denying.badge(BADGES.alice);
    for (let i = 0; i < 10 && denying.access.length === 0; i++) denying.frame(alice());
    assert.equal(denying.access[0]?.decision, 'denied');
    assert.equal(denying.access[0]?.reason, 'anti-spoofing-unavailable');
    assert.equal(denying.pulses.length, 0);

    const allowing = await passive({ whenUnavailable: 'allow' }, false);
    allowing.badge(BADGES.alice);
    for (let i = 0; i < 10 && allowing.access.length === 0; i++) allowing.frame(alice());
    assert.equal(allowing.access[0]?.decision, 'granted');
  });

  test('face mode: a spoof-scored face is refused too', async () => {
    const h = await harness(
      faceDb(),
      { mode: 'face', consecutiveFrames: 2, antiSpoofing: { mode: 'passive' } },
      { liveness: { padAvailable: true } },
    );
    for (let i = 0; i < 10 && h.access.length === 0; i++) h.frame(alice(), { pad: 0.02 });
    assert.equal(h.access[0]?.decision, 'denied');
    assert.equal(h.access[0]?.reason, 'spoof-suspected');
  });

  test('face mode: spoof refusals count toward the face lockout', async () => {
    const h = await harness(
      faceDb(),
      { mode: 'face', consecutiveFrames: 2, faceLockout: { maxFailures: 3 }, antiSpoofing: { mode: 'passive' } },
      { liveness: { padAvailable: true } },
    );
    for (let attempt = 0; attempt < 3; attempt++) {
      h.clock.advance(4000); // past the cooldown
      h.frame(null); // the decided face leaves, so the next visit is a new claim
      for (let i = 0; i < 10 && h.access.length === attempt; i++) h.frame(alice(), { pad: 0.02 });
    }
    assert.deepEqual(
      h.access.map((e) => e.reason),
      ['spoof-suspected', 'spoof-suspected', 'spoof-suspected'],
    );
    assert.equal(h.alarms.filter((a) => a.kind === 'lockout').length, 1, 'the face is locked out');
  });

  test('a wrong face is still denied no-match (the PAD layer does not hide it)', async () => {
    const h = await passive();
    h.badge(BADGES.alice);
    for (let i = 0; i < 10 && h.access.length === 0; i++) h.frame(near(personVector(1)), { pad: 0.95 });
    assert.equal(h.access[0]?.reason, 'no-match');
  });
});

describe('active layer (the challenge on 68 landmarks)', () => {
  const zero = () => 0;
  const steps = sampleSteps(2, zero);

  async function active() {
    return harness(
      faceDb(),
      { consecutiveFrames: 2, antiSpoofing: { mode: 'active' } },
      { liveness: { padAvailable: false, random: zero } },
    );
  }

  test('a still photo of the badge holder is refused liveness-failed after the challenge time', async () => {
    const h = await active();
    h.badge(BADGES.alice);
    const shown = h.states.at(-1);
    assert.equal(shown?.state, 'VERIFYING');
    assert.deepEqual(shown?.challenge?.step, steps[0], 'the screen shows the first step');
    const still = flat(flatPrint());
    for (let i = 0; i < 60 && h.access.length === 0; i++) h.frame(alice(), { landmarks68: still });
    assert.equal(h.access.length, 1);
    assert.equal(h.access[0]!.reason, 'liveness-failed');
    assert.equal(h.access[0]!.identityId, 'alice');
    assert.equal(h.pulses.length, 0);
    assert.equal(h.states.find((s) => s.state === 'DENIED')?.reason, 'liveness');
  });

  test('a challenge with no frames at all ends on time (the timer), denied', async () => {
    const h = await active();
    h.badge(BADGES.alice);
    h.clock.advance(defaultConfig().door.antiSpoofing.challengeMs + 10);
    h.frame(null);
    assert.equal(h.access[0]?.reason, 'liveness-failed');
  });

  test('the badge holder doing the asked steps is granted; the screen followed the steps', async () => {
    const h = await active();
    h.badge(BADGES.alice);
    // 0.6 s reading the instruction, then each step: a turn to ±25° and back, or a blink.
    const script: Array<{ yaw: number; eyes: number }> = [];
    for (let i = 0; i < 6; i++) script.push({ yaw: 0, eyes: 1 });
    for (const step of steps) {
      if (step === 'blink') {
        script.push({ yaw: 0, eyes: 0.4 }, { yaw: 0, eyes: 0.4 }, { yaw: 0, eyes: 1 }, { yaw: 0, eyes: 1 });
      } else {
        const sign = step === 'turn-left' ? 1 : -1;
        for (const yaw of [8, 16, 25, 25, 25, 16, 8, 0]) script.push({ yaw: sign * yaw, eyes: 1 });
      }
    }
    for (let i = 0; i < 10; i++) script.push({ yaw: 0, eyes: 1 });
    for (const pose of script) {
      if (h.access.length > 0) break;
      h.frame(alice(), { landmarks68: flat(closeEyes(realHead({ yawDeg: pose.yaw }), pose.eyes)) });
    }
    assert.equal(h.access[0]?.decision, 'granted', JSON.stringify(h.access[0]));
    const shownSteps = h.states.flatMap((s) => (s.challenge?.step ? [s.challenge.step] : []));
    for (const step of steps) assert.ok(shownSteps.includes(step), `the screen showed ${step}`);
  });

  test('a different face doing the challenge is denied (1:1 on the challenge frames)', async () => {
    const h = await active();
    h.badge(BADGES.alice);
    for (let i = 0; i < 30 && h.access.length === 0; i++) {
      h.frame(near(personVector(1)), { landmarks68: flat(realHead({ yawDeg: i % 10 < 5 ? 25 : -25 })) });
    }
    assert.equal(h.access[0]?.decision, 'denied');
    assert.equal(h.access[0]?.reason, 'no-match');
  });
});

describe('gate pieces', () => {
  test('layers per mode and kind of claim: face mode has no challenge, `active` falls back to passive there', () => {
    assert.deepEqual(layersFor('off', true), { passive: false, active: false });
    assert.deepEqual(layersFor('passive', true), { passive: true, active: false });
    assert.deepEqual(layersFor('active', true), { passive: false, active: true });
    assert.deepEqual(layersFor('both', true), { passive: true, active: true });
    assert.deepEqual(layersFor('active', false), { passive: true, active: false });
    assert.deepEqual(layersFor('both', false), { passive: true, active: false });
  });

  test('landmarks are 136 numbers or nothing', () => {
    assert.equal(landmarkPoints(new Float32Array(134)), null);
    assert.equal(landmarkPoints(undefined), null);
    assert.equal(landmarkPoints(flat(realHead()))?.length, 68);
  });

  test('samples closer than 300 / (frames - 1) ms apart are skipped', () => {
    const settings = { ...defaultConfig().door.antiSpoofing, frames: 4 };
    const gate = new ClaimLiveness({
      settings,
      padAvailable: true,
      passive: true,
      challenge: false,
      clock: new FakeClock(),
    });
    for (const t of [0, 50, 99, 100, 150, 200, 260, 300]) gate.observe({ pad: 0.9 }, t);
    assert.deepEqual(gate.padScores.length, 4, 'samples at 0, 100, 200, 300');
    assert.equal(gate.verdict().kind, 'live');
  });
});
