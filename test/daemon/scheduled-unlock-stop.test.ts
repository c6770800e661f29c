/**
 * Fail-secure stop of a scheduled-unlock hold, as a kiosk runs it: a spawned `facegate run` whose schedule is open
 * all week holds the (simulated, recording) relay unlocked; SIGTERM during the hold must leave it locked.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { putSchedule } from '../../src/access/rule-edits.ts';
import { FaceDb } from '../../src/store/face-db.ts';
import { repoRoot, skipUnlessShared } from '../helpers/shared.ts';

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const relayStates = async (file: string): Promise<string[]> =>
  (await readFile(file, 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { state: string }).state);

test('SIGTERM during a scheduled-unlock hold leaves the relay locked', { skip: skipUnlessShared }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-hold-stop-'));
  let child: ChildProcessWithoutNullStreams | null = null;
  t.after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  const dbFile = path.join(dir, 'faces.json');
  const db = await FaceDb.open(dbFile);
  await putSchedule(db, { name: 'always', windows: ['mon-sun 00:00-24:00'] });
  const relay = path.join(dir, 'relay.jsonl');
  const frames = path.join(dir, 'frames');
  await mkdir(frames);
  const config = path.join(dir, 'config.yaml');
  await writeFile(
    config,
    [
      'kioskId: hold-test',
      `door: { relay: "simulated:${relay}", timeZone: UTC, scheduledUnlock: { schedule: always } }`,
      `camera: { source: "dir:${frames}" }`,
      'badge: { sources: [none] }',
      'mqtt: { enabled: false }',
      'http: { enabled: false }',
      `data: { dir: "${path.join(dir, 'data')}", dbFile: "${dbFile}" }`,
      'recognition: { backend: wasm }',
      'audit: { enabled: false }',
    ].join('\n'),
  );
  let output = '';
  child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'facegate.js'), '--config', config, 'run'], {
    cwd: dir,
  });
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    output += c.toString();
  });
  await until(async () => output.includes('"event":"door-hold"'), `the hold to start (${output.slice(-2000)})`);
  await until(async () => (await relayStates(relay)).at(-1) === 'unlocked', 'the relay to be held unlocked');
  const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  await exited;
  const states = await relayStates(relay);
  assert.equal(states.at(-1), 'locked', `relay states: ${states.join(' ')}`);
  assert.ok(states.includes('unlocked'), 'the hold did unlock it');
});
