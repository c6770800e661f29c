/**
 * Fleet sync through a real Mosquitto: two kiosks with their own databases converge after changes on each,
 * including a deletion made while one was offline and changes it made offline; a late joiner catches up from
 * retained records; records are encrypted on the wire and forged ones are refused.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { signPayload } from '../src/mqtt/auth.ts';
import { createMqttModule, type MqttModule } from '../src/mqtt/module.ts';
import type { FaceDb } from '../src/store/face-db.ts';
import type { Identity } from '../src/store/schema.ts';
import { startTestBroker, type TestBroker } from './helpers/mosquitto.ts';
import {
  FAKE_ENCODER,
  type FakeDaemon,
  fakeDaemon,
  Inbox,
  observer,
  testMqttConfig,
  vectorForColour,
  waitFor,
} from './helpers/mqtt-fixtures.ts';

let broker: TestBroker;
const running: MqttModule[] = [];

before(async () => {
  broker = await startTestBroker();
});
after(async () => {
  for (const m of running) await m.stop();
  await broker?.close();
});

async function startKiosk(daemon: FakeDaemon): Promise<MqttModule> {
  const mod = createMqttModule(
    daemon.ctx,
    testMqttConfig(broker.url, broker.protocolVersion, { fleet: { enabled: true, topic: 'facegate/_fleet' } }),
  );
  await mod.start();
  running.push(mod);
  await waitFor('connected', () => (mod.connected ? true : undefined));
  return mod;
}

async function stopKiosk(mod: MqttModule): Promise<void> {
  await mod.stop();
  running.splice(running.indexOf(mod), 1);
}

async function enroll(db: FaceDb, id: string, rgb: [number, number, number]): Promise<void> {
  await db.upsert({ id, name: id.toUpperCase(), badges: [`${id}-badge`], enabled: true });
  await db.addEncodings(id, [
    {
      vector: vectorForColour(...rgb),
      encoder: FAKE_ENCODER,
      createdAt: new Date().toISOString(),
      quality: null,
      source: 'test',
    },
  ]);
}

const view = (db: FaceDb) => ({
  identities: [...db.list()].sort((a, b) => a.id.localeCompare(b.id)),
  tombstones: [...db.tombstones()].sort((a, b) => a.id.localeCompare(b.id)),
});
const summary = (db: FaceDb) =>
  view(db)
    .identities.map((i: Identity) => `${i.id}@${i.version}:${i.name}`)
    .join(',');

async function converged(a: FaceDb, b: FaceDb, expect: string): Promise<void> {
  await waitFor(
    `converge on ${expect}`,
    () => (summary(a) === expect && summary(b) === expect ? true : undefined),
    30_000,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}: a=${summary(a)} b=${summary(b)}`);
  });
  assert.deepEqual(view(a), view(b));
}

test('two kiosks converge, including a deletion made while one was offline', async () => {
  const a = await fakeDaemon('kiosk-a');
  const b = await fakeDaemon('kiosk-b');
  const modA = await startKiosk(a);
  let modB = await startKiosk(b);
  const dbA = a.ctx.db;
  const dbB = b.ctx.db;

  await enroll(dbA, 'alice', [200, 10, 10]);
  await enroll(dbB, 'bob', [10, 200, 10]);
  await converged(dbA, dbB, 'alice@2:ALICE,bob@2:BOB');

  await dbB.upsert({ ...dbB.get('alice')!, name: 'Alice B.' });
  await converged(dbA, dbB, 'alice@3:Alice B.,bob@2:BOB');

  // B goes offline; A deletes bob and renames alice; B, offline, enrolls carol (as the CLI would).
  await stopKiosk(modB);
  await dbA.remove('bob');
  await dbA.upsert({ ...dbA.get('alice')!, name: 'Alice A.' });
  await enroll(dbB, 'carol', [10, 10, 200]);
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(dbB.get('bob'), 'B still has bob while offline (it keeps working from its copy)');
  modB = await startKiosk(b);
  await converged(dbA, dbB, 'alice@4:Alice A.,carol@2:CAROL');
  assert.deepEqual(
    dbB.tombstones().map((t) => t.id),
    ['bob'],
  );
  assert.equal(dbB.findByBadge('bob-badge'), undefined);

  // A kiosk that joins later catches up from the retained records alone.
  const c = await fakeDaemon('kiosk-c');
  await startKiosk(c);
  await converged(dbA, c.ctx.db, 'alice@4:Alice A.,carol@2:CAROL');
  assert.deepEqual(
    c.ctx.db.tombstones().map((t) => t.id),
    ['bob'],
  );
  void modA;
});

test('fleet records are encrypted on the wire, and forged or tampered ones are refused', async () => {
  const watcher = await observer(broker.url, broker.protocolVersion, undefined, ['facegate/_fleet/identities/+']);
  const inbox = new Inbox(watcher);
  const d = await fakeDaemon('kiosk-d');
  const mod = await startKiosk(d);
  await enroll(d.ctx.db, 'dave', [123, 45, 67]);
  const record = await waitFor('dave record', () => inbox.json('facegate/_fleet/identities/dave').at(-1));
  const text = JSON.stringify(record);
  assert.ok(!text.includes('DAVE') && !text.includes('dave-badge'), 'name and badge not in clear');
  assert.ok(!text.includes(String(vectorForColour(123, 45, 67)[3]).slice(0, 8)), 'vector not in clear');
  assert.match(String(record.sig), /^hmac-sha256:/);

  const rejectedBefore = (mod.stats().fleet as { rejected: number }).rejected;
  const forged = signPayload({ ...record, version: 99, sig: undefined }, { secret: 'another-site-secret-0000' });
  await watcher.publishAsync('facegate/_fleet/identities/dave', JSON.stringify(forged), { qos: 1 });
  const tampered = { ...record, data: Buffer.from('x'.repeat(80)).toString('base64') };
  await watcher.publishAsync('facegate/_fleet/identities/dave', JSON.stringify(tampered), { qos: 1 });
  await waitFor('both refused', () =>
    (mod.stats().fleet as { rejected: number }).rejected >= rejectedBefore + 2 ? true : undefined,
  );
  assert.equal(d.ctx.db.get('dave')?.version, 2);
  await watcher.endAsync();
});
