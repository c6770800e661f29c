/**
 * Admin and badge input with surprising effects (issue 10, items 8, 9, 10, 12 and 13), against a real Mosquitto:
 * MQTT badges only when configured, normalised and signed; `append` changes only what it names; every command bound
 * to its kiosk; enrollment images by magic bytes; a deletion scrubs the outbox journal at once.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import sharp from 'sharp';
import { type AlarmEvent, maskBadge } from '../../src/bus/event-bus.ts';
import type { MqttConfigInput } from '../../src/config/sections/mqtt.ts';
import { signCommand, signPayload } from '../../src/mqtt/auth.ts';
import type { MqttModule, MqttModuleOptions } from '../../src/mqtt/module.ts';
import { Outbox } from '../../src/mqtt/outbox.ts';
import { startTestBroker, type TestBroker } from '../helpers/mosquitto.ts';
import {
  accessEvent,
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

const key = { secret: TEST_SECRET };

describe('admin and badge rules against a real broker', () => {
  let broker: TestBroker;
  let client: MqttClient;
  let inbox: Inbox;
  const started: MqttModule[] = [];

  before(async () => {
    broker = await startTestBroker();
    client = await observer(broker.url, broker.protocolVersion, undefined, ['facegate/#']);
    inbox = new Inbox(client);
  });
  after(async () => {
    for (const mod of started) await mod.stop();
    await client?.endAsync();
    await broker?.close();
  });

  interface Kiosk {
    daemon: FakeDaemon;
    mod: MqttModule;
    base: string;
    badges: string[];
    alarms: AlarmEvent[];
    /** Publishes a signed command (or the payload as given) and returns its result. */
    send(verb: string, payload: Record<string, unknown> | string): Promise<Record<string, unknown>>;
    /** A signed `stats` round trip: everything published before it on this connection has been handled. */
    settle(): Promise<void>;
  }

  async function kiosk(id: string, extra: Partial<MqttConfigInput> = {}, opts: MqttModuleOptions = {}): Promise<Kiosk> {
    const daemon = await fakeDaemon(id);
    const badges: string[] = [];
    const alarms: AlarmEvent[] = [];
    daemon.ctx.bus.on('badgeRead', ({ badge }) => badges.push(badge));
    daemon.ctx.bus.on('alarm', (a) => alarms.push(a));
    const mod = await startConnected(daemon.ctx, testMqttConfig(broker.url, broker.protocolVersion, extra), opts);
    started.push(mod);
    const base = `facegate/${id}`;
    const send = async (verb: string, payload: Record<string, unknown> | string) => {
      const requestId = randomUUID();
      const text =
        typeof payload === 'string'
          ? payload
          : JSON.stringify(signCommand(verb, { ...payload, requestId }, key, { kiosk: id }));
      const sentId = typeof payload === 'string' ? String(JSON.parse(payload).requestId) : requestId;
      await client.publishAsync(`${base}/cmd/${verb}`, text, { qos: 1 });
      return inbox.result(base, verb, sentId);
    };
    const settle = async () => {
      const result = await send('stats', {});
      assert.equal(result.ok, true);
    };
    return { daemon, mod, base, badges, alarms, send, settle };
  }

  const signedBadge = (kioskId: string, badge: string) =>
    JSON.stringify(signCommand('badge', { badge }, key, { kiosk: kioskId }));

  test('<base>/badge is not read unless badge.sources lists mqtt', async () => {
    const k = await kiosk('no-mqtt-badges', {}, { badge: { sources: ['stdin'], format: {} } });
    await client.publishAsync(`${k.base}/badge`, JSON.stringify({ badge: '0012345678' }), { qos: 1 });
    await client.publishAsync(`${k.base}/badge`, signedBadge('no-mqtt-badges', '0012345678'), { qos: 1 });
    await k.settle();
    assert.deepEqual(k.badges, []);
  });

  test('MQTT badges must be signed by default, and pass the badge normalisation', async () => {
    const id = 'mqtt-badges';
    const k = await kiosk(id, {}, { badge: { sources: ['stdin', 'mqtt'], format: {} } });
    await client.publishAsync(`${k.base}/badge`, JSON.stringify({ badge: '0012345678' }), { qos: 1 });
    await client.publishAsync(`${k.base}/badge`, signedBadge(id, '1'), { qos: 1 });
    await client.publishAsync(`${k.base}/badge`, signedBadge('another-kiosk', '0099887766'), { qos: 1 });
    await client.publishAsync(`${k.base}/badge`, signedBadge(id, ' 0012-345678 '), { qos: 1 });
    await k.settle();
    await waitFor('the signed badge', () => (k.badges.length > 0 ? true : undefined));
    assert.deepEqual(k.badges, ['0012345678']);
    const refused = k.alarms.find((a) => a.kind === 'admin-rejected');
    assert.match(String(refused?.detail), /^badge refused: unsigned/);
    assert.equal(refused?.badge, maskBadge('0012345678'), 'masked');
  });

  test('requireSigned: false is an explicit choice, and still normalises', async () => {
    const k = await kiosk(
      'unsigned-badges',
      { badgeInput: { requireSigned: false } },
      { badge: { sources: ['mqtt'], format: { charset: 'alphanumeric' } } },
    );
    for (const badge of ['12-34 ab', '1', 'x'.repeat(40)])
      await client.publishAsync(`${k.base}/badge`, JSON.stringify({ badge }), { qos: 1 });
    await k.settle();
    await waitFor('the badge', () => (k.badges.length > 0 ? true : undefined));
    assert.deepEqual(k.badges, ['1234AB']);
  });

  test('enroll with append adds samples and changes nothing the command does not name', async () => {
    const k = await kiosk('append');
    const first = await k.send('enroll', {
      id: 'dora',
      name: 'Dora',
      badges: ['11112222'],
      images: [await solidPngBase64(200, 40, 40)],
    });
    assert.equal(first.ok, true, JSON.stringify(first));
    const disabled = await k.send('update', {
      id: 'dora',
      enabled: false,
      validUntil: '2031-01-01T00:00:00.000Z',
      portraitConsent: true,
    });
    assert.equal(disabled.ok, true);
    const appended = await k.send('enroll', { id: 'dora', append: true, images: [await solidPngBase64(190, 50, 40)] });
    assert.equal(appended.ok, true, JSON.stringify(appended));
    const dora = k.daemon.ctx.db.get('dora');
    assert.equal(dora?.encodings.length, 2);
    assert.equal(dora?.enabled, false, 'a disabled identity stays disabled');
    assert.equal(dora?.validUntil, '2031-01-01T00:00:00.000Z');
    assert.equal(dora?.portraitConsent, true);
    assert.deepEqual(dora?.badges, ['11112222']);
    assert.equal(dora?.name, 'Dora');
    const named = await k.send('enroll', {
      id: 'dora',
      append: true,
      enabled: true,
      badges: ['33334444'],
      images: [await solidPngBase64(180, 60, 40)],
    });
    assert.equal(named.ok, true);
    assert.equal(k.daemon.ctx.db.get('dora')?.enabled, true, 'changed because the command says so');
    assert.deepEqual(k.daemon.ctx.db.get('dora')?.badges, ['11112222', '33334444']);
  });

  test('a command must name this kiosk; "*" only where configured', async () => {
    const id = 'bound';
    const k = await kiosk(id);
    const unbound = signPayload({ cmd: 'unlock', ts: Date.now(), nonce: randomUUID(), requestId: 'unbound' }, key);
    const result = await k.send('unlock', JSON.stringify(unbound));
    assert.match(String(result.error), /^rejected: not bound to a kiosk/);
    const elsewhere = signCommand('unlock', { requestId: 'elsewhere' }, key, { kiosk: 'other-door' });
    assert.match(
      String((await k.send('unlock', JSON.stringify(elsewhere))).error),
      /^rejected: signed for another kiosk/,
    );
    const everywhere = () => JSON.stringify(signCommand('stats', { requestId: randomUUID() }, key, { kiosk: '*' }));
    assert.match(String((await k.send('stats', everywhere())).error), /^rejected: signed for every kiosk/);
    const open = await kiosk('wildcard-ok', { acceptWildcardKiosk: true });
    assert.equal((await open.send('stats', everywhere())).ok, true);
  });

  test('enrollment images: JPEG, PNG and WebP by magic bytes; SVG, GIF and TIFF refused before decoding', async () => {
    const k = await kiosk('images');
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="#c83232"/></svg>',
    );
    const solid = sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 40, g: 200, b: 40 } } });
    const images = [
      svg.toString('base64'),
      (await solid.clone().gif().toBuffer()).toString('base64'),
      (await solid.clone().tiff().toBuffer()).toString('base64'),
      (await solid.clone().webp({ lossless: true }).toBuffer()).toString('base64'),
    ];
    const result = await k.send('enroll', { id: 'erin', images });
    assert.equal(result.ok, true, JSON.stringify(result));
    const samples = result.samples as Array<{ index: number; accepted: boolean; reason: string | null }>;
    assert.deepEqual(
      samples.map((s) => [s.index, s.accepted]),
      [
        [0, false],
        [1, false],
        [2, false],
        [3, true],
      ],
    );
    for (const s of samples.slice(0, 3))
      assert.equal(s.reason, 'not-an-image: not an image (expected JPEG, PNG or WebP)');
    assert.equal(k.daemon.analyser.imagesSeen, 1, 'only the WebP reached the encoder');
  });

  test('delete scrubs the delivered events naming the person from the outbox journal at once', async () => {
    const k = await kiosk('scrub');
    const enrolled = await k.send('enroll', {
      id: 'frank',
      name: 'Frank Example',
      images: [await solidPngBase64(90, 90, 200)],
    });
    assert.equal(enrolled.ok, true);
    const event = accessEvent(1, { eventId: randomUUID(), identityId: 'frank', identityName: 'Frank Example' });
    k.daemon.ctx.bus.emit('access', event);
    await waitFor('delivered', () =>
      inbox.json(`${k.base}/event/access`).some((e) => e.eventId === event.eventId) &&
      (k.mod.stats().outbox as { pending: number }).pending === 0
        ? true
        : undefined,
    );
    const journal = path.join(k.daemon.ctx.dataDir, 'mqtt-outbox.jsonl');
    assert.match(readFileSync(journal, 'utf8'), /Frank Example/, 'delivered entries stay until compaction');
    const deleted = await k.send('delete', { id: 'frank' });
    assert.equal(deleted.ok, true);
    const text = readFileSync(journal, 'utf8');
    assert.ok(!text.includes('Frank') && !text.includes('frank'), text.slice(0, 400));
  });
});

test('the outbox keeps a deleted person’s undelivered event until it is delivered, then scrubs it', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'facegate-scrub-'));
  const outbox = await Outbox.open(dir, { maxEvents: 100, compactAfter: 1000 });
  const file = path.join(dir, 'mqtt-outbox.jsonl');
  await outbox.append({ id: 'old', topic: 't', payload: '{"identityName":"Gina"}', subject: 'gina' });
  await outbox.append({ id: 'new', topic: 't', payload: '{"identityName":"Gina"}', subject: 'gina' });
  await outbox.append({ id: 'other', topic: 't', payload: '{"identityName":"Hal"}', subject: 'hal' });
  outbox.markDelivered('old');
  await outbox.scrub('gina');
  const afterDelete = readFileSync(file, 'utf8');
  assert.ok(!afterDelete.includes('"old"'), 'the delivered one is gone');
  assert.ok(afterDelete.includes('"new"'), 'the undelivered one is still to be published: it records a decision');
  outbox.markDelivered('new');
  await outbox.flushIo();
  const afterDelivery = readFileSync(file, 'utf8');
  assert.ok(!afterDelivery.includes('Gina'), afterDelivery);
  assert.ok(afterDelivery.includes('Hal'));
  await outbox.close();
});
