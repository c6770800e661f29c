import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Point } from '../../../src/recognition/detect/yunet.ts';
import {
  type ChallengeOptions,
  type ChallengeProgress,
  type ChallengeStep,
  LivenessChallenge,
  MAX_FRAMES,
  sampleSteps,
} from '../../../src/recognition/liveness/challenge.ts';
import { seededRandom } from '../../../src/util/random.ts';
import { closeEyes, flatPrint, jitter, mirrorFrame, realHead } from '../../helpers/face3d.ts';
import { FakeClock } from '../../helpers/fake-clock.ts';

/** Part of a performance: the head's yaw moves linearly to `yaw` (degrees) over `ms`, eyes `eyes` open (1 = fully). */
interface Segment {
  ms: number;
  yaw: number;
  eyes?: number;
}

const still = (ms: number): Segment[] => [{ ms, yaw: 0 }];
const turn = (deg: number): Segment[] => [
  { ms: 400, yaw: deg },
  { ms: 200, yaw: deg },
  { ms: 400, yaw: 0 },
];
const blink = (eyes = 0.4): Segment[] => [
  { ms: 200, yaw: 0, eyes },
  { ms: 300, yaw: 0 },
];
const act = (step: ChallengeStep): Segment[] =>
  step === 'turn-left' ? turn(25) : step === 'turn-right' ? turn(-25) : blink();
/** The person reads the first instruction (0.6 s), then does the steps. */
const performance = (steps: readonly ChallengeStep[]): Segment[] => [...still(600), ...steps.flatMap(act)];

interface RunOptions {
  /** Landmarks of the face at a yaw (default: the real 3-D head). */
  face?: (yawDeg: number) => Point[];
  /** Applied to every frame's landmarks (default: none). */
  map?: (points: Point[]) => Point[];
  noisePx?: number;
  seed?: number;
  frameMs?: number;
  /** Eye openness the person calls "open" (narrow eyes < 1). */
  openEyes?: number;
}

/** Feeds the performance frame by frame (10 fps, face-api-sized noise) until the challenge ends or the script does. */
function run(challenge: LivenessChallenge, clock: FakeClock, script: Segment[], opts: RunOptions = {}) {
  const rand = seededRandom(opts.seed ?? 1);
  const face = opts.face ?? ((yawDeg: number) => realHead({ yawDeg }));
  const frameMs = opts.frameMs ?? 100;
  const seen: ChallengeProgress[] = [];
  let t = clock.now();
  let yaw = 0;
  for (const seg of script) {
    const from = yaw;
    for (let elapsed = frameMs; elapsed <= seg.ms; elapsed += frameMs) {
      yaw = from + ((seg.yaw - from) * elapsed) / seg.ms;
      t += frameMs;
      clock.current = t;
      let points = closeEyes(face(yaw), (seg.eyes ?? 1) * (opts.openEyes ?? 1));
      points = jitter(points, opts.noisePx ?? 0.9, rand);
      if (opts.map) points = opts.map(points);
      const progress = challenge.feed(points, t);
      seen.push(progress);
      if (progress.status !== 'running') return seen;
    }
    yaw = seg.yaw;
  }
  return seen;
}

function start(opts: ChallengeOptions = {}) {
  const clock = new FakeClock(1_000_000);
  return { clock, challenge: new LivenessChallenge({ clock, ...opts }) };
}

test('steps: two distinct, at least one turn, the six orders equally likely; the RNG is checked', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const steps = sampleSteps(2, () => (i + 0.5) / 6);
    assert.equal(new Set(steps).size, 2);
    assert.ok(steps.some((s) => s !== 'blink'));
    seen.add(steps.join(','));
  }
  assert.equal(seen.size, 6);
  for (const r of [0, 0.49, 0.51, 0.999]) assert.notEqual(sampleSteps(1, () => r)[0], 'blink');
  assert.equal(new Set(sampleSteps(3, () => 0.3)).size, 3);
  for (const bad of [1, -0.1, Number.NaN]) assert.throws(() => sampleSteps(2, () => bad), /RNG/);
  for (const n of [0, 4, 1.5]) assert.throws(() => sampleSteps(n, () => 0.5), /step count/);
  // The default source is node:crypto: over 600 draws every order turns up.
  const counts = new Map<string, number>();
  for (let i = 0; i < 600; i++) {
    const key = sampleSteps(2).join(',');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.equal(counts.size, 6);
});

test('every two-step challenge passes when the person does what it asks, in order, within 5 s', () => {
  for (let i = 0; i < 6; i++) {
    const { clock, challenge } = start({ random: () => (i + 0.5) / 6 });
    const seen = run(challenge, clock, performance(challenge.steps), { seed: i + 1 });
    const last = seen.at(-1)!;
    assert.equal(last.status, 'passed', `${challenge.steps.join(' then ')}: ${JSON.stringify(challenge.verdict)}`);
    assert.equal(challenge.verdict!.reason, 'passed');
    assert.ok(challenge.verdict!.parallax >= 0.05);
    // The progress bar only moves forward between steps and reaches the last step.
    const indices = seen.map((p) => p.stepIndex);
    assert.ok(indices.every((v, k) => k === 0 || v >= indices[k - 1]!));
    assert.ok(seen.some((p) => p.stepIndex === 1 && p.current === challenge.steps[1]));
  }
});

test('wrong order fails at once: right before left, or a turn before the asked blink', () => {
  let { clock, challenge } = start({ steps: ['turn-left', 'turn-right'] });
  let seen = run(challenge, clock, performance(['turn-right', 'turn-left']));
  assert.equal(seen.at(-1)!.status, 'failed');
  assert.equal(challenge.verdict!.reason, 'wrong-move');
  assert.equal(seen.at(-1)!.stepIndex, 0, 'failed on the first, wrong, turn');

  ({ clock, challenge } = start({ steps: ['blink', 'turn-left'] }));
  seen = run(challenge, clock, performance(['turn-left', 'blink']));
  assert.equal(challenge.verdict?.reason, 'wrong-move');
});

test('an unasked blink during a turn step is ignored (people blink without being asked)', () => {
  const { clock, challenge } = start({ steps: ['turn-left', 'turn-right'] });
  run(challenge, clock, [...still(400), ...blink(), ...turn(25), ...blink(), ...turn(-25)]);
  assert.equal(challenge.verdict?.reason, 'passed');
});

test('timeout: too slow by the frames, and no frames at all by the clock', () => {
  let { clock, challenge } = start({ steps: ['turn-left', 'blink'] });
  run(challenge, clock, [...still(4000), ...act('turn-left'), ...act('blink')]);
  assert.equal(challenge.verdict?.reason, 'timeout');

  ({ clock, challenge } = start({ steps: ['turn-left', 'blink'] }));
  clock.current += 4999;
  assert.equal(challenge.poll().status, 'running');
  assert.equal(challenge.poll().remainingMs, 1);
  clock.current += 2;
  assert.equal(challenge.poll().status, 'failed');
  assert.equal(challenge.verdict?.reason, 'timeout');
  assert.equal(challenge.verdict?.frames, 0);
});

test('a replayed still (the same frame over and over, or with camera noise) never passes', () => {
  const photo = realHead();
  let { clock, challenge } = start({ steps: ['turn-left', 'blink'] });
  for (let t = 100; t <= 6000 && !challenge.verdict; t += 100) challenge.feed(photo, clock.now() + t);
  assert.equal(challenge.verdict?.live, false);
  assert.equal(challenge.verdict?.reason, 'timeout');
  assert.equal(challenge.verdict?.parallax, 0);

  ({ clock, challenge } = start({ steps: ['blink', 'turn-right'] }));
  run(challenge, clock, still(6000));
  assert.equal(challenge.verdict?.live, false);
});

test('3-D check: a flat print tilted to fake the turns completes the steps but is refused as flat', () => {
  // A lenient yaw threshold lets the print's perspective (a sheet turned 40°) count as head turns, so only the
  // 3-D check stands between it and the door; the real head under the same settings passes.
  const settings: ChallengeOptions = { steps: ['turn-left', 'turn-right'], yawThreshold: 0.05 };
  const print = (yawDeg: number) => flatPrint({ yawDeg: yawDeg * 1.6, distanceMm: 400 });
  let { clock, challenge } = start(settings);
  const seen = run(challenge, clock, [...performance(['turn-left', 'turn-right']), ...still(3000)], {
    face: print,
    noisePx: 0.3,
  });
  assert.ok(
    seen.some((p) => p.stepIndex === 2),
    'the print did get through both steps',
  );
  assert.equal(challenge.verdict?.reason, 'flat');
  assert.ok(challenge.verdict!.parallax < 0.045, `parallax ${challenge.verdict!.parallax}`);

  ({ clock, challenge } = start(settings));
  run(challenge, clock, performance(['turn-left', 'turn-right']), { noisePx: 0.3 });
  assert.equal(challenge.verdict?.reason, 'passed');
});

test('a mirroring camera: with `mirrored` the person turning to their left still passes turn-left', () => {
  let { clock, challenge } = start({ steps: ['turn-left', 'blink'], mirrored: true });
  run(challenge, clock, performance(['turn-left', 'blink']), { map: (p) => mirrorFrame(p) });
  assert.equal(challenge.verdict?.reason, 'passed');
  ({ clock, challenge } = start({ steps: ['turn-left', 'blink'] }));
  run(challenge, clock, performance(['turn-left', 'blink']), { map: (p) => mirrorFrame(p) });
  assert.equal(challenge.verdict?.reason, 'wrong-move', 'unflagged, the mirror image turns right');
});

test('blink: measured against the person’s own open eyes, not an absolute EAR', () => {
  for (let seed = 1; seed <= 20; seed++) {
    // Narrow eyes: "open" reads EAR 0.22, half-closed 0.09 — above and below 0.8x their own baseline.
    let { clock, challenge } = start({ steps: ['blink', 'turn-left'] });
    run(challenge, clock, [...still(800), ...blink(0.4), ...turn(25)], { openEyes: 0.7, noisePx: 0.5, seed });
    assert.equal(challenge.verdict?.reason, 'passed', `seed ${seed}`);
    // A 10 % narrowing is no blink: the challenge waits for one and times out.
    ({ clock, challenge } = start({ steps: ['blink', 'turn-left'] }));
    run(challenge, clock, [...still(800), ...blink(0.9), ...still(4000)], { noisePx: 0.5, seed });
    assert.equal(challenge.verdict?.reason, 'timeout', `seed ${seed}`);
  }
});

test('hostile or useless frames are ignored: wrong shapes, NaN, tiny faces, stale or early timestamps', () => {
  const { clock, challenge } = start({ steps: ['turn-right', 'blink'] });
  const t0 = clock.now();
  const face = realHead();
  const tiny = face.map((p) => ({ x: p.x / 20, y: p.y / 20 }));
  const junk: unknown[] = [
    null,
    undefined,
    'face',
    42,
    {},
    face.slice(3),
    [...face, face[0]],
    face.map((p, i) => (i === 30 ? { x: Number.NaN, y: p.y } : p)),
    face.map((p) => ({ x: String(p.x), y: p.y })),
    tiny,
  ];
  junk.forEach((frame, i) => {
    const p = challenge.feed(frame, t0 + 10 * (i + 1));
    assert.equal(p.status, 'running');
  });
  challenge.feed(face, t0 + 200);
  for (const t of [t0 + 200, t0 + 150, t0 - 50, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.equal(challenge.feed(face, t).status, 'running');
  }
  clock.current = t0 + 200;
  run(challenge, clock, performance(['turn-right', 'blink']));
  assert.equal(challenge.verdict?.reason, 'passed');
  const framesFed = 1 + performance(['turn-right', 'blink']).reduce((s, seg) => s + seg.ms / 100, 0);
  assert.ok(challenge.verdict!.frames <= framesFed, 'junk frames were not analysed');
});

test('bounded: a flood of frames is analysed up to MAX_FRAMES and then ignored', () => {
  const { clock, challenge } = start({ steps: ['turn-left', 'blink'] });
  const rand = seededRandom(9);
  for (let i = 1; i <= 3 * MAX_FRAMES; i++) challenge.feed(jitter(realHead(), 0.9, rand), clock.now() + i);
  clock.current += 6000;
  challenge.poll();
  assert.equal(challenge.verdict?.frames, MAX_FRAMES);
  assert.equal(challenge.verdict?.live, false);
});

test('progress: the turn fills its step, the bar is (done + fraction) / steps, time runs down', () => {
  const { clock, challenge } = start({ steps: ['turn-left', 'blink'] });
  const seen = run(challenge, clock, [...still(400), { ms: 600, yaw: 25 }], { noisePx: 0 });
  const during = seen.filter((p) => p.stepIndex === 0 && p.current === 'turn-left');
  assert.ok(during.length >= 3);
  for (let k = 1; k < during.length; k++) {
    assert.ok(during[k]!.stepFraction >= during[k - 1]!.stepFraction);
    assert.ok(during[k]!.remainingMs < during[k - 1]!.remainingMs);
  }
  assert.ok(during.some((p) => p.stepFraction > 0.3 && p.stepFraction < 1));
  const after = seen.at(-1)!;
  assert.equal(after.current, 'blink');
  assert.equal(after.fraction, (after.stepIndex + after.stepFraction) / 2);
  assert.equal(after.stepIndex, 1);
});

test('settings are checked', () => {
  assert.throws(() => new LivenessChallenge({ totalMs: 0 }), /time/);
  assert.throws(() => new LivenessChallenge({ yawThreshold: -1 }), /yaw/);
  assert.throws(() => new LivenessChallenge({ blinkRatio: 1 }), /blink/);
  assert.throws(() => new LivenessChallenge({ minParallax: Number.NaN }), /parallax/);
  assert.throws(() => new LivenessChallenge({ steps: [] }), /steps/);
  assert.throws(() => new LivenessChallenge({ steps: ['nod' as ChallengeStep] }), /steps/);
  assert.throws(() => new LivenessChallenge({ stepCount: 5 }), /step count/);
});

test('blink: landmark noise alone (0.9 px, open eyes throughout) makes no blink', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const { clock, challenge } = start({ steps: ['blink', 'turn-left'] });
    run(challenge, clock, still(5100), { seed });
    assert.equal(challenge.verdict?.reason, 'timeout', `seed ${seed}`);
  }
});
