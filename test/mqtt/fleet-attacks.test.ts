/**
 * Attacks on fleet sync through a real Mosquitto, each one a way to bring a deleted person back or to turn a stolen
 * kiosk into a fleet-wide unlocker: an old record on an alias topic plus an empty retained canonical topic, an old
 * record replayed on the canonical topic while every tombstone holder is offline, an edit made during a partition,
 * and the fleet key used to sign commands.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { signCommand } from '../../src/mqtt/auth.ts';
import { enroll, everHeld, FLEET_SECRET, Fleet, summary } from '../helpers/fleet-fixtures.ts';
import { startTestBroker, type TestBroker } from '../helpers/mosquitto.ts';
import { fakeDaemon, Inbox, observer, vectorForColour, waitFor } from '../helpers/mqtt-fixtures.ts';

let broker: TestBroker;
const fleets: Fleet[] = [];
const clients: MqttClient[] = [];

before(async () => {
  broker = await startTestBroker();
});
after(async () => {
  for (const fleet of fleets) await fleet.stopAll();
  for (const client of clients) await client.endAsync(true);
  await broker?.close();
});

function fleetOn(prefix: string, extra: ConstructorParameters<typeof Fleet>[2] = {}): Fleet {
  const fleet = new Fleet(broker, prefix, extra);
  fleets.push(fleet);
  return fleet;
}

async function watch(prefix: string): Promise<{ client: MqttClient; inbox: Inbox }> {
  const client = await observer(broker.url, broker.protocolVersion, undefined, [`${prefix}/#`]);
  clients.push(client);
  return { client, inbox: new Inbox(client) };
}

const kindOf = (text: string): string | undefined => {
  try {
    return (JSON.parse(text) as { kind?: string }).kind;
  } catch {
    return undefined;
  }
};

/** The retained message a newcomer finds on `topic` (undefined when none arrives within a second). */
async function retainedOn(topic: string): Promise<string | undefined> {
  const client = await observer(broker.url, broker.protocolVersion, undefined, [topic]);
  const inbox = new Inbox(client);
  const found = await waitFor(`retained on ${topic}`, () => inbox.on(topic).find((m) => m.retain), 1000).catch(
    () => undefined,
  );
  await client.endAsync(true);
  return found?.text;
}

test('an old record on an alias topic, or replayed on the canonical one, never brings a deleted person back to a fresh kiosk', async () => {
  const prefix = 'facegate/_fleet-alias';
  const fleet = fleetOn(prefix);
  const { client: attacker, inbox } = await watch(prefix);
  const a = await fakeDaemon('alias-a');
  const modA = await fleet.start(a);
  await enroll(a.ctx.db, 'kian', [200, 20, 20]);
  await enroll(a.ctx.db, 'lena', [20, 200, 20]);
  const record = (id: string) =>
    waitFor(`${id} record`, () => inbox.on(`${prefix}/identities/${id}`).find((m) => kindOf(m.text) === 'identity'));
  const oldKian = (await record('kian')).text;
  const oldLena = (await record('lena')).text;
  await a.ctx.db.remove('kian');
  await a.ctx.db.remove('lena');
  for (const id of ['kian', 'lena'])
    await waitFor(`${id} tombstone`, () =>
      inbox.on(`${prefix}/identities/${id}`).find((m) => kindOf(m.text) === 'tombstone'),
    );
  // Every kiosk that knows of the deletions is offline during the attack.
  await fleet.stop(modA);

  const attackAt = inbox.messages.length;
  // kian: the old signed record on an alias topic (decodes to "kian"), and the canonical topic emptied.
  await attacker.publishAsync(`${prefix}/identities/ki%61n`, oldKian, { qos: 1, retain: true });
  await attacker.publishAsync(`${prefix}/identities/kian`, '', { qos: 1, retain: true });
  // lena: the old signed record replayed on its canonical topic, over the tombstone.
  await attacker.publishAsync(`${prefix}/identities/lena`, oldLena, { qos: 1, retain: true });

  const c = await fakeDaemon('alias-c');
  const heldKian = everHeld(c.ctx.db, 'kian');
  const heldLena = everHeld(c.ctx.db, 'lena');
  await fleet.start(c);
  const tombstones = () =>
    c.ctx.db
      .tombstones()
      .map((t) => t.id)
      .sort()
      .join(',');
  await waitFor(
    'the fresh kiosk learns both deletions',
    () => (tombstones() === 'kian,lena' ? true : undefined),
    10_000,
  ).catch(() => undefined);
  assert.equal(heldKian(), false, `the fresh kiosk took kian from the alias topic (now: ${summary(c.ctx.db)})`);
  assert.equal(heldLena(), false, `the fresh kiosk took lena's replayed record (now: ${summary(c.ctx.db)})`);
  assert.equal(tombstones(), 'kian,lena');
  assert.equal(c.ctx.db.findByBadge('kian-badge'), undefined);

  // The fresh kiosk put the tombstones back where the attacker had removed or overwritten them.
  for (const id of ['kian', 'lena']) {
    await waitFor(
      `${id} tombstone published again`,
      () =>
        inbox.messages
          .slice(attackAt)
          .find((m) => m.topic === `${prefix}/identities/${id}` && kindOf(m.text) === 'tombstone'),
      10_000,
    );
    assert.equal(kindOf((await retainedOn(`${prefix}/identities/${id}`)) ?? ''), 'tombstone');
  }
});

test('an empty retained message on a record this kiosk holds is answered by republishing it', async () => {
  const prefix = 'facegate/_fleet-empty';
  const fleet = fleetOn(prefix);
  const { client: attacker, inbox } = await watch(prefix);
  const a = await fakeDaemon('empty-a');
  await fleet.start(a);
  await enroll(a.ctx.db, 'mia', [30, 30, 220]);
  await enroll(a.ctx.db, 'kian', [200, 20, 20]);
  await a.ctx.db.remove('kian');
  const kinds = (topic: string) => inbox.on(topic).map((m) => kindOf(m.text) ?? 'empty');
  await waitFor('kian tombstone out', () =>
    kinds(`${prefix}/identities/kian`).includes('tombstone') ? true : undefined,
  );
  await waitFor('mia out', () => (kinds(`${prefix}/identities/mia`).includes('identity') ? true : undefined));
  const seen = inbox.messages.length;

  await attacker.publishAsync(`${prefix}/identities/kian`, '', { qos: 1, retain: true });
  await attacker.publishAsync(`${prefix}/identities/mia`, '', { qos: 1, retain: true });
  await attacker.publishAsync(`${prefix}/tombstones/kian`, '', { qos: 1, retain: true });
  const after = (topic: string) => inbox.messages.slice(seen).filter((m) => m.topic === topic);
  await waitFor(
    'both republished',
    () =>
      after(`${prefix}/identities/kian`).some((m) => kindOf(m.text) === 'tombstone') &&
      after(`${prefix}/tombstones/kian`).some((m) => kindOf(m.text) === 'tombstone') &&
      after(`${prefix}/identities/mia`).some((m) => kindOf(m.text) === 'identity')
        ? true
        : undefined,
    10_000,
  );
  // What a newcomer finds now (the republish may cross the attacker's next empty message: then it comes again).
  const retained = async () =>
    [
      await retainedOn(`${prefix}/identities/kian`),
      await retainedOn(`${prefix}/tombstones/kian`),
      await retainedOn(`${prefix}/identities/mia`),
    ].map((text) => kindOf(text ?? '') ?? 'none');
  let found = await retained();
  for (let i = 0; i < 5 && found.join() !== 'tombstone,tombstone,identity'; i += 1) found = await retained();
  assert.deepEqual(found, ['tombstone', 'tombstone', 'identity']);
  assert.ok(a.ctx.db.get('mia'), 'the kiosk itself is unaffected');
});

test('a deletion beats an edit made during a partition; re-enrolling afterwards is a new identity', async () => {
  const prefix = 'facegate/_fleet-partition';
  const fleet = fleetOn(prefix);
  const a = await fakeDaemon('partition-a');
  const b = await fakeDaemon('partition-b');
  await fleet.start(a);
  let modB = await fleet.start(b);
  await enroll(a.ctx.db, 'kian', [200, 20, 20]);
  await waitFor('b has kian', () => b.ctx.db.get('kian'));

  // Partition: B is stopped; A deletes kian; B's database gets more version bumps than the deletion made.
  await fleet.stop(modB);
  await a.ctx.db.remove('kian');
  for (const name of ['Kian 1', 'Kian 2', 'Kian 3', 'Kian 4'])
    await b.ctx.db.upsert({ id: 'kian', name, badges: ['kian-badge'], enabled: true });
  assert.ok((b.ctx.db.get('kian')?.version ?? 0) > (a.ctx.db.tombstones()[0]?.version ?? 0));
  modB = await fleet.start(b);

  const gone = (db: typeof a.ctx.db) => db.get('kian') === undefined && db.tombstones().some((t) => t.id === 'kian');
  await waitFor('kian deleted on both', () => (gone(a.ctx.db) && gone(b.ctx.db) ? true : undefined), 10_000).catch(
    () => undefined,
  );
  assert.equal(a.ctx.db.get('kian'), undefined, `the partition edit revived kian on A (${summary(a.ctx.db)})`);
  assert.equal(b.ctx.db.get('kian'), undefined, `the partition edit survived on B (${summary(b.ctx.db)})`);

  // Enrolling kian again is explicit: a new identity with only the new face, on every kiosk.
  await enroll(a.ctx.db, 'kian', [10, 10, 250]);
  const back = await waitFor(
    'new kian on B',
    () => (b.ctx.db.get('kian')?.encodings.length ? b.ctx.db.get('kian') : undefined),
    10_000,
  );
  assert.deepEqual(
    back.encodings.map((e) => e.vector),
    [vectorForColour(10, 10, 250)],
  );
  assert.equal(back.name, 'KIAN');
  assert.ok(!b.ctx.db.tombstones().some((t) => t.id === 'kian'));
});

test('kiosks sync with a fleet key and hold no command key: nothing a stolen kiosk holds signs a command', async () => {
  const prefix = 'facegate/_fleet-keys';
  const admin = generateKeyPairSync('ed25519');
  const fleet = fleetOn(prefix, {
    adminSecret: undefined,
    adminPublicKeys: [admin.publicKey.export({ type: 'spki', format: 'pem' }).toString()],
  });
  const { client: attacker, inbox } = await watch(prefix);
  const results = new Inbox(attacker);
  await attacker.subscribeAsync('facegate/keys-a/cmd/+/result', { qos: 1 });
  const a = await fakeDaemon('keys-a');
  const b = await fakeDaemon('keys-b');
  const unlocks: string[] = [];
  a.ctx.bus.on('unlockRequest', (u) => unlocks.push(u.by));
  await fleet.start(a);
  await fleet.start(b);

  await enroll(a.ctx.db, 'nora', [90, 160, 30]);
  await waitFor('fleet sync without an admin secret', () => b.ctx.db.get('nora'), 10_000);
  const fleetRecord = await waitFor('a fleet record', () => inbox.on(`${prefix}/identities/nora`).at(-1));

  const send = async (payload: Record<string, unknown>) => {
    await attacker.publishAsync('facegate/keys-a/cmd/unlock', JSON.stringify(payload), { qos: 1 });
    return results.result('facegate/keys-a', 'unlock', String(payload.requestId));
  };
  // What a thief finds on a kiosk: the fleet secret, and fleet records signed with it.
  const withFleetSecret = signCommand(
    'unlock',
    { requestId: randomUUID() },
    { secret: FLEET_SECRET },
    { kiosk: 'keys-a' },
  );
  assert.match(String((await send(withFleetSecret)).error), /^rejected:/);
  const recordAsCommand = {
    ...(JSON.parse(fleetRecord.text) as Record<string, unknown>),
    cmd: 'unlock',
    requestId: randomUUID(),
  };
  assert.match(String((await send(recordAsCommand)).error), /^rejected:/);
  assert.deepEqual(unlocks, []);

  // The admin's Ed25519 key still works, with no secret on the kiosk.
  const byAdmin = signCommand(
    'unlock',
    { requestId: randomUUID() },
    { privateKey: admin.privateKey },
    { kiosk: 'keys-a' },
  );
  assert.equal((await send(byAdmin)).ok, true);
  assert.equal(unlocks.length, 1);
});
