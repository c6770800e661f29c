import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import type { CameraSource, CameraState } from '../../../src/hardware/camera/camera.ts';
import { createCamera } from '../../../src/hardware/camera/create.ts';
import { type FfmpegCamera, ffmpegArgs } from '../../../src/hardware/camera/ffmpeg-source.ts';
import type { Frame } from '../../../src/hardware/camera/frame.ts';
import { encodeImage } from '../../../src/runtime/image.ts';
import { Backoff } from '../../../src/util/backoff.ts';
import { FacegateError } from '../../../src/util/errors.ts';
import { hasShared, sharedPath } from '../../helpers/shared.ts';

const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;
const skipUnlessFfmpeg: string | false = hasFfmpeg ? false : 'ffmpeg not installed (Debian package ffmpeg)';
const work = mkdtempSync(path.join(tmpdir(), 'facegate-camera-'));
after(() => rmSync(work, { recursive: true, force: true }));

/**
 * Collects frames and states from a source, with waits that poll instead of timing. The source is stopped when the
 * test ends, also when an assertion failed first: a source left running retries forever and the file never exits.
 */
class Recorder {
  frames: Frame[] = [];
  states: Array<{ state: CameraState; detail?: string }> = [];
  constructor(
    readonly camera: CameraSource,
    t: TestContext,
  ) {
    t.after(() => camera.stop());
    camera.start(
      (frame) => this.frames.push(frame),
      (state, detail) => this.states.push({ state, detail }),
    );
  }
  async until(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; states: ${JSON.stringify(this.states)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  has(state: CameraState, from = 0): boolean {
    return this.states.slice(from).some((s) => s.state === state);
  }
}

function solid(width: number, height: number, value: number) {
  return { data: new Uint8Array(width * height * 3).fill(value), width, height };
}

describe('camera specs', () => {
  test('bad specs are config errors', () => {
    for (const spec of ['usb0', 'v4l2:', 'rtsp://x', 'webcam:/dev/video0;reboot']) {
      assert.throws(
        () => createCamera(spec),
        (err: unknown) => err instanceof FacegateError && err.exitCode === 78,
        spec,
      );
    }
  });

  test('ffmpeg argv: v4l2 opens MJPEG at size and rate; video replays at real rate, looping', () => {
    const v4l2 = ffmpegArgs('v4l2', '/dev/video0', { width: 640, height: 480, fps: 10 }).join(' ');
    assert.match(v4l2, /-f v4l2 -input_format mjpeg -video_size 640x480 -framerate 10 -i \/dev\/video0/);
    assert.match(v4l2, /-pix_fmt rgb24 -f rawvideo pipe:1$/);
    const video = ffmpegArgs('video', 'a.mp4', {}).join(' ');
    assert.match(video, /-re -stream_loop -1 -i a\.mp4/);
    assert.doesNotMatch(ffmpegArgs('video', 'a.mp4', { loop: false }).join(' '), /stream_loop/);
  });

  test('backoff doubles from 0.5 s to 30 s and resets after a stable session', () => {
    let now = 0;
    const backoff = new Backoff({ now: () => now });
    const delays = Array.from({ length: 9 }, () => backoff.nextDelayMs());
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    backoff.markHealthy();
    now += 5000;
    assert.equal(backoff.nextDelayMs(), 30000, 'a short session does not reset');
    backoff.markHealthy();
    now += 10_000;
    assert.equal(backoff.nextDelayMs(), 500);
  });
});

describe('dir camera', () => {
  const folder = path.join(work, 'frames');
  before(async () => {
    rmSync(folder, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', folder]);
    // Natural order: frame2 before frame10; the pixel value says which file a frame came from.
    writeFileSync(path.join(folder, 'frame1.png'), await encodeImage(solid(8, 6, 10)));
    writeFileSync(path.join(folder, 'frame2.png'), await encodeImage(solid(8, 6, 20)));
    writeFileSync(path.join(folder, 'frame10.png'), await encodeImage(solid(8, 6, 30)));
    writeFileSync(path.join(folder, 'frame3.png'), 'not a png');
    writeFileSync(path.join(folder, 'notes.txt'), 'ignored');
  });

  test('delivers images in natural name order, looping, skipping undecodable files', async (t) => {
    const rec = new Recorder(createCamera(`dir:${folder}`, { intervalMs: 5 }), t);
    await rec.until('7 frames', () => rec.frames.length >= 7);
    await rec.camera.stop();
    const values = rec.frames.slice(0, 7).map((f) => f.image.data[0]);
    assert.deepEqual(values, [10, 20, 30, 10, 20, 30, 10]);
    assert.deepEqual(
      rec.frames.slice(0, 7).map((f) => f.seq),
      [1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(rec.frames[0]?.image.width, 8);
    assert.notEqual(rec.frames[0]?.image.data, rec.frames[3]?.image.data, 'each frame owns its pixels');
    assert.deepEqual(
      rec.states.map((s) => s.state),
      ['starting', 'streaming'],
    );
  });

  test('loop: false ends with no-camera after the last image', async (t) => {
    const rec = new Recorder(createCamera(`dir:${folder}`, { intervalMs: 5, loop: false }), t);
    await rec.until('end', () => rec.has('no-camera'));
    await rec.camera.stop();
    assert.equal(rec.frames.length, 3);
    assert.match(rec.states.at(-1)?.detail ?? '', /end of folder/);
  });

  test('a missing folder is no-camera, not an exception', async (t) => {
    const rec = new Recorder(createCamera(`dir:${path.join(work, 'absent')}`, {}), t);
    await rec.until('no-camera', () => rec.has('no-camera'));
    await rec.camera.stop();
    assert.equal(rec.frames.length, 0);
  });
});

describe('ffmpeg cameras', { skip: skipUnlessFfmpeg }, () => {
  const clip = path.join(work, 'clip.mp4');
  before(() => {
    const faces = hasShared
      ? ['penny', 'leonard', 'sheldon'].map((p) => sharedPath('data', 'faces', 'bbt', p, `${p}5.png`))
      : [];
    // A short clip of real faces when the shared data is there (2 s each), else ffmpeg's test pattern.
    const args =
      faces.length > 0
        ? [
            ...faces.flatMap((f) => ['-loop', '1', '-t', '1', '-framerate', '10', '-i', f]),
            '-filter_complex',
            `${faces.map((_, i) => `[${i}:v]scale=320:240,setsar=1[v${i}]`).join(';')};${faces.map((_, i) => `[v${i}]`).join('')}concat=n=${faces.length}:v=1:a=0[out]`,
            '-map',
            '[out]',
          ]
        : ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10', '-t', '3'];
    const out = spawnSync('ffmpeg', ['-y', '-loglevel', 'error', ...args, '-pix_fmt', 'yuv420p', clip], {
      encoding: 'utf8',
    });
    assert.equal(out.status, 0, out.stderr);
  });

  test('video: frames of the configured size with increasing seq, timestamped at capture', async (t) => {
    const started = Date.now();
    const rec = new Recorder(createCamera(`video:${clip}`, { width: 160, height: 120 }), t);
    await rec.until('5 frames', () => rec.frames.length >= 5);
    await rec.camera.stop();
    for (const frame of rec.frames) {
      assert.equal(frame.image.width, 160);
      assert.equal(frame.image.height, 120);
      assert.equal(frame.image.data.length, 160 * 120 * 3);
      assert.ok(frame.capturedAt >= started && frame.capturedAt <= Date.now());
    }
    const seqs = rec.frames.map((f) => f.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
    assert.equal(new Set(seqs).size, seqs.length);
    assert.ok(
      rec.frames.some((f) => f.image.data.some((v) => v > 0)),
      'frames carry picture content',
    );
    assert.deepEqual(
      rec.states.map((s) => s.state),
      ['starting', 'streaming'],
    );
  });

  test('ffmpeg killed mid-stream: reconnecting, then frames again, process alive', async (t) => {
    const camera = createCamera(`video:${clip}`, { width: 160, height: 120 }) as FfmpegCamera;
    const rec = new Recorder(camera, t);
    await rec.until('streaming', () => rec.frames.length >= 3);
    const pid = camera.childPid;
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    const statesBefore = rec.states.length;
    await rec.until('reconnecting', () => rec.has('reconnecting', statesBefore));
    const framesAtLoss = rec.frames.length;
    await rec.until('frames again', () => rec.frames.length >= framesAtLoss + 3);
    await camera.stop();
    assert.ok(rec.has('streaming', statesBefore + 1), 'streaming again after the reconnect');
    assert.notEqual(camera.childPid, pid);
    const seqs = rec.frames.map((f) => f.seq);
    assert.ok(
      seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number)),
      'seq keeps increasing across sessions',
    );
  });

  test('video without loop ends with no-camera "end of video"', async (t) => {
    const rec = new Recorder(createCamera(`video:${clip}`, { width: 64, height: 48, loop: false, fps: 30 }), t);
    await rec.until('end', () => rec.has('no-camera'));
    await rec.camera.stop();
    assert.ok(rec.frames.length > 0);
    assert.match(rec.states.at(-1)?.detail ?? '', /end of video/);
  });

  test('an unreadable device is no-camera, still retrying, and stop() ends it', async (t) => {
    const rec = new Recorder(createCamera('v4l2:/dev/video-facegate-absent', {}), t);
    await rec.until('no-camera', () => rec.has('no-camera'));
    assert.match(rec.states.at(-1)?.detail ?? '', /not found; retrying in/);
    await rec.camera.stop();
  });

  test('a missing ffmpeg binary is no-camera with the package to install', async (t) => {
    const rec = new Recorder(createCamera(`video:${clip}`, { ffmpegPath: path.join(work, 'no-ffmpeg') }), t);
    await rec.until('no-camera', () => rec.has('no-camera'));
    await rec.camera.stop();
    assert.match(rec.states.at(-1)?.detail ?? '', /install the Debian package ffmpeg/);
  });
});

describe('webcam camera (node-webcam / fswebcam)', () => {
  test('an absent device reports a camera state instead of throwing', async (t) => {
    const rec = new Recorder(createCamera('webcam:/dev/video-facegate-absent', { intervalMs: 50 }), t);
    await rec.until('no-camera', () => rec.has('no-camera'));
    await rec.camera.stop();
    assert.equal(rec.frames.length, 0);
  });

  test('with fswebcam installed, an absent device is no-camera whatever fswebcam says about it', async (t) => {
    // Seen: fswebcam appearing on the machine turned this into endless "reconnecting" retries. A stand-in that
    // fails with wording the source does not know, so the state must come from the device path itself.
    const fswebcam = path.join(work, 'fswebcam-stand-in');
    writeFileSync(fswebcam, '#!/bin/sh\necho "VIDIOC_S_INPUT: Inappropriate ioctl for device" >&2\nexit 1\n');
    chmodSync(fswebcam, 0o755);
    const rec = new Recorder(
      createCamera('webcam:/dev/video-facegate-absent', { intervalMs: 50, fswebcamPath: fswebcam }),
      t,
    );
    await rec.until('no-camera', () => rec.has('no-camera'));
    assert.equal(rec.frames.length, 0);
    assert.equal(rec.has('reconnecting'), false);
    assert.match(rec.states.at(-1)?.detail ?? '', /\/dev\/video-facegate-absent not found; retrying in/);
  });

  test('a missing fswebcam binary is no-camera with the package to install, whatever the device', async (t) => {
    const rec = new Recorder(
      createCamera('webcam:/dev/video0', { intervalMs: 50, fswebcamPath: 'fswebcam-facegate-absent' }),
      t,
    );
    await rec.until('no-camera', () => rec.has('no-camera'));
    assert.equal(rec.frames.length, 0);
    assert.match(
      rec.states.at(-1)?.detail ?? '',
      /fswebcam-facegate-absent not found \(install the Debian package fswebcam\)/,
    );
  });
});
