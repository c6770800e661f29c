/**
 * The MQTT module against a real Mosquitto: status, door state, access events, signed admin commands
 * (enroll by images and by capture, update, list, delete, unlock, stats), refusals and their audit trail.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { AlarmEvent } from '../../src/bus/event-bus.ts';
import { signCommand } from '../../src/mqtt/auth.ts';
import { createMqttModule, type MqttModule } from '../../src/mqtt/module.ts';
import { verifyDescriptor } from '../../src/recognition/verification.ts';
import { startTestBroker, type TestBroker } from '../helpers/mosquitto.ts';
import {
  accessEvent,
  FAKE_ENCODER,
  type FakeDaemon,
  fakeDaemon,
  Inbox,
  observer,
  solidImage,
  solidPngBase64,
  TEST_SECRET,
  testMqttConfig,
  vectorForColour,
  waitFor,
} from '../helpers/mqtt-fixtures.ts';

describe('mqtt module', () => {
  let broker: TestBroker;
  let daemon: FakeDaemon;
  let mod: MqttModule;
  let watcher: MqttClient;
  let inbox: Inbox;
  const alarms: AlarmEvent[] = [];
  const unlocks: string[] = [];
  const admin = generateKeyPairSync('ed25519');
  const kiosk = 'door-1';
  const base = `facegate/${kiosk}`;

  const send = async (
    verb: string,
    body: Record<string, unknown>,
    sign: 'hmac' | 'ed25519' | 'none' | 'wrong' = 'hmac',
    opts: { now?: number; nonce?: string } = {},
  ) => {
    const requestId = randomUUID();
    const withId = { ...body, requestId, ...(opts.nonce ? { nonce: opts.nonce } : {}) };
    let payload: Record<string, unknown>;
    if (sign === 'none') payload = { ...withId, cmd: verb, ts: Date.now(), nonce: opts.nonce ?? randomUUID() };
    else if (sign === 'wrong')
      payload = signCommand(verb, withId, { secret: 'not-the-site-secret-at-all' }, { kiosk, now: opts.now });
    else if (sign === 'ed25519')
      payload = signCommand(verb, withId, { privateKey: admin.privateKey }, { kiosk, now: opts.now });
    else payload = signCommand(verb, withId, { secret: TEST_SECRET }, { kiosk, now: opts.now });
    await watcher.publishAsync(`${base}/cmd/${verb}`, JSON.stringify(payload), { qos: 1 });
    return inbox.result(base, verb, requestId);
  };

  before(async () => {
    broker = await startTestBroker();
    daemon = await fakeDaemon('door-1');
    daemon.ctx.bus.on('alarm', (a) => alarms.push(a));
    daemon.ctx.bus.on('unlockRequest', (u) => unlocks.push(u.by));
    watcher = await observer(broker.url, broker.protocolVersion);
    inbox = new Inbox(watcher);
    const publicKey = admin.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    mod = createMqttModule(
      daemon.ctx,
      testMqttConfig(broker.url, broker.protocolVersion, {
        adminPublicKeys: [publicKey],
        limits: { imageMaxPixels: 1_000_000 },
      }),
      { badge: { sources: ['stdin', 'mqtt'], format: {} } },
    );
    await mod.start();
    await waitFor('module connected', () => (mod.connected ? true : undefined));
  });

  after(async () => {
    await mod?.stop();
    await watcher?.endAsync();
    await broker?.close();
  });

  test('status is retained online; door state is retained', async (t) => {
    await waitFor('online', () => inbox.on(`${base}/status`).find((m) => m.text === 'online'));
    daemon.ctx.bus.emit('doorState', { state: 'unlocked', time: new Date().toISOString() });
    await waitFor('door state', () => inbox.on(`${base}/door/state`).find((m) => m.text === 'unlocked'));
    const late = await observer(broker.url, broker.protocolVersion, undefined, [
      `${base}/status`,
      `${base}/door/state`,
    ]);
    t.after(() => late.endAsync(true));
    const lateInbox = new Inbox(late);
    await waitFor('retained status', () => lateInbox.on(`${base}/status`).find((m) => m.retain && m.text === 'online'));
    await waitFor('retained door', () =>
      lateInbox.on(`${base}/door/state`).find((m) => m.retain && m.text === 'unlocked'),
    );
    await late.endAsync();
  });

  test('enroll by images stores the identity; a badge over MQTT then leads to a granted access event', async () => {
    const images = [await solidPngBase64(200, 40, 40), await solidPngBase64(0, 0, 0), 'not base64!!'];
    const result = await send('enroll', { id: 'alice', name: 'Alice', badges: ['0012345678'], images });
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(result.accepted, 1);
    const samples = result.samples as Array<{ index: number; accepted: boolean; reason: string | null }>;
    assert.deepEqual(
      samples.map((s) => [s.index, s.accepted]),
      [
        [0, true],
        [1, false],
        [2, false],
      ],
    );
    assert.equal(samples[1]!.reason, 'no-face');
    assert.match(String(samples[2]!.reason), /invalid base64/);
    const stored = daemon.ctx.db.get('alice');
    assert.ok(stored);
    assert.equal(stored.encodings.length, 1);
    assert.equal(stored.encodings[0]!.source, 'mqtt:image');

    // A stand-in for the door flow: badge from MQTT → verify the presented face → decision on the bus.
    const decided = new Promise<void>((resolve) => {
      const off = daemon.ctx.bus.on('badgeRead', ({ badge, source }) => {
        off();
        const holder = daemon.ctx.db.findByBadge(badge);
        assert.ok(holder, 'badge belongs to the enrolled identity');
        const face = Float32Array.from(vectorForColour(200, 40, 40));
        const verdict = verifyDescriptor(daemon.ctx.db, face, holder.id, FAKE_ENCODER, 0.6);
        daemon.ctx.bus.emit(
          'access',
          accessEvent(1, {
            eventId: randomUUID(),
            mode: 'badge+face',
            badge: '****5678',
            identityId: holder.id,
            identityName: holder.name,
            decision: verdict.match ? 'granted' : 'denied',
            reason: `${verdict.reason}:${source}`,
            distance: verdict.distance,
            threshold: 0.6,
          }),
        );
        resolve();
      });
    });
    const badge = signCommand('badge', { badge: '0012345678' }, { secret: TEST_SECRET }, { kiosk });
    await watcher.publishAsync(`${base}/badge`, JSON.stringify(badge), { qos: 1 });
    await decided;
    const event = await waitFor('access event', () =>
      inbox.json(`${base}/event/access`).find((e) => e.identityId === 'alice'),
    );
    assert.equal(event.decision, 'granted');
    assert.equal(event.reason, 'match:mqtt');
    assert.equal(event.kiosk, 'door-1');
    assert.ok(!JSON.stringify(event).includes('0012345678'), 'no full badge in the event');
  });

  test('an image bomb and a duplicate id are refused with a reason, nothing stored', async () => {
    const bomb = await solidPngBase64(120, 120, 120, 1200); // 1.44 MP > the 1 MP test limit
    const result = await send('enroll', { id: 'bob', name: 'Bob', images: [bomb] });
    assert.equal(result.ok, false);
    assert.match(JSON.stringify(result.samples), /pixel limit/);
    assert.equal(daemon.ctx.db.get('bob'), undefined);
    const dup = await send('enroll', { id: 'alice', images: [await solidPngBase64(1, 200, 1)] });
    assert.equal(dup.ok, false);
    assert.match(String(dup.error), /exists/);
  });

  test('enroll by capture uses the kiosk camera frames; nothing stored when no sample passes', async () => {
    const frame = (seq: number, rgb: [number, number, number]) => ({
      image: solidImage(...rgb),
      capturedAt: Date.now(),
      seq,
    });
    daemon.captureQueue.push(frame(1, [0, 0, 0]), frame(2, [0, 0, 0]));
    const none = await send('enroll', { id: 'carol', name: 'Carol', capture: { samples: 2, timeoutMs: 1000 } });
    assert.equal(none.ok, false);
    assert.equal(daemon.ctx.db.get('carol'), undefined);
    daemon.captureQueue.push(frame(3, [10, 200, 90]), frame(4, [0, 0, 0]), frame(5, [10, 200, 90]));
    const ok = await send(
      'enroll',
      { id: 'carol', name: 'Carol', badges: ['777'], capture: { samples: 3, timeoutMs: 1000 } },
      'ed25519',
    );
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.equal(ok.accepted, 2);
    assert.equal(daemon.ctx.db.get('carol')?.encodings.length, 2);
    assert.equal(daemon.ctx.db.get('carol')?.encodings[0]?.source, 'capture');
  });

  test('update, list (badges masked), unlock and stats answer', async () => {
    const upd = await send('update', { id: 'carol', enabled: false, name: 'Carol C.' });
    assert.equal(upd.ok, true);
    assert.equal(daemon.ctx.db.get('carol')?.enabled, false);
    const list = await send('list', {});
    const ids = (list.identities as Array<{ id: string; badges: string[]; encodings: number }>).map((i) => i.id).sort();
    assert.deepEqual(ids, ['alice', 'carol']);
    assert.ok(!JSON.stringify(list).includes('0012345678'));
    assert.ok(!JSON.stringify(list).includes('vector'));
    const before = unlocks.length;
    const unlock = await send('unlock', { reason: 'delivery' });
    assert.equal(unlock.ok, true);
    assert.deepEqual(unlocks.slice(before), ['mqtt:hmac']);
    const stats = await send('stats', {});
    assert.equal(stats.ok, true);
    assert.equal(stats.identities, 2);
  });

  test('unsigned, wrong-key, expired, replayed and mis-addressed commands are refused, audited, and never act', async () => {
    const alarmsBefore = alarms.length;
    const unlocksBefore = unlocks.length;
    const unsigned = await send('unlock', {}, 'none');
    assert.match(String(unsigned.error), /rejected: unsigned/);
    const wrong = await send('unlock', {}, 'wrong');
    assert.match(String(wrong.error), /rejected: bad signature/);
    const expired = await send('unlock', {}, 'hmac', { now: Date.now() - 5 * 60_000 });
    assert.match(String(expired.error), /rejected: expired/);
    const nonce = randomUUID();
    const first = await send('unlock', {}, 'hmac', { nonce });
    assert.equal(first.ok, true);
    const replay = await send('unlock', {}, 'hmac', { nonce });
    assert.match(String(replay.error), /rejected: replayed/);
    // A signed `list` re-addressed to `delete` must not delete.
    const signed = signCommand('list', { requestId: 'redirect', id: 'alice' }, { secret: TEST_SECRET }, { kiosk });
    await watcher.publishAsync(`${base}/cmd/delete`, JSON.stringify(signed), { qos: 1 });
    const redirected = await inbox.result(base, 'delete', 'redirect');
    assert.match(String(redirected.error), /rejected: signed for verb "list"/);
    assert.ok(daemon.ctx.db.get('alice'));
    assert.equal(unlocks.length - unlocksBefore, 1, 'only the valid command unlocked');
    // The first refusal is reported at once, the other four in one summary at the end of that second.
    const summary = await waitFor('the refusal summary', () =>
      alarms.slice(alarmsBefore).find((a) => a.kind === 'admin-rejected' && /^4 more refusals/.test(a.detail)),
    );
    const rejected = alarms.slice(alarmsBefore).filter((a) => a.kind === 'admin-rejected');
    assert.equal(rejected.length, 2, JSON.stringify(rejected));
    assert.match(rejected[0]!.detail, /cmd\/unlock refused: unsigned/);
    assert.match(summary.detail, /bad signature \(1\)/);
    await waitFor('audit alarms published', () =>
      inbox.json(`${base}/event/alarm`).some((a) => a.eventId === summary.eventId) ? true : undefined,
    );
  });

  test('delete erases the identity, its badges and encodings, and announces it', async () => {
    const changes: string[] = [];
    daemon.ctx.bus.on('identitiesChanged', (c) => changes.push(`${c.id}:${c.change}`));
    const result = await send('delete', { id: 'alice' });
    assert.equal(result.ok, true);
    assert.equal(daemon.ctx.db.get('alice'), undefined);
    assert.equal(daemon.ctx.db.findByBadge('0012345678'), undefined);
    const snapshot = JSON.stringify(daemon.ctx.db.snapshot());
    assert.ok(!snapshot.includes('Alice'), 'no trace of the name');
    assert.ok(!snapshot.includes(String(vectorForColour(200, 40, 40)[0])), 'no trace of the encoding');
    assert.deepEqual(changes, ['alice:deleted']);
    const again = await send('delete', { id: 'alice' });
    assert.equal(again.ok, false);
  });
});
