/**
 * The first run as a newcomer sees it: on the embedded defaults `facegate run` logs no WARN, neither at start nor on
 * a clean stop (SIGTERM, exit 0); no log line repeats a key; a terminal gets one line per event and one hint line
 * (badges on stdin, the kiosk page).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { firstRunHint } from '../../src/cli/first-run.ts';
import { createLogger } from '../../src/daemon/logger.ts';
import { minifasnetModelKind } from '../../src/recognition/graph-model-kinds.ts';
import { importGraphModels } from '../helpers/graph-models.ts';
import { repoRoot, sharedPath, skipUnlessShared } from '../helpers/shared.ts';

let root = '';

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'facegate-first-run-'));
});
after(() => rm(root, { recursive: true, force: true }));

/** Keys that occur more than once in one raw JSON line (JSON.parse would silently keep the last). */
function duplicateKeys(line: string): string[] {
  const seen = new Map<string, number>();
  // Top-level keys only: the daemon's lines are flat apart from a few arrays of strings.
  for (const m of line.matchAll(/[{,]"([^"]+)":/g)) seen.set(m[1] as string, (seen.get(m[1] as string) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
}

test('embedded defaults: no WARN at start or on a clean stop, no duplicate keys, exit 0', {
  skip: skipUnlessShared,
}, async (t) => {
  const frames = path.join(root, 'frames');
  await mkdir(frames, { recursive: true });
  // The models a first start fetches (YuNet, reid-0095, MiniFASNet), imported as `facegate models import` does: this
  // machine has no network, and a missing model is rightly a WARN (the face-api fallback, anti-spoofing unavailable).
  const models = path.join(root, 'models');
  await importGraphModels(models);
  await minifasnetModelKind.importFrom!(sharedPath('models', 'minifasnet'), models);
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FACEGATE')));
  const child = spawn(
    process.execPath,
    [path.join(repoRoot, 'bin', 'facegate.js'), 'run', '--camera', `dir:${frames}`, '--http-port', '0'],
    {
      cwd: root,
      // Port 0: the embedded broker on a free port, so the test never meets a broker already on 1883.
      env: {
        ...clean,
        FACEGATE_ETC_DIR: path.join(root, 'etc'),
        FACEGATE_MODELS_DIR: models,
        FACEGATE__mqtt__embeddedBroker__port: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      if (stdout.includes('"event":"started"')) resolve();
    });
    void exited.then((code) => reject(new Error(`exited ${code} before starting: ${stderr}`)));
  });
  // The MQTT module connects to its broker just after start; give it that moment, then stop.
  await new Promise((r) => setTimeout(r, 1500));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  const lines = stdout.split('\n').filter((l) => l.startsWith('{'));
  assert.ok(
    lines.some((l) => l.includes('"event":"stopped"')),
    'a clean stop',
  );
  for (const line of lines) assert.deepEqual(duplicateKeys(line), [], line);
  const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level >= 40);
  assert.deepEqual(
    warnings.map((w) => w.msg),
    [],
  );
  assert.equal(stderr, '');
});

test('pretty logs on a terminal: one line per event, fields on that line', () => {
  const written: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      written.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level: 'info', pretty: true, base: { kioskId: 'k1' }, destination: sink });
  logger.info(
    { event: 'started', mode: 'badge+face', badgeSources: ['stdin'], nested: { a: 1, b: [1, 2] } },
    'facegate running',
  );
  logger.warn({ event: 'camera', state: 'no-camera' }, 'camera no-camera');
  const text = written.join('');
  const lines = text.split('\n').filter(Boolean);
  assert.equal(lines.length, 2, text);
  assert.match(lines[0] as string, /INFO.*facegate running.*"event":"started".*"nested":\{"a":1,"b":\[1,2\]\}/);
  assert.ok(!text.includes('k1'), 'the kiosk id is not repeated on every terminal line');
});

test('the first-run hint: badges on stdin and the page, on a terminal only', () => {
  assert.equal(
    firstRunHint({ terminal: true, stdinBadges: true, displayUrl: 'http://127.0.0.1:8080/' }),
    'ready: type a badge number and press Enter to present it; kiosk page: http://127.0.0.1:8080/ (Ctrl-C stops)',
  );
  assert.equal(
    firstRunHint({ terminal: true, stdinBadges: false, displayUrl: 'http://127.0.0.1:8080/' }),
    'ready: kiosk page: http://127.0.0.1:8080/ (Ctrl-C stops)',
  );
  assert.equal(firstRunHint({ terminal: false, stdinBadges: true, displayUrl: 'http://127.0.0.1:8080/' }), null);
  assert.equal(firstRunHint({ terminal: true, stdinBadges: false, displayUrl: null }), null);
});
