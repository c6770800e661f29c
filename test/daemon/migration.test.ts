/**
 * Database migration in the daemon (issue 17): a face database enrolled with dlib-resnet128 before the default
 * became YuNet + reid-0095 keeps working — the daemon picks the database's encoder (on tiny), logs exactly one
 * `encoder-migration` line saying how to re-enroll, and a known face is still granted in face mode.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { blankImage, composeFaceImage, frameOf } from '../../bench/face-frames.ts';
import type { AccessEvent } from '../../src/bus/event-bus.ts';
import { defaultConfig } from '../../src/config/index.ts';
import type { FacegateConfig } from '../../src/config/schema.ts';
import { compose, type Daemon } from '../../src/daemon/compose.ts';
import type { CameraSource } from '../../src/hardware/camera/camera.ts';
import type { Frame } from '../../src/hardware/camera/frame.ts';
import type { RgbImage } from '../../src/runtime/image.ts';
import { facegate } from '../helpers/cli.ts';
import { importGraphModels } from '../helpers/graph-models.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

class StillCamera implements CameraSource {
  readonly description = 'still camera';
  picture: RgbImage = blankImage();
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;
  start(onFrame: (frame: Frame) => void, onState: (state: 'streaming') => void): void {
    onState('streaming');
    this.timer = setInterval(() => onFrame(frameOf(this.picture, this.seq++)), 100);
  }
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
  }
}

describe('daemon on a database of dlib-resnet128 encodings', { skip: skipUnlessShared }, () => {
  let dir = '';
  let controller: Daemon | undefined;
  const camera = new StillCamera();
  const lines: Array<{ event?: string; msg?: string; encoder?: string; detector?: string }> = [];
  const access: AccessEvent[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-migration-'));
    const db = path.join(dir, 'faces.json');
    const models = path.join(dir, 'models');
    await importGraphModels(models);
    for (const person of ['amy', 'penny']) {
      const photos = [1, 2].map((n) => sharedPath('data', 'faces', 'bbt', person, `${person}${n}.png`));
      const r = await facegate([
        'enroll',
        person,
        ...photos,
        '--db',
        db,
        '--encoder',
        'dlib-resnet128',
        '--detector',
        'tiny',
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    const base = defaultConfig();
    const config: FacegateConfig = {
      ...base,
      kioskId: 'migration',
      recognition: { ...base.recognition, backend: 'wasm', modelsDir: models, fetchModels: false },
      // Anti-spoofing off: this test is about the encoder, and its frames are bbt stills (recaptured TV frames).
      door: {
        ...base.door,
        mode: 'face',
        relay: 'simulated',
        cooldownMs: 500,
        antiSpoofing: { ...base.door.antiSpoofing, mode: 'off' },
      },
      badge: { ...base.badge, sources: ['none'] },
      data: { dir, dbFile: db },
    };
    const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
    controller = await compose(config, { logger, camera, features: [] });
    controller.bus.on('access', (e) => access.push(e));
  });
  after(async () => {
    await controller?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('picks dlib-resnet128 on tiny and logs the migration hint exactly once', () => {
    assert.equal(controller!.analyser.encoderId, 'dlib-resnet128');
    const migration = lines.filter((l) => l.event === 'encoder-migration');
    assert.equal(migration.length, 1, JSON.stringify(lines.map((l) => l.event)));
    assert.match(
      migration[0]!.msg ?? '',
      /enrolled with dlib-resnet128 \(2 of 2 identities\).*reid-0095.*enroll --replace/,
    );
    const started = lines.find((l) => l.event === 'started');
    assert.deepEqual([started?.detector, started?.encoder], ['tiny', 'dlib-resnet128']);
  });

  test('an enrolled face is still granted', async () => {
    camera.picture = await composeFaceImage(sharedPath('data', 'faces', 'bbt', 'amy', 'amy5.png'));
    const start = Date.now();
    while (!access.some((e) => e.decision === 'granted')) {
      if (Date.now() - start > 120_000) assert.fail(`no grant: ${JSON.stringify(access)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const granted = access.find((e) => e.decision === 'granted')!;
    assert.equal(granted.identityId, 'amy');
    assert.equal(lines.filter((l) => l.event === 'encoder-migration').length, 1, 'still logged once');
  });
});
