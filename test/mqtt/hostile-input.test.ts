/**
 * Hostile payloads as an intruder sends them (issue 10, items 4 and 11): deep, wide and oversized JSON refused
 * before it is parsed, on every subscribed topic; no recursion over untrusted data; a packet-size limit in front of
 * the embedded broker; one spelling per signature; duplicate keys refused in signed payloads.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createConnection } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { mqttConfigSchema } from '../../src/config/sections/mqtt.ts';
import { canonicalJson, signatureValid, signCommand, signPayload } from '../../src/mqtt/auth.ts';
import { createMqttModule, type MqttModule } from '../../src/mqtt/module.ts';
import { parseJsonObject, scanJson } from '../../src/mqtt/validate.ts';
import { FLEET_SECRET } from '../helpers/fleet-fixtures.ts';
import { hasMosquitto, startTestBroker, type TestBroker } from '../helpers/mosquitto.ts';
import {
  type FakeDaemon,
  fakeDaemon,
  Inbox,
  observer,
  startConnected,
  TEST_SECRET,
  testMqttConfig,
  waitFor,
} from '../helpers/mqtt-fixtures.ts';

const LIMITS = { maxBytes: 64 * 1024 * 1024, maxDepth: 16, maxItems: 1024 };

/** `"k0":1,"k1":1,...` over about `bytes`: what held the main thread 2.4 s at 12 MB. */
function wideObject(bytes: number): string {
  const parts: string[] = [];
  for (let n = 0, len = 0; len < bytes; n += 1) {
    const part = `"k${n}":1`;
    parts.push(part);
    len += part.length + 1;
  }
  return `{${parts.join(',')}}`;
}

describe('the scan before parsing', () => {
  test('depth, items and duplicate keys are refused from the bytes alone', () => {
    const deep = Buffer.from(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`);
    assert.match(String((scanJson(deep, LIMITS) as { error: string }).error), /nested deeper than the limit of 16/);
    const wide = Buffer.from(wideObject(1024 * 1024));
    assert.match(String((scanJson(wide, LIMITS) as { error: string }).error), /more than 1024 items/);
    const numbers = Buffer.from(`{"a":[${'1,'.repeat(5000)}1]}`);
    assert.equal(scanJson(numbers, LIMITS).ok, false);
    // Brackets and quotes inside strings are text, escaped quotes do not end a string.
    const tricky = Buffer.from(`{"a":"[[[[{{{{\\"]]]]","b":"\\\\","c":[{"a":1},{"a":2}]}`);
    assert.deepEqual(scanJson(tricky, LIMITS), { ok: true });
    assert.equal(parseJsonObject(tricky, LIMITS).ok, true);
  });

  test('duplicate keys are refused at every level, escaped spellings included (JSON.parse keeps the last)', () => {
    for (const text of [
      '{"id":"alice","id":"bob"}',
      '{"id":"alice","\\u0069d":"bob"}',
      '{"a":{"x":1,"y":2,"x":3}}',
      '{"a":[{"x":1},{"x":1,"x":2}]}',
    ]) {
      const parsed = parseJsonObject(Buffer.from(text), LIMITS);
      assert.equal(parsed.ok, false, text);
      assert.match((parsed as { error: string }).error, /^duplicate key "(id|x)"$/, text);
    }
    // The same key in sibling objects is not a duplicate.
    assert.equal(parseJsonObject(Buffer.from('{"a":{"x":1},"b":{"x":2}}'), LIMITS).ok, true);
  });

  test('canonicalJson walks without recursion: 100 000 levels do not overflow the stack', () => {
    let value: unknown = 1;
    for (let i = 0; i < 100_000; i += 1) value = i % 2 ? [value] : { k: value };
    const text = canonicalJson(value);
    // 50 000 arrays `[…]` and 50 000 objects `{"k":…}` around the 1.
    assert.equal(text.length, 50_000 * 2 + 50_000 * 6 + 1);
    assert.ok(text.startsWith('[{"k":[{"k":'));
    assert.equal(
      canonicalJson({ b: [1, undefined, { d: 2, c: null }], a: 'x', u: undefined }),
      '{"a":"x","b":[1,null,{"c":null,"d":2}]}',
    );
  });
});

describe('one spelling per signature', () => {
  const admin = generateKeyPairSync('ed25519');
  const body = { cmd: 'unlock', kiosk: 'door-1', ts: 1, nonce: 'nonce-0001' };

  test('HMAC: upper-case hex and anything after the 64 hex digits are refused', () => {
    const signed = signPayload(body, { secret: TEST_SECRET });
    const sig = String(signed.sig);
    assert.equal(signatureValid(signed, TEST_SECRET, []), true);
    const hex = sig.slice('hmac-sha256:'.length);
    for (const variant of [`hmac-sha256:${hex.toUpperCase()}`, `${sig}00`, `${sig}zz`, `${sig} `, `HMAC-SHA256:${hex}`])
      assert.equal(signatureValid({ ...signed, sig: variant }, TEST_SECRET, []), false, variant);
  });

  test('Ed25519: only canonical padded base64 of 64 bytes', () => {
    const signed = signPayload(body, { privateKey: admin.privateKey });
    const sig = String(signed.sig);
    assert.equal(signatureValid(signed, undefined, [admin.publicKey]), true);
    const b64 = sig.slice('ed25519:'.length);
    // The character before "==" carries 2 bits of the last byte; setting one of the 4 unused bits decodes the same.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = alphabet.indexOf(b64[85]!);
    const sloppy = `${b64.slice(0, 85)}${alphabet[last | 1]}==`;
    assert.deepEqual(Buffer.from(sloppy, 'base64'), Buffer.from(b64, 'base64'));
    for (const variant of [`ed25519:${sloppy}`, `ed25519:${b64.slice(0, -2)}`, `${sig}AAAA`, `${sig}\n`])
      assert.equal(signatureValid({ ...signed, sig: variant }, undefined, [admin.publicKey]), false, variant);
  });
});

describe('against a real broker', () => {
  let broker: TestBroker;
  let daemon: FakeDaemon;
  let mod: MqttModule;
  let client: MqttClient;
  let inbox: Inbox;
  const kiosk = 'hostile';
  const base = `facegate/${kiosk}`;

  before(async () => {
    broker = await startTestBroker();
    daemon = await fakeDaemon(kiosk);
    await daemon.ctx.db.upsert({ id: 'alice', name: 'Alice', badges: [], enabled: true });
    await daemon.ctx.db.upsert({ id: 'bob', name: 'Bob', badges: [], enabled: true });
    const fleet = { enabled: true, topic: 'facegate/_fleet', secret: FLEET_SECRET };
    mod = await startConnected(daemon.ctx, testMqttConfig(broker.url, broker.protocolVersion, { fleet }));
    client = await observer(broker.url, broker.protocolVersion, undefined, [`${base}/cmd/+/result`]);
    inbox = new Inbox(client);
  });
  after(async () => {
    await mod?.stop();
    await client?.endAsync();
    await broker?.close();
  });

  test('wide and deep JSON is refused before parsing on command and fleet topics', async () => {
    const wide = wideObject(12 * 1024 * 1024);
    await client.publishAsync(`${base}/cmd/enroll`, wide, { qos: 1 });
    const enroll = await waitFor('enroll refusal', () => inbox.json(`${base}/cmd/enroll/result`)[0], 60_000);
    assert.match(String(enroll.error), /more than 1024 items/);
    const deep = `${'['.repeat(4 * 1024 * 1024)}${']'.repeat(4 * 1024 * 1024)}`;
    await client.publishAsync(`${base}/cmd/stats`, deep, { qos: 1 });
    const stats = await waitFor('stats refusal', () => inbox.json(`${base}/cmd/stats/result`)[0], 60_000);
    // 8 MB on a 64 KB topic: refused by its size before anything reads it.
    assert.match(String(stats.error), /over the 65536 byte limit/);
    const before = mod.stats().commands as { malformed: number };
    // Ids this kiosk holds no record for, so no repair is published (and no fleet state save runs into stop()).
    await client.publishAsync('facegate/_fleet/identities/zed', `{"v":${'['.repeat(100_000)}`, { qos: 1 });
    await client.publishAsync('facegate/_fleet/identities/yan', wideObject(2 * 1024 * 1024), { qos: 1 });
    await waitFor('fleet refusals', () =>
      (mod.stats().commands as { malformed: number }).malformed >= before.malformed + 2 ? true : undefined,
    );
    assert.equal(daemon.ctx.db.get('zed') ?? daemon.ctx.db.get('yan'), undefined, 'nothing applied');
  });

  test('a signed command with a duplicate key is refused, not read last-wins', async () => {
    const requestId = randomUUID();
    const signed = signCommand('delete', { id: 'alice', requestId }, { secret: TEST_SECRET }, { kiosk });
    // Someone who sees the signed text puts a second "id" in front: JSON.parse kept the signed (last) one, and
    // another reader of the same text would have taken "bob".
    const text = JSON.stringify(signed).replace('{', '{"id":"bob",');
    await client.publishAsync(`${base}/cmd/delete`, text, { qos: 1 });
    const result = await waitFor('delete refusal', () => inbox.json(`${base}/cmd/delete/result`)[0]);
    assert.equal(result.ok, false);
    assert.match(String(result.error), /duplicate key "id"/);
    assert.ok(daemon.ctx.db.get('alice'), 'alice kept');
    assert.ok(daemon.ctx.db.get('bob'), 'bob kept');
  });
});

test('the kiosk announces its maximum packet size: the broker drops bigger messages before they reach it', {
  skip: hasMosquitto ? false : 'needs Mosquitto (MQTT 5); aedes speaks 3.1.1 only',
}, async () => {
  const broker = await startTestBroker();
  const daemon = await fakeDaemon('packet-size');
  const limits = { enrollPayloadBytes: 256 * 1024 };
  const mod = await startConnected(daemon.ctx, testMqttConfig(broker.url, broker.protocolVersion, { limits }));
  const client = await observer(broker.url, broker.protocolVersion, undefined, ['facegate/packet-size/cmd/+/result']);
  try {
    const inbox = new Inbox(client);
    // 1 MB: over 256 KB + 64 KB, so Mosquitto never sends it; then 300 KB, which arrives and is refused by size.
    await client.publishAsync('facegate/packet-size/cmd/enroll', `{"pad":"${'x'.repeat(1024 * 1024)}"}`, { qos: 1 });
    await client.publishAsync('facegate/packet-size/cmd/enroll', `{"pad":"${'x'.repeat(300 * 1024)}"}`, { qos: 1 });
    const result = await waitFor('a refusal', () => inbox.json('facegate/packet-size/cmd/enroll/result')[0]);
    assert.match(String(result.error), /^payload is 30\d{4} bytes, over the 262144 byte limit$/);
    // Same client, same topic: had the 1 MB message arrived, its refusal would have come first.
    assert.equal(inbox.json('facegate/packet-size/cmd/enroll/result').length, 1, 'the 1 MB message never arrived');
    assert.equal((mod.stats().commands as { malformed: number }).malformed, 1);
  } finally {
    await client.endAsync();
    await mod.stop();
    await broker.close();
  }
});

test('the embedded broker drops a client that announces a packet over its limit, before the body arrives', async () => {
  const daemon = await fakeDaemon('embedded-limit');
  const config = mqttConfigSchema.parse({
    adminSecret: TEST_SECRET,
    embeddedBroker: { port: 0 },
    limits: { enrollPayloadBytes: 1024 * 1024 },
  });
  const mod = createMqttModule(daemon.ctx, config);
  await mod.start();
  const socket = createConnection({ port: Number(new URL(String(mod.url)).port), host: '127.0.0.1' });
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    // CONNECT (MQTT 3.1.1, client id "x"), then a PUBLISH announcing 200 MB.
    socket.write(Buffer.from([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 30, 0, 1, 0x78]));
    const announced = 200 * 1024 * 1024;
    const length: number[] = [];
    for (let n = announced; n > 0; n = Math.floor(n / 128)) length.push((n % 128) | (n >= 128 ? 0x80 : 0));
    socket.write(Buffer.from([0x30, ...length, 0, 1, 0x74]));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    // Keep sending the body: the old broker buffered all of it (200 MB → +428 MB RSS); now it hangs up first.
    const chunk = Buffer.alloc(1024 * 1024, 0x41);
    let sent = 0;
    let isClosed = false;
    closed.then(() => {
      isClosed = true;
    });
    while (!isClosed && sent < 64) {
      if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
      sent += 1;
    }
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
    assert.ok(isClosed, `connection still open after ${sent} MB of a 200 MB packet`);
    assert.ok(sent < 64, `the broker read ${sent} MB before hanging up`);
    // The broker itself is fine: the module is still connected to it.
    await waitFor('module still connected', () => (mod.connected ? true : undefined));
  } finally {
    socket.destroy();
    await mod.stop();
  }
});
