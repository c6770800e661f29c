/**
 * Fleet sync of the access rules (issue 14) between two kiosks on a real Mosquitto: a schedule change on kiosk A
 * reaches kiosk B and changes B's decision; a removal travels as a tombstone; a forged record is refused; a kiosk
 * that comes back with stale rules does not roll the fleet back.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { putGroup, putSchedule, removeRule } from '../../src/access/rule-edits.ts';
import { AccessCheck } from '../../src/door/access-check.ts';
import { Fleet } from '../helpers/fleet-fixtures.ts';
import { startTestBroker, type TestBroker } from '../helpers/mosquitto.ts';
import { fakeDaemon, observer, waitFor } from '../helpers/mqtt-fixtures.ts';

let broker: TestBroker;
let fleet: Fleet;
const PREFIX = 'facegate/_rules';

before(async () => {
  broker = await startTestBroker();
  fleet = new Fleet(broker, PREFIX);
});
after(async () => {
  await fleet?.stopAll();
  await broker?.close();
});

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
/** A weekday that is not today (UTC), so a schedule open only then is closed now. */
const notToday = () => DAYS[(new Date().getUTCDay() + 3) % 7];

test('a schedule change on kiosk A reaches kiosk B and changes its decision; removals travel as tombstones', async () => {
  const a = await fakeDaemon('rules-a');
  const b = await fakeDaemon('rules-b');
  await fleet.start(a);
  await fleet.start(b);
  await putSchedule(a.ctx.db, { name: 'office', windows: ['mon-sun 00:00-24:00'] });
  await putGroup(a.ctx.db, { name: 'staff', schedules: ['office'] });
  const checkB = new AccessCheck(b.ctx.db, { timeZone: 'UTC', requireGroup: false }, 'rules-b');
  const staff = { groups: ['staff'] };
  await waitFor('group on B', () => (b.ctx.db.rules().groups.some((g) => g.name === 'staff') ? true : undefined));
  assert.equal(checkB.verdict(staff, Date.now()).allowed, true);

  await putSchedule(a.ctx.db, { name: 'office', windows: [`${notToday()} 08:00-09:00`] });
  await waitFor('schedule v2 on B', () => (b.ctx.db.rules().schedules[0]?.version === 2 ? true : undefined));
  const verdict = checkB.verdict(staff, Date.now());
  assert.deepEqual([verdict.allowed, verdict.reason], [false, 'outside-schedule']);

  await removeRule(a.ctx.db, 'group', 'staff');
  await waitFor('group tombstone on B', () => (b.ctx.db.rules().groups.length === 0 ? true : undefined));
  assert.deepEqual(
    b.ctx.db.rules().tombstones.map((t) => `${t.kind}:${t.name}`),
    ['group:staff'],
  );
  assert.equal(checkB.verdict(staff, Date.now()).reason, 'unknown-group');
});

test('a kiosk back with stale rules does not roll the fleet back; a forged record is refused', async (t) => {
  // Its own prefix: the first test's retained rules stay out of this one.
  const own = new Fleet(broker, `${PREFIX}2`);
  t.after(() => own.stopAll());
  const a = await fakeDaemon('stale-a');
  const c = await fakeDaemon('stale-c');
  await own.start(a);
  await putSchedule(a.ctx.db, { name: 'shop', windows: ['mon 08:00-09:00'] });
  await putSchedule(a.ctx.db, { name: 'shop', windows: ['tue 08:00-09:00'] }); // version 2
  // C holds an old version 1 of its own and connects afterwards.
  await putSchedule(c.ctx.db, { name: 'shop', windows: ['sun 08:00-09:00'] });
  await own.start(c);
  await waitFor('C converges on v2', () => (c.ctx.db.rules().schedules[0]?.version === 2 ? true : undefined));
  assert.deepEqual(c.ctx.db.rules().schedules[0]?.windows, ['tue 08:00-09:00']);
  assert.deepEqual(a.ctx.db.rules().schedules[0]?.windows, ['tue 08:00-09:00'], 'A kept the newer one');

  const attacker = await observer(broker.url, broker.protocolVersion, undefined, [`${PREFIX}2/rules/schedule/shop`]);
  const repaired: string[] = [];
  attacker.on('message', (_topic, payload) => repaired.push(payload.toString('utf8')));
  const forged = {
    v: 1,
    origin: 'evil',
    entry: {
      kind: 'schedule',
      name: 'shop',
      record: { name: 'shop', windows: ['mon-sun 00:00-24:00'], version: 99, updatedAt: 'x' },
      tombstone: null,
    },
    sig: 'ab'.repeat(32),
  };
  await attacker.publishAsync(`${PREFIX}2/rules/schedule/shop`, JSON.stringify(forged), { qos: 1, retain: true });
  // Refused, and the retained copy repaired with the real version 2.
  await waitFor('the repair', () => {
    const versions = repaired.map((m) => JSON.parse(m).entry?.record?.version as number);
    const forgedAt = versions.indexOf(99);
    return forgedAt >= 0 && versions.slice(forgedAt + 1).includes(2) ? true : undefined;
  });
  assert.equal(a.ctx.db.rules().schedules[0]?.version, 2);
  assert.equal(c.ctx.db.rules().schedules[0]?.version, 2);
  await attacker.endAsync();
});
