/**
 * One enrollment over MQTT through the real face pipeline (not the fake analyser): real bbt photos in, real
 * encodings stored, and the stored identity verifies the same person's held-out photo and not someone else's.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { FaceAnalyser } from '../../src/bus/module.ts';
import { signCommand } from '../../src/mqtt/auth.ts';
import { createMqttModule, type MqttModule } from '../../src/mqtt/module.ts';
import type { EnrollSampleResult } from '../../src/recognition/enrollment.ts';
import { checkEnrollmentSample, DEFAULT_QUALITY_GATE } from '../../src/recognition/enrollment.ts';
import { FacePipeline } from '../../src/recognition/pipeline.ts';
import { verifyDescriptor } from '../../src/recognition/verification.ts';
import { decodeImage, loadImage } from '../../src/runtime/image.ts';
import { startTestBroker, type TestBroker } from '../helpers/mosquitto.ts';
import { fakeDaemon, Inbox, observer, TEST_SECRET, testMqttConfig, waitFor } from '../helpers/mqtt-fixtures.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

let broker: TestBroker;
let pipeline: FacePipeline;
let mod: MqttModule;
let client: MqttClient;

after(async () => {
  await mod?.stop();
  await client?.endAsync();
  await broker?.close();
  pipeline?.dispose();
});

test('enroll leonard over MQTT with the real pipeline; his 5th photo verifies, penny does not', {
  skip: skipUnlessShared,
  timeout: 180_000,
}, async () => {
  broker = await startTestBroker();
  pipeline = await FacePipeline.create();
  const daemon = await fakeDaemon('real');
  const encoderId = pipeline.encoder.id;
  // In-process stand-in for the worker-backed analyser: same decode → analyse → quality gate steps.
  const analyser: FaceAnalyser = {
    encoderId,
    threshold: 0.6,
    backend: 'in-process',
    ready: true,
    droppedFrames: 0,
    analysedFrames: 0,
    analyseFrame: async () => null,
    enrollImages: async (images, source) => {
      const out: EnrollSampleResult[] = [];
      for (const bytes of images)
        out.push(
          checkEnrollmentSample(
            await pipeline.analyse(await decodeImage(bytes)),
            DEFAULT_QUALITY_GATE,
            source,
            encoderId,
          ),
        );
      return out;
    },
    enrollFrames: async () => [],
    close: async () => undefined,
  };
  daemon.ctx.analyser = analyser;
  mod = createMqttModule(daemon.ctx, testMqttConfig(broker.url, broker.protocolVersion));
  await mod.start();
  await waitFor('connected', () => (mod.connected ? true : undefined));
  client = await observer(broker.url, broker.protocolVersion, undefined, ['facegate/real/cmd/+/result']);
  const inbox = new Inbox(client);

  const images = [1, 2, 3].map((n) =>
    readFileSync(sharedPath('data', 'faces', 'bbt', 'leonard', `leonard${n}.png`)).toString('base64'),
  );
  const requestId = randomUUID();
  const payload = signCommand(
    'enroll',
    { requestId, id: 'leonard', name: 'Leonard', badges: ['4242'], images },
    { secret: TEST_SECRET },
    { kiosk: 'real' },
  );
  await client.publishAsync('facegate/real/cmd/enroll', JSON.stringify(payload), { qos: 1 });
  const result = await waitFor(
    'enroll result',
    () => inbox.json('facegate/real/cmd/enroll/result').find((r) => r.requestId === requestId),
    120_000,
  );
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.ok((result.accepted as number) >= 2, `accepted ${result.accepted} of 3`);
  const stored = daemon.ctx.db.get('leonard');
  assert.equal(stored?.encodings[0]?.encoder, encoderId);

  const probe = async (file: string) =>
    (await pipeline.analyse(await loadImage(sharedPath('data', 'faces', 'bbt', ...file.split('/'))))).faces[0]!
      .descriptor;
  const same = verifyDescriptor(daemon.ctx.db, await probe('leonard/leonard5.png'), 'leonard', encoderId, 0.6);
  const other = verifyDescriptor(daemon.ctx.db, await probe('penny/penny5.png'), 'leonard', encoderId, 0.6);
  process.stderr.write(
    `# real pipeline: leonard5 distance ${same.distance?.toFixed(3)}, penny5 distance ${other.distance?.toFixed(3)}\n`,
  );
  assert.equal(same.match, true);
  assert.equal(other.match, false);
});
