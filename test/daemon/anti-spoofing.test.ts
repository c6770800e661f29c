/**
 * Anti-spoofing in a spawned `facegate run` (issue 12): the badge holder enrolled from photos 1..4 with
 * `facegate enroll`, and a STILL photo of them (their 5th photo, as a print held up to the camera would look: the
 * same picture frame after frame) as the `dir:` camera. `--anti-spoofing active`: the challenge cannot be done by
 * a still picture → denied `liveness-failed`, the relay never unlocked. `--anti-spoofing off`: the same picture
 * → granted (so the denial above is the liveness layer's, not a recognition failure).
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { composeFacePng } from '../../bench/face-frames.ts';
import { facegate } from '../helpers/cli.ts';
import { repoRoot, sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const BADGE = '11110001';

interface Daemon {
  child: ChildProcessWithoutNullStreams;
  lines: Array<Record<string, unknown>>;
  stderr: () => string;
}

async function until<T>(get: () => T | undefined, what: string, timeoutMs = 120_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (Date.now() - start > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('spawned daemon with anti-spoofing', { skip: skipUnlessShared }, () => {
  let dir = '';
  let frames = '';
  let db = '';
  const running: Daemon[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-antispoof-'));
    frames = path.join(dir, 'frames');
    await mkdir(frames);
    await writeFile(
      path.join(frames, 'still.png'),
      await composeFacePng(sharedPath('data', 'faces', 'bbt', 'amy', 'amy5.png')),
    );
    db = path.join(dir, 'faces.json');
    const photos = [1, 2, 3, 4].map((n) => sharedPath('data', 'faces', 'bbt', 'amy', `amy${n}.png`));
    const enrolled = await facegate(['--db', db, '--backend', 'wasm', 'enroll', 'amy', ...photos, '--badge', BADGE]);
    assert.equal(enrolled.code, 0, enrolled.stderr);
  });

  after(async () => {
    for (const d of running) if (d.child.exitCode === null) d.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  function start(mode: string, relayFile: string): Daemon {
    const child = spawn(
      process.execPath,
      [
        path.join(repoRoot, 'bin', 'facegate.js'),
        '--db',
        db,
        '--backend',
        'wasm',
        'run',
        '--camera',
        `dir:${frames}`,
        '--relay',
        `simulated:${relayFile}`,
        '--badge',
        'stdin',
        '--data-dir',
        path.join(dir, `data-${mode}`),
        '--mqtt',
        'none',
        '--http-port',
        '0',
        '--anti-spoofing',
        mode,
        // debug: the flow's state lines, to badge only once the camera's face is being analysed.
        '--log-level',
        'debug',
      ],
      {
        cwd: dir,
        // A loaded test machine may analyse a frame a second: the badge window must not be what decides.
        env: { ...process.env, FACEGATE_OFFLINE: '1', FACEGATE__door__badgeWindowMs: '60000' },
      },
    );
    const d: Daemon = { child, lines: [], stderr: () => err };
    let err = '';
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) if (line.trim()) d.lines.push(JSON.parse(line) as Record<string, unknown>);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    running.push(d);
    return d;
  }

  async function decisionOf(
    mode: string,
  ): Promise<{ access: Record<string, unknown>; relay: string; lines: Array<Record<string, unknown>> }> {
    const relayFile = path.join(dir, `relay-${mode}.jsonl`);
    const d = start(mode, relayFile);
    try {
      await until(() => (d.lines.some((l) => l.event === 'started') ? true : undefined), `start (${d.stderr()})`);
      const facePresent = () => d.lines.some((l) => l.event === 'flowState' && l.state === 'FACE_PRESENT');
      await until(() => (facePresent() ? true : undefined), 'the face in front of the camera to be analysed');
      d.child.stdin.write(`${BADGE}\n`);
      const access = await until(() => d.lines.find((l) => l.event === 'access'), 'an access decision');
      const exited = new Promise((resolve) => d.child.once('exit', resolve));
      d.child.kill('SIGTERM');
      await exited;
      return { access, relay: await readFile(relayFile, 'utf8'), lines: d.lines };
    } finally {
      if (d.child.exitCode === null) d.child.kill('SIGKILL');
    }
  }

  test('--anti-spoofing active: a still photo of the badge holder → denied liveness-failed, door locked', async () => {
    const { access, relay, lines } = await decisionOf('active');
    assert.equal(access.decision, 'denied', JSON.stringify(access));
    assert.equal(access.reason, 'liveness-failed');
    // The challenge ran on the camera's frames and said why (for the log only).
    const verdict = lines.find((l) => l.event === 'liveness');
    assert.ok(verdict && ['timeout', 'flat', 'wrong-move'].includes(String(verdict.verdict)), JSON.stringify(verdict));
    assert.equal(access.identityId, 'amy');
    assert.ok(!relay.includes('"unlocked"'), 'the relay never unlocked');
  });

  test('--anti-spoofing off: the same picture → granted', async () => {
    const { access, relay } = await decisionOf('off');
    assert.equal(access.decision, 'granted', JSON.stringify(access));
    assert.equal(access.identityId, 'amy');
    assert.ok(relay.includes('"unlocked"'));
  });
});
