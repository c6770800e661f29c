/**
 * The inference worker as the daemon uses it: real models in a worker thread, frames transferred, latest-wins
 * dropping, the enrollment quality gate, and recovery from a killed worker (alarm, nulls meanwhile, restart) — on
 * the face-api pipeline (tiny + dlib-resnet128, pinned); then the default YuNet + reid-0095 pipeline: keypoints and
 * full-frame boxes in the analysis, 256-d cosine encodings.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { blankImage, composeFaceImage, composeFacePng, frameOf } from '../../bench/face-frames.ts';
import type { AlarmEvent } from '../../src/bus/event-bus.ts';
import { EventBus } from '../../src/bus/event-bus.ts';
import { WorkerAnalyser } from '../../src/inference/analyser.ts';
import type { RgbImage } from '../../src/runtime/image.ts';
import { importGraphModels } from '../helpers/graph-models.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const bus = new EventBus();
const alarms: AlarmEvent[] = [];
bus.on('alarm', (a) => alarms.push(a));
let analyser: WorkerAnalyser | undefined;
let amy: RgbImage;

async function until(check: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('inference worker', { skip: skipUnlessShared }, () => {
  before(async () => {
    amy = await composeFaceImage(sharedPath('data', 'faces', 'bbt', 'amy', 'amy5.png'));
    analyser = await WorkerAnalyser.start(
      {
        pipeline: { backend: 'wasm', detector: 'tiny', encoder: 'dlib-resnet128' },
        threshold: null,
        gate: { minFaceSize: 40, minScore: 0.5 },
        maxImagePixels: 40_000_000,
      },
      { logger: pino({ level: 'silent' }), bus },
    );
  });
  after(async () => {
    await analyser?.close();
  });

  test('reports its encoder and threshold, and finds the face in a frame, transferring the pixels', async () => {
    const a = analyser!;
    assert.equal(a.encoderId, 'dlib-resnet128');
    assert.equal(a.threshold, 0.6);
    const frame = frameOf(amy, 1, 1234);
    const result = await a.analyseFrame(frame);
    assert.equal(frame.image.data.byteLength, 0, 'the pixel buffer was transferred, not copied');
    assert.ok(result);
    assert.equal(result.seq, 1);
    assert.equal(result.capturedAt, 1234);
    assert.equal(result.faces.length, 1);
    const face = result.faces[0]!;
    assert.ok(face.descriptor instanceof Float32Array);
    assert.equal(face.descriptor.length, 128);
    assert.ok(face.box.width > 150 && face.box.x > 100 && face.box.x < 320, JSON.stringify(face.box));
  });

  test('latest wins: a busy worker keeps one frame waiting and drops the ones it replaces', async () => {
    const a = analyser!;
    const droppedBefore = a.droppedFrames;
    const calls = [0, 1, 2, 3, 4].map((i) => a.analyseFrame(frameOf(amy, 10 + i)));
    const results = await Promise.all(calls);
    assert.deepEqual(
      results.map((r) => r?.seq ?? null),
      [10, null, null, null, 14],
    );
    assert.equal(a.droppedFrames - droppedBefore, 3);
  });

  test('an empty frame is a result with no faces', async () => {
    const result = await analyser!.analyseFrame(frameOf(blankImage(), 20));
    assert.deepEqual(result?.faces, []);
  });

  test('enrollImages runs the quality gate per image', async () => {
    const good = await readFile(sharedPath('data', 'faces', 'bbt', 'amy', 'amy1.png'));
    const blankPng = await composeFacePng(sharedPath('data', 'faces', 'bbt', 'amy', 'amy1.png'), 8);
    const results = await analyser!.enrollImages([good, new Uint8Array([1, 2, 3, 4]), blankPng], 'test');
    assert.equal(results.length, 3);
    assert.equal(results[0]?.accepted, true, JSON.stringify(results[0]?.reason));
    assert.equal(results[0]?.encoding?.vector.length, 128);
    assert.equal(results[0]?.encoding?.encoder, 'dlib-resnet128');
    assert.equal(results[0]?.encoding?.source, 'test');
    assert.equal(results[1]?.accepted, false);
    assert.match(results[1]?.reason ?? '', /^not-an-image/);
    assert.equal(results[2]?.accepted, false);
    assert.ok(['no-face', 'face-too-small'].includes(results[2]?.reason ?? ''), results[2]?.reason ?? '');
    const frames = await analyser!.enrollFrames([frameOf(amy, 30)], 'capture');
    assert.equal(frames[0]?.accepted, true);
  });

  test('a killed worker raises worker-crash, frames get null meanwhile, and it comes back', async () => {
    const a = analyser!;
    await a.kill();
    await until(() => alarms.some((x) => x.kind === 'worker-crash'), 'the worker-crash alarm');
    assert.equal(a.workerCrashes, 1);
    assert.equal(await a.analyseFrame(frameOf(amy, 40)), null, 'no analysis while the worker is down');
    // Enrollment runs in a worker of its own, so it does not wait for the live one to come back.
    const enrolled = await a.enrollImages([new Uint8Array([1])], 'x');
    assert.match(enrolled[0]?.reason ?? '', /^not-an-image/);
    await until(() => a.ready, 'the worker to restart');
    const result = await a.analyseFrame(frameOf(amy, 41));
    assert.equal(result?.faces.length, 1);
  });
});

describe('inference worker on the default pipeline (YuNet + reid-0095)', { skip: skipUnlessShared }, () => {
  let yunetAnalyser: WorkerAnalyser | undefined;
  let modelsDir = '';
  before(async () => {
    amy = await composeFaceImage(sharedPath('data', 'faces', 'bbt', 'amy', 'amy5.png'));
    modelsDir = await mkdtemp(path.join(tmpdir(), 'facegate-worker-models-'));
    await importGraphModels(modelsDir);
    yunetAnalyser = await WorkerAnalyser.start(
      {
        pipeline: { backend: 'wasm', detector: 'yunet', encoder: 'reid-0095', modelsDir },
        threshold: null,
        gate: { minFaceSize: 40, minScore: 0.5 },
        maxImagePixels: 40_000_000,
      },
      { logger: pino({ level: 'silent' }) },
    );
  });
  after(async () => {
    await yunetAnalyser?.close();
    await rm(modelsDir, { recursive: true, force: true });
  });

  test('reports yunet + reid-0095 at 0.6 and returns five keypoints inside the full-frame box', async () => {
    const a = yunetAnalyser!;
    assert.equal(a.detector, 'yunet');
    assert.equal(a.encoderId, 'reid-0095');
    assert.equal(a.threshold, 0.6);
    const result = await a.analyseFrame(frameOf(amy, 1));
    assert.equal(result?.faces.length, 1);
    const face = result!.faces[0]!;
    assert.equal(face.descriptor.length, 256);
    const norm = Math.hypot(...face.descriptor);
    assert.ok(Math.abs(norm - 1) < 1e-4, `unit descriptor, norm ${norm}`);
    // The composed frame puts the 240 px face around x 200..440 of 640: full-frame, not detector-input, coordinates.
    assert.ok(face.box.width > 150 && face.box.x > 100 && face.box.x < 320, JSON.stringify(face.box));
    const kps = face.keypoints;
    assert.ok(kps && kps.length === 5, 'five keypoints');
    const { x, y, width, height } = face.box;
    for (const p of kps) assert.ok(p.x > x && p.x < x + width && p.y > y && p.y < y + height, JSON.stringify(p));
    assert.ok(kps[0].x < kps[1].x, 'image-left eye left of image-right eye');
    assert.ok(kps[2].y > kps[0].y && kps[3].y > kps[2].y, 'nose below the eyes, mouth below the nose');
  });

  test('enrollment in its worker stores 256-d reid-0095 encodings', async () => {
    const good = await readFile(sharedPath('data', 'faces', 'bbt', 'amy', 'amy1.png'));
    const results = await yunetAnalyser!.enrollImages([good], 'test');
    assert.equal(results[0]?.accepted, true, JSON.stringify(results[0]?.reason));
    assert.equal(results[0]?.encoding?.encoder, 'reid-0095');
    assert.equal(results[0]?.encoding?.vector.length, 256);
  });
});
