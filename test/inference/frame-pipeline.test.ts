/**
 * The frame path without models: a fake camera and a scripted analyser. Consumers run observers first, then the
 * decider; pixels are copied only for a consumer that asks, and the analyser gets the original. Enrollment capture
 * keeps only frames with exactly one big-enough face. Portrait capture follows `flowState`/`access` on the bus and
 * hands over a crop only for a consenting visitor's face match.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { type AccessEvent, EventBus } from '../../src/bus/event-bus.ts';
import type { FaceAnalyser, FrameAnalysis, FrameConsumer } from '../../src/bus/module.ts';
import { PortraitCapture } from '../../src/display/portrait-capture.ts';
import type { CameraSource, CameraState } from '../../src/hardware/camera/camera.ts';
import type { Frame } from '../../src/hardware/camera/frame.ts';
import { EnrollmentCapture } from '../../src/inference/enrollment-capture.ts';
import { FramePipeline } from '../../src/inference/frame-pipeline.ts';
import type { FaceBox } from '../../src/recognition/pipeline.ts';
import { FaceDb } from '../../src/store/face-db.ts';

const logger = pino({ level: 'silent' });

/** Answers each frame with the faces the test scripted, and wipes the frame's pixels as a transfer would. */
class ScriptedAnalyser implements FaceAnalyser {
  readonly encoderId = 'fake';
  readonly threshold = 0.6;
  readonly backend = 'fake';
  readonly ready = true;
  readonly droppedFrames = 0;
  analysedFrames = 0;
  faces: FaceBox[] = [];
  seen: Frame[] = [];
  async analyseFrame(frame: Frame): Promise<FrameAnalysis> {
    this.seen.push(frame);
    frame.image.data.fill(0);
    this.analysedFrames += 1;
    const faces = this.faces.map((box) => ({ box, score: 0.9, descriptor: new Float32Array(4) }));
    return { seq: frame.seq, capturedAt: frame.capturedAt, faces, analysedAt: Date.now() };
  }
  enrollImages = async () => [];
  enrollFrames = async () => [];
  close = async () => {};
}

class HandCamera implements CameraSource {
  readonly description = 'hand camera';
  private onFrame: (frame: Frame) => void = () => {};
  private seq = 0;
  start(onFrame: (frame: Frame) => void, onState: (state: CameraState) => void): void {
    this.onFrame = onFrame;
    onState('streaming');
  }
  async stop(): Promise<void> {}
  /** One 64x64 frame of grey level `level`; resolves once every consumer had it. */
  async shoot(level: number): Promise<void> {
    const data = new Uint8Array(64 * 64 * 3).fill(level);
    this.onFrame({ image: { data, width: 64, height: 64 }, capturedAt: Date.now(), seq: ++this.seq });
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const BIG_FACE: FaceBox = { x: 8, y: 8, width: 48, height: 48 };

function setUp() {
  const bus = new EventBus(logger);
  const analyser = new ScriptedAnalyser();
  const pipeline = new FramePipeline({ analyser, bus, logger });
  const camera = new HandCamera();
  return { bus, analyser, pipeline, camera };
}

test('observers run before the decider, and only a consumer that asks gets a copy of the pixels', async (t) => {
  const { analyser, pipeline, camera } = setUp();
  t.after(() => pipeline.stop());
  const calls: string[] = [];
  const copies: Array<Frame | null> = [];
  const consumer = (name: string, phase: FrameConsumer['phase'], wants: boolean): FrameConsumer => ({
    name,
    phase,
    wantsPixels: () => wants,
    onAnalysis: (_analysis, frame) => {
      calls.push(name);
      if (name === 'keeper') copies.push(frame);
    },
  });
  pipeline.use(consumer('door', 'decide', false));
  pipeline.use(consumer('keeper', 'observe', true));
  const removeLate = pipeline.use(consumer('late', 'observe', false));
  pipeline.start(camera);
  await camera.shoot(200);
  assert.deepEqual(calls, ['keeper', 'late', 'door']);
  assert.equal(copies[0]?.image.data[0], 200, 'the keeper has the pixels as captured');
  assert.equal(analyser.seen[0]?.image.data[0], 0, 'the analyser took the original');
  assert.notEqual(copies[0]?.image.data, analyser.seen[0]?.image.data);
  removeLate();
  calls.length = 0;
  await camera.shoot(100);
  assert.deepEqual(calls, ['keeper', 'door']);
  assert.equal(pipeline.capturedFrames, 2);
  assert.equal(pipeline.analysedFrames, 2);
});

test('a camera lost after streaming is a state and a camera-lost alarm', async () => {
  const { bus, pipeline } = setUp();
  const states: string[] = [];
  const alarms: string[] = [];
  bus.on('cameraState', ({ state }) => states.push(state));
  bus.on('alarm', ({ kind }) => alarms.push(kind));
  let report: (state: CameraState, detail?: string) => void = () => {};
  pipeline.start({
    description: 'flaky',
    start: (_onFrame, onState) => {
      report = onState;
    },
    stop: async () => {},
  });
  report('starting');
  report('streaming');
  report('reconnecting', 'ffmpeg exited');
  assert.deepEqual(states, ['starting', 'streaming', 'reconnecting']);
  assert.deepEqual(alarms, ['camera-lost']);
  assert.equal(pipeline.cameraState, 'reconnecting');
  await pipeline.stop();
});

test('enrollment capture: no copies while nobody waits; then only single, big-enough faces', async (t) => {
  const { analyser, pipeline, camera } = setUp();
  t.after(() => pipeline.stop());
  const capture = new EnrollmentCapture(40);
  pipeline.use(capture);
  pipeline.start(camera);
  analyser.faces = [BIG_FACE];
  assert.equal(capture.wantsPixels(), false);
  const frames = capture.capture(2, 10_000);
  analyser.faces = [{ ...BIG_FACE, width: 20, height: 20 }];
  await camera.shoot(10); // too small
  analyser.faces = [BIG_FACE, BIG_FACE];
  await camera.shoot(20); // two faces
  analyser.faces = [BIG_FACE];
  await camera.shoot(30);
  await camera.shoot(40);
  await camera.shoot(50); // after the request was filled
  const got = await frames;
  assert.deepEqual(
    got.map((f) => f.image.data[0]),
    [30, 40],
  );
  assert.equal(capture.wantsPixels(), false, 'the filled request is gone');
});

test('enrollment capture resolves with what it has at the timeout and on stop', async () => {
  const capture = new EnrollmentCapture(40);
  assert.deepEqual(await capture.capture(3, 10), []);
  const waiting = capture.capture(3, 60_000);
  capture.stop();
  assert.deepEqual(await waiting, []);
});

test('portrait capture: the deciding frame of a consenting match becomes a crop; nobody else is kept', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-portrait-capture-'));
  const { bus, analyser, pipeline, camera } = setUp();
  const db = await FaceDb.open(path.join(dir, 'faces.json'));
  t.after(async () => {
    await pipeline.stop();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  await db.upsert({ id: 'ada', name: 'Ada', badges: ['11110001'], enabled: true, portraitConsent: true });
  await db.upsert({ id: 'bob', name: 'Bob', badges: ['22220002'], enabled: true, portraitConsent: false });
  const capture = new PortraitCapture(bus, db);
  capture.start();
  t.after(() => capture.stop());
  pipeline.use(capture);
  pipeline.start(camera);
  const candidates: Array<{ identityId: string; width: number; level: number | undefined }> = [];
  bus.on('portraitCandidate', (c) =>
    candidates.push({ identityId: c.identityId, width: c.faceCrop.width, level: c.faceCrop.data[0] }),
  );
  const decide = (identityId: string, decision: 'granted' | 'denied', reason: string) =>
    bus.emit('access', {
      eventId: 'e',
      time: new Date().toISOString(),
      mode: 'badge+face',
      badge: '****0001',
      identityId,
      identityName: null,
      decision,
      reason,
      distance: 0.3,
      threshold: 0.6,
      latencyMs: 100,
    } satisfies AccessEvent);
  analyser.faces = [BIG_FACE];

  await camera.shoot(90); // IDLE: not kept
  assert.equal(capture.wantsPixels(), false);
  decide('ada', 'granted', 'match');
  assert.equal(candidates.length, 0, 'a frame seen outside VERIFYING is never kept');

  bus.emit('flowState', { state: 'VERIFYING', mode: 'badge+face' });
  await camera.shoot(150);
  decide('ada', 'granted', 'match');
  assert.equal(candidates.length, 1);
  assert.equal(candidates[0]?.identityId, 'ada');
  assert.equal(candidates[0]?.level, 150, 'the crop is of the deciding frame');
  decide('ada', 'granted', 'match');
  assert.equal(candidates.length, 1, 'the frame is forgotten at the decision');

  for (const [id, decision, reason] of [
    ['bob', 'granted', 'match'],
    ['ada', 'denied', 'no-match'],
    ['ada', 'granted', 'badge'],
  ] as const) {
    await camera.shoot(160);
    decide(id, decision, reason);
  }
  assert.equal(candidates.length, 1, 'no consent, a denial or a badge-only grant keeps nothing');

  await camera.shoot(170);
  bus.emit('flowState', { state: 'IDLE', mode: 'badge+face' });
  decide('ada', 'granted', 'match');
  assert.equal(candidates.length, 1, 'back to IDLE forgets the frame');
});
