/**
 * The composition root with the real inference worker (models from ../shared): features from the list start after
 * the door flow in list order with a context that reaches frames, and stop in reverse; a feature the config turns
 * off is never built; a feature that fails to start stops everything started before it and leaves the relay locked.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import type { Feature } from '../../src/bus/module.ts';
import { defaultConfig } from '../../src/config/index.ts';
import type { FacegateConfig } from '../../src/config/schema.ts';
import { compose } from '../../src/daemon/compose.ts';
import type { CameraSource } from '../../src/hardware/camera/camera.ts';
import { skipUnlessShared } from '../helpers/shared.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-compose-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const idleCamera: CameraSource = { description: 'idle camera', start: () => {}, stop: async () => {} };

function config(relayFile: string): FacegateConfig {
  const base = defaultConfig();
  return {
    ...base,
    kioskId: 'compose',
    recognition: { ...base.recognition, backend: 'wasm' },
    door: { ...base.door, relay: `simulated:${relayFile}` },
    badge: { ...base.badge, sources: ['none'] },
    data: { dir, dbFile: path.join(dir, 'faces.json') },
    logging: { level: 'silent' },
  };
}

/** A feature that records its life in `log`; `failStart` makes its start reject. */
function recorder(name: string, log: string[], opts: { on?: boolean; failStart?: boolean } = {}): Feature {
  return {
    name,
    enabled: () => opts.on ?? true,
    create: (ctx) => {
      log.push(`create ${name}`);
      return {
        name,
        async start() {
          // The context is complete when a feature starts: frames, metrics and the analyser are there.
          log.push(`start ${name} ${typeof ctx.frames.use} ${typeof ctx.metrics.render} ${ctx.analyser.ready}`);
          if (opts.failStart) throw new Error(`${name} cannot start`);
        },
        async stop() {
          log.push(`stop ${name}`);
        },
      };
    },
  };
}

test('features start in list order after the door flow and stop in reverse; an off feature is never built', {
  skip: skipUnlessShared,
  timeout: 180_000,
}, async (t) => {
  const log: string[] = [];
  const daemon = await compose(config(path.join(dir, 'relay-a.jsonl')), {
    logger: pino({ level: 'silent' }),
    camera: idleCamera,
    features: [recorder('first', log), recorder('off', log, { on: false }), recorder('second', log)],
  });
  t.after(() => daemon.stop());
  assert.equal(daemon.flow.state, 'IDLE');
  assert.deepEqual(log, [
    'create first',
    'start first function function true',
    'create second',
    'start second function function true',
  ]);
  await daemon.stop();
  assert.deepEqual(log.slice(4), ['stop second', 'stop first']);
  await daemon.stop(); // twice is fine
  assert.equal(log.length, 6);
});

test('a feature that fails to start: the ones before it stop, the relay ends locked, the error comes out', {
  skip: skipUnlessShared,
  timeout: 180_000,
}, async () => {
  const log: string[] = [];
  const relayFile = path.join(dir, 'relay-b.jsonl');
  await assert.rejects(
    compose(config(relayFile), {
      logger: pino({ level: 'silent' }),
      camera: idleCamera,
      features: [recorder('good', log), recorder('bad', log, { failStart: true }), recorder('never', log)],
    }),
    /bad cannot start/,
  );
  assert.ok(!log.some((l) => l.endsWith('never')), 'nothing is built after the failure');
  assert.equal(log.at(-1), 'stop good');
  const states = (await readFile(relayFile, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { state: string }).state);
  assert.equal(states.at(-1), 'locked');
  assert.ok(!states.includes('unlocked'));
});
