/**
 * The door flow with a fake clock, a real (temporary) face database of synthetic descriptors, and frame analyses
 * built by hand: every rule of the state machine without a camera or a model.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { defaultConfig } from '../src/config/index.ts';
import { DoorFlow, type DoorFlowSettings } from '../src/daemon/door-flow.ts';
import { type AccessEvent, type AlarmEvent, EventBus, type FlowStateEvent } from '../src/daemon/event-bus.ts';
import type { FrameAnalysis } from '../src/daemon/module.ts';
import { FaceDb } from '../src/store/face-db.ts';
import { FakeClock } from './helpers/fake-clock.ts';

const ENCODER = 'test-encoder';
const THRESHOLD = 0.6;

/** A 128-d vector that is far (distance √2 · scale) from every other person's. */
function personVector(index: number): Float32Array {
  const v = new Float32Array(128);
  v[index] = 1;
  return v;
}

function near(v: Float32Array, offset = 0.05): Float32Array {
  const out = Float32Array.from(v);
  out[127] = (out[127] ?? 0) + offset;
  return out;
}

interface Harness {
  flow: DoorFlow;
  bus: EventBus;
  clock: FakeClock;
  access: AccessEvent[];
  alarms: AlarmEvent[];
  states: FlowStateEvent[];
  pulses: string[];
  logLines: string[];
  frame(descriptor: Float32Array | null, opts?: { faceSize?: number; capturedAt?: number }): void;
}

let dir: string;
let db: FaceDb;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-flow-'));
  db = await FaceDb.open(path.join(dir, 'faces.json'));
  const enc = (v: Float32Array) => [
    { vector: Array.from(v), encoder: ENCODER, createdAt: new Date().toISOString(), quality: null, source: 'test' },
  ];
  await db.upsert({ id: 'alice', name: 'Alice', badges: ['10001234'], enabled: true });
  await db.addEncodings('alice', enc(personVector(0)));
  await db.upsert({ id: 'bob', name: 'Bob', badges: ['20005678'], enabled: true });
  await db.addEncodings('bob', enc(personVector(1)));
  await db.upsert({ id: 'carol', name: 'Carol', badges: ['30009999'], enabled: false });
  await db.addEncodings('carol', enc(personVector(2)));
  await db.upsert({
    id: 'dave',
    name: 'Dave',
    badges: ['40004444'],
    enabled: true,
    validUntil: '2001-01-01T00:00:00Z',
  });
  await db.addEncodings('dave', enc(personVector(3)));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function harness(overrides: Partial<DoorFlowSettings> = {}): Promise<Harness> {
  const settings = { ...defaultConfig().door, ...overrides };
  const bus = new EventBus();
  const clock = new FakeClock();
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const pulses: string[] = [];
  const flow = new DoorFlow({
    bus,
    db,
    door: { pulse: (reason: string) => pulses.push(reason) },
    logger: pino({ level: 'info' }, sink),
    settings,
    encoderId: ENCODER,
    threshold: THRESHOLD,
    clock,
  });
  const h: Harness = {
    flow,
    bus,
    clock,
    access: [],
    alarms: [],
    states: [],
    pulses,
    logLines,
    frame(descriptor, opts = {}) {
      clock.advance(100);
      const size = opts.faceSize ?? 150;
      const analysis: FrameAnalysis = {
        seq: 0,
        capturedAt: opts.capturedAt ?? clock.now() - 60,
        analysedAt: clock.now(),
        faces: descriptor ? [{ box: { x: 10, y: 10, width: size, height: size }, score: 0.9, descriptor }] : [],
      };
      flow.onFrameAnalysis(analysis);
    },
  };
  bus.on('access', (e) => h.access.push(e));
  bus.on('alarm', (e) => h.alarms.push(e));
  bus.on('flowState', (e) => h.states.push(e));
  await flow.start();
  return h;
}

function badge(h: Harness, number: string): void {
  h.bus.emit('badgeRead', { badge: number, source: 'test' });
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
    badge(h, '10001234');
    h.frame(near(personVector(0)));
    assert.equal(h.pulses.length, 1, 'the door opened');
    assert.equal(h.access.at(-1)?.decision, 'granted', 'later listeners still heard it');
    h.clock.advance(10_000);
    badge(h, '20005678');
    h.frame(near(personVector(1)));
    assert.equal(h.pulses.length, 2, 'the flow goes on after the failure');
  });
});

describe('badge+face mode', () => {
  test('grants only after K consecutive matching frames, pulses once, reports latency', async () => {
    const h = await harness({ consecutiveFrames: 2 });
    badge(h, '10001234');
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
    badge(h, '10001234');
    h.frame(near(personVector(0)));
    h.frame(near(personVector(0)));
    assert.equal(h.access.length, 0);
    h.frame(near(personVector(0)));
    assert.equal(h.access[0]?.decision, 'granted');
  });

  test("badge of A with the face of B is denied 'no-match' and the door stays shut", async () => {
    const h = await harness();
    badge(h, '10001234');
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
    badge(h, '10001234');
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
    badge(h, '10001234');
    const before = h.clock.now() - 1;
    h.frame(near(personVector(0)), { capturedAt: before });
    h.frame(near(personVector(0)), { capturedAt: before });
    assert.equal(h.access.length, 0);
  });

  test('faces smaller than minFacePx are ignored', async () => {
    const h = await harness({ minFacePx: 100 });
    badge(h, '10001234');
    h.frame(near(personVector(0)), { faceSize: 60 });
    h.frame(near(personVector(0)), { faceSize: 60 });
    assert.equal(h.access.length, 0);
    h.frame(near(personVector(0)), { faceSize: 120 });
    h.frame(near(personVector(0)), { faceSize: 120 });
    assert.equal(h.access[0]?.decision, 'granted');
  });

  test('unknown, disabled and expired badges are denied with their reason, masked in events and logs', async () => {
    const h = await harness();
    badge(h, '99998888');
    badge(h, '30009999');
    badge(h, '40004444');
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
    for (const full of ['99998888', '30009999', '40004444'])
      assert.ok(!everything.includes(full), `full badge ${full} logged`);
  });

  test('lockout after N failures within the window: alarm, then locked-out, then free again', async () => {
    const h = await harness({ lockout: { maxFailures: 3, windowMs: 60_000, lockoutMs: 120_000 } });
    for (let i = 0; i < 3; i++) {
      badge(h, '10001234');
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
    badge(h, '10001234');
    assert.equal(h.access.at(-1)?.reason, 'locked-out');
    // Even the right face does not help while locked out.
    h.frame(near(personVector(0)));
    h.frame(near(personVector(0)));
    assert.equal(h.pulses.length, 0);
    h.clock.advance(120_000);
    badge(h, '10001234');
    h.frame(near(personVector(0)));
    h.frame(near(personVector(0)));
    assert.equal(h.access.at(-1)?.decision, 'granted');
    assert.equal(h.pulses.length, 1);
  });

  test('failures spread wider than the window do not lock out', async () => {
    const h = await harness({ lockout: { maxFailures: 2, windowMs: 10_000, lockoutMs: 60_000 } });
    badge(h, '99998888');
    h.clock.advance(11_000);
    badge(h, '99998888');
    assert.equal(h.alarms.length, 0);
    badge(h, '99998888');
    assert.equal(h.alarms.length, 1);
    badge(h, '99998888');
    assert.equal(h.access.at(-1)?.reason, 'locked-out');
  });

  test('frames during cooldown are ignored; the flow returns to IDLE after it', async () => {
    const h = await harness({ cooldownMs: 3_000 });
    badge(h, '10001234');
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
    badge(h, '20005678');
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
    await db.upsert({ id: 'alice-twin', name: 'Twin', badges: [], enabled: true });
    await db.addEncodings('alice-twin', [
      {
        vector: Array.from(twin),
        encoder: ENCODER,
        createdAt: new Date().toISOString(),
        quality: null,
        source: 'test',
      },
    ]);
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
    badge(h, '10001234');
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

  test('stop() unsubscribes and cancels the open window', async () => {
    const h = await harness();
    badge(h, '10001234');
    await h.flow.stop();
    h.clock.advance(60_000);
    badge(h, '10001234');
    assert.equal(h.access.length, 0);
  });
});
