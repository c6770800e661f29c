/**
 * Home Assistant discovery against the payload rules of HA's MQTT documentation (required options per component,
 * full option names only, one unique_id and a valid default_entity_id per entity, no object_id, availability on
 * `<base>/status`, origin and versions), then captured from a real Mosquitto: the lock state follows the relay
 * through a real badge grant, what is not configured is not announced (and is removed after a config change), and
 * HA's birth message makes the module re-send discovery — once, however many arrive.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { DoorFlow } from '../../src/door/door-flow.ts';
import { DoorLock } from '../../src/door/door-lock.ts';
import { SimulatedRelay } from '../../src/hardware/relay/simulated-relay.ts';
import {
  DiscoveryAnnouncer,
  type DiscoveryMessage,
  discoveryMessages,
  REANNOUNCE_MAX_DELAY_MS,
  REANNOUNCE_MIN_INTERVAL_MS,
  SUPPORT_URL,
} from '../../src/mqtt/homeassistant.ts';
import type { MqttModule } from '../../src/mqtt/module.ts';
import { buildTopics } from '../../src/mqtt/topics.ts';
import { facegateVersion } from '../../src/util/version.ts';
import { doorSettings, encoding, personVector } from '../helpers/door-harness.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { startTestBroker, type TestBroker } from '../helpers/mosquitto.ts';
import {
  type FakeDaemon,
  fakeDaemon,
  Inbox,
  observer,
  startConnected,
  testMqttConfig,
  waitFor,
} from '../helpers/mqtt-fixtures.ts';

// HA's docs (lock.mqtt, binary_sensor.mqtt, sensor.mqtt, event.mqtt): the options each component requires, and
// every option we may send, by its full name — an abbreviation (`stat_t`, `uniq_id`...) or a typo is not in the list.
const COMMON_OPTIONS = [
  'name',
  'unique_id',
  'default_entity_id',
  'device',
  'origin',
  'availability_topic',
  'payload_available',
  'payload_not_available',
  'state_topic',
  'value_template',
  'json_attributes_topic',
  'device_class',
  'icon',
];
const COMPONENTS: Record<string, { required: string[]; options: string[] }> = {
  lock: {
    required: ['command_topic'],
    options: [
      'command_topic',
      'state_locked',
      'state_unlocked',
      'state_jammed',
      'payload_lock',
      'payload_unlock',
      'payload_open',
      'optimistic',
    ],
  },
  binary_sensor: { required: ['state_topic'], options: ['payload_on', 'payload_off', 'off_delay'] },
  sensor: { required: ['state_topic'], options: [] },
  event: { required: ['state_topic', 'event_types'], options: ['event_types'] },
};
const DEVICE_OPTIONS = ['identifiers', 'name', 'manufacturer', 'model', 'sw_version'];
const ORIGIN_OPTIONS = ['name', 'sw_version', 'support_url'];
/** homeassistant/core.py valid_entity_id. */
const ENTITY_ID = /^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$/;
/** The discovery topic levels HA accepts for node and object ids. */
const TOPIC_LEVEL = /^[a-zA-Z0-9_-]+$/;

interface Entity {
  topic: string;
  component: string;
  object: string;
  config: Record<string, unknown>;
}

function parse(messages: DiscoveryMessage[], prefix = 'homeassistant'): { entities: Entity[]; removed: string[] } {
  const entities: Entity[] = [];
  const removed: string[] = [];
  for (const m of messages) {
    const levels = m.topic.split('/');
    assert.equal(levels.length, 5, m.topic);
    const [first, component = '', node = '', object = '', last] = levels;
    assert.equal(first, prefix);
    assert.equal(last, 'config');
    assert.ok(component in COMPONENTS, `unknown component in ${m.topic}`);
    assert.match(node, TOPIC_LEVEL);
    assert.match(object, TOPIC_LEVEL);
    if (m.payload === '') removed.push(`${component}/${object}`);
    else entities.push({ topic: m.topic, component, object, config: JSON.parse(m.payload) as Record<string, unknown> });
  }
  return { entities, removed };
}

/** Every rule of HA's discovery docs that a payload can break. */
function checkEntity(e: Entity, base: string, version: string): void {
  const rules = COMPONENTS[e.component]!;
  const where = `${e.component}/${e.object}`;
  for (const key of rules.required) assert.ok(key in e.config, `${where}: required option ${key} missing`);
  for (const key of Object.keys(e.config))
    assert.ok(
      [...COMMON_OPTIONS, ...rules.options].includes(key),
      `${where}: option ${key} is not one of HA's full option names we send`,
    );
  assert.ok(!('object_id' in e.config), `${where}: object_id is deprecated`);
  assert.match(String(e.config.default_entity_id), ENTITY_ID, where);
  assert.ok(String(e.config.default_entity_id).startsWith(`${e.component}.`), where);
  assert.equal(typeof e.config.unique_id, 'string');
  assert.equal(e.config.availability_topic, `${base}/status`);
  assert.equal(e.config.payload_available, 'online');
  assert.equal(e.config.payload_not_available, 'offline');
  for (const [key, value] of Object.entries(e.config))
    if (key.endsWith('_topic')) assert.match(String(value), new RegExp(`^${base}/`), `${where}: ${key}`);
  const device = e.config.device as Record<string, unknown>;
  assert.deepEqual(Object.keys(device).sort(), [...DEVICE_OPTIONS].sort(), where);
  assert.ok(Array.isArray(device.identifiers) && device.identifiers.length === 1, where);
  assert.equal(device.sw_version, version);
  const origin = e.config.origin as Record<string, unknown>;
  assert.deepEqual(Object.keys(origin).sort(), [...ORIGIN_OPTIONS].sort(), where);
  assert.equal(origin.name, 'facegate');
  assert.equal(origin.sw_version, version);
  assert.match(String(origin.support_url), /^https:\/\//);
}

describe('discovery payloads follow HA’s rules', () => {
  for (const kioskId of ['door-1', 'Lobby.Door__2'])
    for (const allowRemoteUnlock of [false, true])
      for (const doorContact of [false, true]) {
        test(`${kioskId}, remote unlock ${allowRemoteUnlock}, contact ${doorContact}`, () => {
          const base = `facegate/${kioskId}`;
          const topics = buildTopics(base);
          const opts = { prefix: 'homeassistant', kioskId, topics, allowRemoteUnlock, doorContact, version: '9.8.7' };
          const { entities, removed } = parse(discoveryMessages(opts));
          for (const e of entities) checkEntity(e, base, '9.8.7');
          const ids = (key: string) => entities.map((e) => e.config[key]);
          assert.equal(new Set(ids('unique_id')).size, entities.length, 'one unique_id per entity');
          assert.equal(new Set(ids('default_entity_id')).size, entities.length);
          assert.equal(
            new Set(entities.map((e) => JSON.stringify((e.config.device as { identifiers: unknown }).identifiers)))
              .size,
            1,
          );

          const byObject = new Map(entities.map((e) => [e.object, e]));
          // The lock state always comes from the relay, on its own topic.
          const lock = allowRemoteUnlock ? byObject.get('door_lock') : byObject.get('lock_state');
          assert.ok(lock, 'a lock state entity');
          assert.equal(lock.config.state_topic, topics.lockState);
          if (allowRemoteUnlock) {
            assert.equal(lock.component, 'lock');
            assert.equal(lock.config.command_topic, topics.haLockSet);
            assert.deepEqual([lock.config.state_locked, lock.config.state_unlocked], ['LOCKED', 'UNLOCKED']);
            assert.ok(!('payload_open' in lock.config), 'no "open" action that would do the same as unlock');
            assert.deepEqual(
              removed.filter((r) => r.endsWith('lock_state')),
              ['binary_sensor/lock_state'],
            );
          } else {
            // No unlock action anywhere: nothing announced takes a command.
            assert.deepEqual(
              entities.filter((e) => 'command_topic' in e.config),
              [],
            );
            assert.deepEqual([lock.component, lock.config.device_class], ['binary_sensor', 'lock']);
            assert.deepEqual([lock.config.payload_on, lock.config.payload_off], ['UNLOCKED', 'LOCKED']);
            assert.ok(removed.includes('lock/door_lock'), 'a lock announced before is removed');
          }
          const contact = byObject.get('door_contact');
          if (doorContact) assert.equal(contact?.config.state_topic, topics.doorState);
          else {
            assert.equal(contact, undefined);
            assert.ok(removed.includes('binary_sensor/door_contact'));
          }
          assert.deepEqual(
            entities.filter((e) => e.config.state_topic === topics.doorState).map((e) => e.object),
            doorContact ? ['door_contact'] : [],
            'door/state is read only where it is published',
          );
          for (const object of ['last_access', 'access', 'alarm']) assert.ok(byObject.has(object), object);
          assert.deepEqual(byObject.get('access')?.config.event_types, ['granted', 'denied']);
          assert.equal(entities.length + removed.length, 6);
        });
      }

  test('a kiosk id HA would not take as an entity id is made into one', () => {
    const topics = buildTopics('facegate/x');
    const messages = discoveryMessages({
      prefix: 'ha',
      kioskId: '-Gate..B-',
      topics,
      allowRemoteUnlock: false,
      doorContact: false,
      version: '1.0.0',
    });
    const ids = parse(messages, 'ha').entities.map((e) => String(e.config.default_entity_id));
    assert.ok(ids.includes('binary_sensor.facegate_gate_b_lock_state'), ids.join(' '));
    for (const id of ids) assert.match(id, ENTITY_ID);
  });

  test('origin and device carry the package version', () => {
    assert.match(facegateVersion(), /^\d+\.\d+\.\d+/);
    assert.equal(SUPPORT_URL.startsWith('https://'), true);
  });
});

describe('re-announcing on HA’s birth message', () => {
  const statusTopic = 'homeassistant/status';
  const setup = () => {
    const clock = new FakeClock();
    const sent: DiscoveryMessage[] = [];
    const announcer = new DiscoveryAnnouncer({
      prefix: 'homeassistant',
      kioskId: 'k',
      topics: buildTopics('facegate/k'),
      allowRemoteUnlock: false,
      doorContact: false,
      version: '1.0.0',
      publish: (m) => sent.push(m),
      clock,
      random: () => 0.5,
    });
    const rounds = () => sent.length / 6;
    return { clock, announcer, rounds };
  };

  test('a flood of births costs one round, after the minimum interval', () => {
    const { clock, announcer, rounds } = setup();
    announcer.announce();
    assert.equal(rounds(), 1);
    for (let i = 0; i < 1000; i += 1) announcer.onMessage(statusTopic, Buffer.from('online'), false);
    clock.advance(REANNOUNCE_MIN_INTERVAL_MS - 1);
    assert.equal(rounds(), 1, 'not before the minimum interval');
    clock.advance(1);
    assert.equal(rounds(), 2);
    clock.advance(10 * REANNOUNCE_MIN_INTERVAL_MS);
    assert.equal(rounds(), 2, 'the flood was one request');
    announcer.stop();
  });

  test('a later birth re-sends after the random delay; retained, offline, oversize and other topics do not', () => {
    const { clock, announcer, rounds } = setup();
    announcer.announce();
    clock.advance(REANNOUNCE_MIN_INTERVAL_MS);
    announcer.onMessage(statusTopic, Buffer.from('online'), true);
    announcer.onMessage(statusTopic, Buffer.from('offline'), false);
    announcer.onMessage(statusTopic, Buffer.from(`online${' '.repeat(100)}`), false);
    announcer.onMessage('homeassistant/statusx', Buffer.from('online'), false);
    clock.advance(10 * REANNOUNCE_MIN_INTERVAL_MS);
    assert.equal(rounds(), 1);
    announcer.onMessage(statusTopic, Buffer.from('online'), false);
    clock.advance(REANNOUNCE_MAX_DELAY_MS / 2 - 1);
    assert.equal(rounds(), 1);
    clock.advance(1);
    assert.equal(rounds(), 2);
    announcer.stop();
  });

  test('stop() cancels a pending re-send', () => {
    const { clock, announcer, rounds } = setup();
    announcer.onMessage(statusTopic, Buffer.from('online'), false);
    announcer.stop();
    clock.advance(10 * REANNOUNCE_MIN_INTERVAL_MS);
    assert.equal(rounds(), 0);
  });
});

describe('discovery and lock state captured from Mosquitto', () => {
  const kiosk = 'ha-door';
  const base = `facegate/${kiosk}`;
  const node = 'facegate_ha-door';
  const cfg = (url: string, version: 4 | 5, allowRemoteUnlock: boolean) =>
    testMqttConfig(url, version, { kioskId: kiosk, homeAssistant: { enabled: true, allowRemoteUnlock } });
  let broker: TestBroker;
  let daemon: FakeDaemon;
  let lock: DoorLock;
  let flow: DoorFlow;
  let mod: MqttModule | null = null;
  const clients: MqttClient[] = [];

  /** A new subscriber: what it gets at once is what the broker retains. */
  const watch = async (topics: string[]) => {
    const client = await observer(broker.url, broker.protocolVersion, undefined, topics);
    clients.push(client);
    return new Inbox(client);
  };
  const retainedConfigs = async () => {
    const marker = `test/marker/${randomUUID()}`;
    const inbox = await watch([`homeassistant/+/${node}/+/config`, `${base}/lock/state`, marker]);
    // The broker queued the retained copies at SUBSCRIBE; a message we publish after the SUBACK comes after them.
    await clients.at(-1)?.publishAsync(marker, 'end', { qos: 1 });
    await waitFor('the marker', () => inbox.on(marker)[0]);
    return inbox.messages.filter((m) => m.retain && m.text !== '');
  };
  /** A subscriber to this kiosk's configs, once the broker's retained copies (four entities) have arrived. */
  const watchConfigs = async () => {
    const inbox = await watch([`homeassistant/+/${node}/+/config`]);
    await waitFor('the retained configs', () => (inbox.messages.length >= 4 ? true : undefined));
    return { inbox, seen: inbox.messages.length };
  };
  /** Checks each entity against HA's rules; returns `component/object` of each, sorted. */
  const checked = (entities: Entity[]) => {
    for (const e of entities) checkEntity(e, base, facegateVersion());
    return entities.map((e) => `${e.component}/${e.object}`).sort();
  };
  /** The live messages of one discovery round, by topic; HA components and objects parsed. */
  const round = async (inbox: Inbox, from = 0) => {
    const configs = new Map<string, string>();
    await waitFor('six discovery messages', () => {
      for (const m of inbox.messages.slice(from)) if (m.topic.endsWith('/config')) configs.set(m.topic, m.text);
      return configs.size === 6 ? true : undefined;
    });
    return parse([...configs].map(([topic, payload]) => ({ topic, payload })));
  };

  before(async () => {
    broker = await startTestBroker();
    daemon = await fakeDaemon(kiosk);
    await daemon.ctx.db.upsert({ id: 'alice', name: 'Alice', badges: ['10001234'], enabled: true });
    await daemon.ctx.db.addEncodings('alice', [encoding(personVector(0))]);
    lock = new DoorLock(new SimulatedRelay(null), { unlockPulseMs: 300, bus: daemon.ctx.bus });
    await lock.start();
    flow = new DoorFlow({
      bus: daemon.ctx.bus,
      db: daemon.ctx.db,
      door: lock,
      logger: daemon.ctx.logger,
      settings: doorSettings({ mode: 'badge' }),
      encoderId: 'fake-128',
      threshold: 0.6,
    });
    await flow.start();
  });

  after(async () => {
    await mod?.stop();
    await flow?.stop();
    await lock?.stop();
    for (const client of clients) await client.endAsync();
    await broker?.close();
    if (daemon) rmSync(daemon.dir, { recursive: true, force: true });
  });

  test('default hardware: the lock state through a grant, a read-only lock, no door contact', async () => {
    const inbox = await watch(['homeassistant/#', `${base}/#`]);
    mod = await startConnected(daemon.ctx, cfg(broker.url, broker.protocolVersion, false));
    const lockState = () => inbox.on(`${base}/lock/state`).map((m) => m.text);
    await waitFor('LOCKED at start', () => (lockState()[0] === 'LOCKED' ? true : undefined));

    const { entities, removed } = await round(inbox);
    assert.deepEqual(checked(entities), [
      'binary_sensor/alarm',
      'binary_sensor/lock_state',
      'event/access',
      'sensor/last_access',
    ]);
    assert.deepEqual(removed.sort(), ['binary_sensor/door_contact', 'lock/door_lock']);
    // Availability: the module's own status is what the entities expect.
    await waitFor('online', () => inbox.on(`${base}/status`).find((m) => m.text === 'online'));

    const access: string[] = [];
    const off = daemon.ctx.bus.on('access', (e) => access.push(`${e.decision}:${e.reason}`));
    daemon.ctx.bus.emit('badgeRead', { badge: '10001234', source: 'test' });
    await waitFor('UNLOCKED then LOCKED', () => (lockState().length >= 3 ? true : undefined));
    off();
    assert.deepEqual(access, ['granted:badge']);
    assert.deepEqual(lockState().slice(0, 3), ['LOCKED', 'UNLOCKED', 'LOCKED']);
    // What HA's binary_sensor shows for each payload: off (locked), on (unlocked), off.
    const sensor = entities.find((e) => e.object === 'lock_state')!.config;
    const shown = lockState().map((p) => (p === sensor.payload_on ? 'on' : p === sensor.payload_off ? 'off' : '?'));
    assert.deepEqual(shown.slice(0, 3), ['off', 'on', 'off']);

    // A late subscriber (HA starting after us) gets the configs and the lock state from the broker.
    const retained = await retainedConfigs();
    assert.deepEqual(
      retained.map((m) => m.topic).sort(),
      [`${base}/lock/state`, ...entities.map((e) => e.topic)].sort(),
    );
    assert.equal(retained.find((m) => m.topic === `${base}/lock/state`)?.text, 'LOCKED');
  });

  test('HA announcing itself makes the module re-send discovery', async () => {
    const { inbox, seen } = await watchConfigs();
    await clients.at(-1)?.publishAsync('homeassistant/status', 'online', { qos: 1 });
    const { entities, removed } = await round(inbox, seen);
    assert.equal(entities.length, 4);
    assert.equal(removed.length, 2);
  });

  test('remote unlock allowed and a contact configured: the lock entity and the contact replace what was there', async () => {
    await mod?.stop();
    mod = null;
    const live = await watchConfigs();
    mod = await startConnected(daemon.ctx, cfg(broker.url, broker.protocolVersion, true), { doorContact: true });
    await round(live.inbox, live.seen);
    const retained = (await retainedConfigs()).filter((m) => m.topic.endsWith('/config'));
    const { entities } = parse(retained.map((m) => ({ topic: m.topic, payload: m.text })));
    // binary_sensor/lock_state, retained by the first configuration, is gone.
    assert.deepEqual(checked(entities), [
      'binary_sensor/alarm',
      'binary_sensor/door_contact',
      'event/access',
      'lock/door_lock',
      'sensor/last_access',
    ]);
  });
});
