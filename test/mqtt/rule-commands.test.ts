/**
 * The signed access-rule verbs (issue 14) against a real Mosquitto: `schedule/*`, `holiday/*`, `group/*` change the
 * kiosk's rules like the CLI; unsigned, wrong-kiosk and bad payloads are refused and store nothing; each run is an
 * `adminAction` for the access log.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
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
  startConnected,
  TEST_SECRET,
  testMqttConfig,
} from '../helpers/mqtt-fixtures.ts';

const KIOSK = 'rules-kiosk';
const base = `facegate/${KIOSK}`;
let broker: TestBroker;
let client: MqttClient;
let inbox: Inbox;
let daemon: FakeDaemon;
let mod: MqttModule;
const actions: Array<{ action: string; ok: boolean }> = [];

before(async () => {
  broker = await startTestBroker();
  client = await observer(broker.url, broker.protocolVersion, undefined, ['facegate/#']);
  inbox = new Inbox(client);
  daemon = await fakeDaemon(KIOSK);
  daemon.ctx.bus.on('adminAction', (a) => actions.push(a));
  mod = await startConnected(daemon.ctx, testMqttConfig(broker.url, broker.protocolVersion));
});
after(async () => {
  await mod?.stop();
  await client?.endAsync();
  await broker?.close();
});

async function send(verb: string, payload: Record<string, unknown>, kiosk = KIOSK, secret = TEST_SECRET) {
  const requestId = randomUUID();
  const signed = signCommand(verb, { ...payload, requestId }, { secret }, { kiosk });
  await client.publishAsync(`${base}/cmd/${verb}`, JSON.stringify(signed), { qos: 1 });
  return inbox.result(base, verb, requestId);
}

test('schedule, holiday and group verbs change the rules; group/members changes an identity', async () => {
  await daemon.ctx.db.upsert({ id: 'ann', name: 'Ann', badges: [], enabled: true });
  assert.equal((await send('holiday/add', { name: 'de', dates: ['2025-12-25'] })).ok, true);
  const s = await send('schedule/add', {
    name: 'office',
    windows: ['mon-fri 07:00-19:00'],
    holidays: { calendars: ['de'] },
  });
  assert.deepEqual([s.ok, s.version], [true, 1]);
  assert.equal((await send('group/add', { name: 'staff', schedules: ['office'] })).ok, true);
  assert.equal((await send('group/members', { name: 'staff', add: ['ann'] })).ok, true);
  const rules = daemon.ctx.db.rules();
  assert.deepEqual(rules.schedules[0]?.windows, ['mon-fri 07:00-19:00']);
  assert.deepEqual(rules.groups[0]?.schedules, ['office']);
  assert.deepEqual(daemon.ctx.db.get('ann')?.groups, ['staff']);
  assert.equal((await send('group/remove', { name: 'staff' })).ok, true);
  assert.deepEqual(
    daemon.ctx.db.rules().tombstones.map((t) => t.name),
    ['staff'],
  );
  assert.ok(actions.some((a) => a.action === 'schedule/add' && a.ok));
});

test('bad payloads are error results and store nothing', async () => {
  const file = path.join(daemon.dir, 'faces.json');
  const before = readFileSync(file, 'utf8');
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['schedule/add', { name: 'bad', windows: ['mon 25:00-26:00'] }, /25:00|hour|time/],
    ['schedule/add', { name: 'bad', windows: ['mon 08:00-12:00', 'mon 11:00-13:00'] }, /overlap/],
    ['schedule/add', { name: 'bad', windows: [] }, /windows/],
    ['schedule/add', { name: 'bad', windows: ['mon 08:00-09:00'], extra: 1 }, /extra|unrecognized/i],
    ['group/add', { name: 'g', schedules: ['nope'] }, /unknown schedule "nope"/],
    ['group/members', { name: 'ghost', add: ['ann'] }, /unknown group "ghost"/],
    ['holiday/add', { name: 'x', dates: ['2025-02-30'] }, /bad date/],
  ];
  for (const [verb, payload, error] of cases) {
    const r = await send(verb, payload);
    assert.equal(r.ok, false, `${verb} ${JSON.stringify(payload)}`);
    assert.match(String(r.error), error);
  }
  assert.equal(readFileSync(file, 'utf8'), before);
});

test('a rule command signed with the wrong secret or for another kiosk is refused', async () => {
  const wrong = await send(
    'schedule/add',
    { name: 'x', windows: ['mon 08:00-09:00'] },
    KIOSK,
    'not-the-secret-0123456789',
  );
  assert.equal(wrong.ok, false);
  const other = await send('schedule/add', { name: 'x', windows: ['mon 08:00-09:00'] }, 'another-kiosk');
  assert.equal(other.ok, false);
  assert.equal(
    daemon.ctx.db.rules().schedules.find((s) => s.name === 'x'),
    undefined,
  );
});
