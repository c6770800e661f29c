/**
 * Fleet sync through a real Mosquitto: two kiosks with their own databases converge after changes on each,
 * including a deletion made while one was offline and changes it made offline; a late joiner catches up from
 * retained records; records are encrypted on the wire and forged ones are refused.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { signPayload } from '../../src/mqtt/auth.ts';
import { fleetKeys, signFleet } from '../../src/mqtt/fleet-record.ts';
import { converged, enroll, FLEET_SECRET, Fleet } from '../helpers/fleet-fixtures.ts';
import { startTestBroker, type TestBroker } from '../helpers/mosquitto.ts';
import { fakeDaemon, Inbox, observer, TEST_SECRET, vectorForColour, waitFor } from '../helpers/mqtt-fixtures.ts';

let broker: TestBroker;
let fleet: Fleet;

before(async () => {
  broker = await startTestBroker();
  fleet = new Fleet(broker, 'facegate/_fleet');
});
after(async () => {
  await fleet?.stopAll();
  await broker?.close();
});

test('two kiosks converge, including a deletion made while one was offline', async () => {
  const a = await fakeDaemon('kiosk-a');
  const b = await fakeDaemon('kiosk-b');
  const modA = await fleet.start(a);
  let modB = await fleet.start(b);
  const dbA = a.ctx.db;
  const dbB = b.ctx.db;

  await enroll(dbA, 'alice', [200, 10, 10]);
  await enroll(dbB, 'bob', [10, 200, 10]);
  await converged(dbA, dbB, 'alice@2:ALICE,bob@2:BOB');

  await dbB.upsert({ ...dbB.get('alice')!, name: 'Alice B.' });
  await converged(dbA, dbB, 'alice@3:Alice B.,bob@2:BOB');

  // B goes offline; A deletes bob and renames alice; B, offline, enrolls carol (as the CLI would).
  await fleet.stop(modB);
  await dbA.remove('bob');
  await dbA.upsert({ ...dbA.get('alice')!, name: 'Alice A.' });
  await enroll(dbB, 'carol', [10, 10, 200]);
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(dbB.get('bob'), 'B still has bob while offline (it keeps working from its copy)');
  modB = await fleet.start(b);
  await converged(dbA, dbB, 'alice@4:Alice A.,carol@2:CAROL');
  assert.deepEqual(
    dbB.tombstones().map((t) => t.id),
    ['bob'],
  );
  assert.equal(dbB.findByBadge('bob-badge'), undefined);

  // A kiosk that joins later catches up from the retained records alone.
  const c = await fakeDaemon('kiosk-c');
  await fleet.start(c);
  await converged(dbA, c.ctx.db, 'alice@4:Alice A.,carol@2:CAROL');
  assert.deepEqual(
    c.ctx.db.tombstones().map((t) => t.id),
    ['bob'],
  );
  void modA;
});

test('fleet records are encrypted on the wire, and forged or tampered ones are refused', async (t) => {
  const watcher = await observer(broker.url, broker.protocolVersion, undefined, ['facegate/_fleet/identities/+']);
  t.after(() => watcher.endAsync(true));
  const inbox = new Inbox(watcher);
  const d = await fakeDaemon('kiosk-d');
  const mod = await fleet.start(d);
  await enroll(d.ctx.db, 'dave', [123, 45, 67]);
  const record = await waitFor('dave record', () => inbox.json('facegate/_fleet/identities/dave').at(-1));
  const text = JSON.stringify(record);
  assert.ok(!text.includes('DAVE') && !text.includes('dave-badge'), 'name and badge not in clear');
  assert.ok(!text.includes(String(vectorForColour(123, 45, 67)[3]).slice(0, 8)), 'vector not in clear');
  assert.match(String(record.sig), /^fleet-hmac-sha256:[0-9a-f]{64}$/);

  const rejectedBefore = (mod.stats().fleet as { rejected: number }).rejected;
  const publish = (payload: Record<string, unknown>) =>
    watcher.publishAsync('facegate/_fleet/identities/dave', JSON.stringify(payload), { qos: 1 });
  // Signed with another fleet's secret; signed like a command with the admin secret; data altered and re-signed.
  await publish(signFleet({ ...record, version: 99 }, fleetKeys('another-fleet-secret-0000')));
  await publish(signPayload({ ...record, version: 99, sig: undefined }, { secret: TEST_SECRET }));
  await publish(
    signFleet({ ...record, data: Buffer.from('x'.repeat(80)).toString('base64') }, fleetKeys(FLEET_SECRET)),
  );
  await waitFor('all three refused', () =>
    (mod.stats().fleet as { rejected: number }).rejected >= rejectedBefore + 3 ? true : undefined,
  );
  assert.equal(d.ctx.db.get('dave')?.version, 2);
  await watcher.endAsync();
});
