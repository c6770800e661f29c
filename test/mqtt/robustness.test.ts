/**
 * 1000 malformed payloads on every subscribed topic (seeded, so a failure reproduces): the module must answer each
 * command topic with an error result, never crash, never act, and still answer a valid `stats` afterwards.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { signCommand } from '../../src/mqtt/auth.ts';
import type { MqttModule } from '../../src/mqtt/module.ts';
import { startTestBroker, type TestBroker } from '../helpers/mosquitto.ts';
import {
  type FakeDaemon,
  fakeDaemon,
  Inbox,
  observer,
  solidPngBase64,
  startConnected,
  TEST_SECRET,
  testMqttConfig,
  waitFor,
} from '../helpers/mqtt-fixtures.ts';

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let broker: TestBroker;
let daemon: FakeDaemon;
let mod: MqttModule;
let client: MqttClient;
let inbox: Inbox;
const base = 'facegate/fuzz';

before(async () => {
  broker = await startTestBroker();
  daemon = await fakeDaemon('fuzz');
  mod = await startConnected(
    daemon.ctx,
    testMqttConfig(broker.url, broker.protocolVersion, {
      fleet: { enabled: true, topic: 'facegate/_fleet', secret: 'fleet-secret-for-the-fuzz-test' },
      homeAssistant: { enabled: true },
      // Every malformed command must get its error result here, so the per-second cap on them is lifted.
      limits: { enrollPayloadBytes: 1024 * 1024, imageMaxPixels: 500_000, refusalResultsPerSecond: 1_000_000 },
    }),
  );
  client = await observer(broker.url, broker.protocolVersion, undefined, [`${base}/cmd/+/result`]);
  inbox = new Inbox(client);
});

after(async () => {
  await mod?.stop();
  await client?.endAsync();
  await broker?.close();
});

test('1000 malformed payloads: error results, no crash, nothing acted on, stats still answers', async () => {
  const rand = mulberry32(20240605);
  const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)]!;
  const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
  const bomb = await solidPngBase64(90, 90, 90, 1000); // 1 MP > the 0.5 MP limit
  const signed = (verb: string, body: Record<string, unknown>) =>
    JSON.stringify(signCommand(verb, body, { secret: TEST_SECRET }, { kiosk: 'fuzz' }));
  const generators: Array<(verb: string) => Buffer | string> = [
    (_v) => randomBytes(1 + Math.floor(rand() * 200)),
    (_v) => 'not json at all {',
    (_v) => '',
    (_v) => 'null',
    (_v) => '[1,2,3]',
    (_v) => '"a string"',
    (_v) => `${'['.repeat(5000)}${']'.repeat(5000)}`,
    (_v) => `{"a":${'{"a":'.repeat(200)}1${'}'.repeat(201)}`,
    (_v) => Buffer.concat([Buffer.from('{"x":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]),
    (_v) => `{"pad":"${'x'.repeat(70 * 1024)}"}`,
    (_v) => JSON.stringify({ cmd: 'unlock', ts: 'yesterday', nonce: 5, sig: ['x'] }),
    (v) => JSON.stringify({ cmd: v, ts: Date.now(), nonce: randomUUID(), sig: 'hmac-sha256:zz' }),
    (v) =>
      JSON.stringify({
        cmd: v,
        ts: Date.now(),
        nonce: randomUUID(),
        sig: `ed25519:${randomBytes(64).toString('base64')}`,
      }),
    (v) => signed(v, { id: 12, images: 'nope', badges: [1, 2], extra: true }),
    (_v) => signed('enroll', { id: 'x', images: ['%%%not-base64%%%'] }),
    (_v) => signed('enroll', { id: 'x', images: [randomBytes(300).toString('base64')] }),
    (_v) => signed('enroll', { id: 'bomb', images: [bomb] }),
    (_v) => signed('enroll', { id: 'x', images: [], capture: { samples: 1, timeoutMs: 1 } }),
    (_v) => signed('enroll', { id: 'x', capture: { samples: -1, timeoutMs: 'soon' } }),
    (_v) => signed('delete', { id: '' }),
    (_v) => signed('update', { id: 'ghost', validFrom: 'not a date' }),
    // Over the 1 MB enroll limit but under the packet size the module asks the broker for (bigger never arrives).
    (_v) => `{"pad":"${'x'.repeat(1030 * 1024)}"}`,
  ];
  const verbs = ['enroll', 'update', 'delete', 'list', 'unlock', 'reload', 'stats', 'opendoor', 'zz'];
  const otherTopics = [
    `${base}/badge`,
    `${base}/ha/lock/set`,
    'homeassistant/status',
    'facegate/_fleet/identities/alice',
    'facegate/_fleet/identities/%ZZ',
  ];
  const unlocks: string[] = [];
  daemon.ctx.bus.on('unlockRequest', (u) => unlocks.push(u.by));
  let commandsSent = 0;
  const hugeUsed = { count: 0 };
  for (let i = 0; i < 1000; i += 1) {
    let gen = pick(generators);
    // The 1 MB payloads are slow to push around; a few are enough.
    if (gen === generators[generators.length - 1]) {
      hugeUsed.count += 1;
      if (hugeUsed.count > 3) gen = generators[0]!;
    }
    if (rand() < 0.75) {
      const verb = pick(verbs);
      commandsSent += 1;
      await client.publishAsync(`${base}/cmd/${verb}`, gen(verb), { qos: 1 });
    } else {
      await client.publishAsync(pick(otherTopics), gen('badge'), { qos: 1 });
    }
  }
  const resultsFor = () => inbox.messages.filter((m) => /\/cmd\/[^/]+\/result$/.test(m.topic)).length;
  await waitFor(`${commandsSent} error results`, () => (resultsFor() >= commandsSent ? true : undefined), 60_000).catch(
    (err) => {
      throw new Error(
        `${(err as Error).message} (got ${resultsFor()}, counters ${JSON.stringify(mod.stats().commands)})`,
      );
    },
  );
  const results = inbox.messages.map((m) => JSON.parse(m.text) as { ok: boolean; error?: string });
  assert.equal(results.filter((r) => r.ok).length, 0, 'no malformed command succeeded');
  assert.ok(
    results.every((r) => typeof r.error === 'string' && r.error.length > 0 && !r.error.includes('\n')),
    'one-line errors',
  );
  assert.deepEqual(unlocks, [], 'nothing unlocked');
  assert.equal(daemon.ctx.db.list().length, 0, 'nothing enrolled');

  const requestId = randomUUID();
  await client.publishAsync(
    `${base}/cmd/stats`,
    JSON.stringify(signCommand('stats', { requestId }, { secret: TEST_SECRET }, { kiosk: 'fuzz' })),
    { qos: 1 },
  );
  const stats = await inbox.result(base, 'stats', requestId);
  assert.equal(stats.ok, true);
  const commands = stats.commands as { malformed: number; commandsRejected: number };
  assert.ok(commands.malformed > 100, `malformed counted (${commands.malformed})`);
  assert.ok(commands.commandsRejected > 50, `rejections counted (${commands.commandsRejected})`);
  process.stderr.write(`# fuzz: ${commandsSent} command payloads, stats ${JSON.stringify(stats.commands)}\n`);
});
