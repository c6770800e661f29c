/**
 * Scheduled unlock on a fake clock: the relay is held unlocked inside the schedule (with first-person-in), the hold
 * ends — locked — when the schedule closes, changes, or the module stops; held-open alarms only outside the hold.
 * The fake clock starts at 2023-11-14T22:13:20Z, a Tuesday; the schedules are read in UTC.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { pino } from 'pino';
import { putSchedule } from '../../src/access/rule-edits.ts';
import { EventBus } from '../../src/bus/event-bus.ts';
import { DoorLock } from '../../src/door/door-lock.ts';
import { DoorMonitor } from '../../src/door/door-monitor.ts';
import { ScheduledUnlock } from '../../src/door/scheduled-unlock.ts';
import { SimulatedContact } from '../../src/hardware/contact/simulated-contact.ts';
import type { RelayDriver, RelayState } from '../../src/hardware/relay/relay.ts';
import { FaceDb } from '../../src/store/face-db.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

const HOUR = 3_600_000;
/** Tuesday 22:13:20 → Wednesday 07:00:00 UTC. */
const TO_WED_0700 = 8 * HOUR + 46 * 60_000 + 40_000;

let dir = '';
let db: FaceDb;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-hold-'));
  db = await FaceDb.open(path.join(dir, 'faces.json'));
  await putSchedule(db, { name: 'shop', windows: ['mon-fri 07:00-19:00'] });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Records what the lock drove. */
class RecordingDriver implements RelayDriver {
  readonly description = 'recording';
  states: RelayState[] = [];
  async init() {}
  async pulse() {
    this.states.push('unlocked');
    return null;
  }
  async set(state: RelayState) {
    this.states.push(state);
    return null;
  }
  setSync(state: RelayState) {
    this.states.push(state);
  }
  async close() {}
}

async function setup(firstPersonIn = false) {
  const clock = new FakeClock();
  const bus = new EventBus();
  const driver = new RecordingDriver();
  const lock = new DoorLock(driver, { clock, bus, unlockPulseMs: 3000 });
  await lock.start();
  const contact = new SimulatedContact();
  const monitor = new DoorMonitor({ contact, bus, clock, heldOpenMs: 30_000 });
  await monitor.start();
  const alarms: string[] = [];
  bus.on('alarm', (a) => alarms.push(a.kind));
  const unlock = new ScheduledUnlock({
    bus,
    db,
    clock,
    logger: pino({ level: 'silent' }),
    settings: { timeZone: 'UTC', scheduledUnlock: { schedule: 'shop', firstPersonIn } },
  });
  await unlock.start();
  const settle = () => new Promise((r) => setImmediate(r));
  const grant = () =>
    bus.emit('access', {
      eventId: 'e',
      time: '',
      mode: 'badge+face',
      badge: null,
      identityId: 'ann',
      identityName: 'Ann',
      decision: 'granted',
      reason: 'match',
      distance: 0.1,
      threshold: 0.6,
      latencyMs: 1,
    });
  return { clock, bus, driver, lock, contact, monitor, unlock, alarms, settle, grant };
}

test('held unlocked inside the schedule, a pulse inside changes nothing, locked when it closes', async (t) => {
  const s = await setup();
  t.after(() => s.unlock.stop());
  assert.equal(s.lock.state, 'locked');
  await s.clock.advanceAsync(TO_WED_0700 - 1000);
  assert.equal(s.unlock.holdActive, false);
  await s.clock.advanceAsync(1000);
  assert.equal(s.unlock.holdActive, true);
  assert.equal(s.lock.state, 'unlocked');
  const driven = s.driver.states.length;
  await s.lock.pulse('access:x');
  await s.clock.advanceAsync(5000);
  assert.equal(s.lock.state, 'unlocked', 'a pulse end inside the hold does not lock');
  assert.equal(s.driver.states.length, driven);
  await s.clock.advanceAsync(12 * HOUR);
  assert.equal(s.unlock.holdActive, false);
  assert.equal(s.lock.state, 'locked');
  assert.equal(s.driver.states.at(-1), 'locked');
});

test('first person in: the hold starts with the first grant of the opening, and again only the next day', async (t) => {
  const s = await setup(true);
  t.after(() => s.unlock.stop());
  await s.clock.advanceAsync(TO_WED_0700 + HOUR);
  assert.equal(s.lock.state, 'locked', 'nobody arrived yet');
  s.grant();
  await s.settle();
  assert.equal(s.lock.state, 'unlocked');
  await s.clock.advanceAsync(11 * HOUR);
  assert.equal(s.lock.state, 'locked', 'closed at 19:00');
  s.grant(); // after hours: a grant is a pulse, no hold
  await s.clock.advanceAsync(13 * HOUR); // Thursday 08:00
  assert.equal(s.unlock.holdActive, false, 'a new opening waits for its own first person');
  s.grant();
  await s.settle();
  assert.equal(s.unlock.holdActive, true);
});

test('a schedule change ends the hold at once (locked); removing the schedule keeps the door locked', async (t) => {
  const s = await setup();
  t.after(() => s.unlock.stop());
  await s.clock.advanceAsync(TO_WED_0700 + HOUR);
  assert.equal(s.lock.state, 'unlocked');
  await putSchedule(db, { name: 'shop', windows: ['sat 09:00-13:00'] });
  await s.settle();
  assert.equal(s.unlock.holdActive, false);
  assert.equal(s.lock.state, 'locked');
  await putSchedule(db, { name: 'shop', windows: ['mon-fri 07:00-19:00'] });
  await s.settle();
  assert.equal(s.lock.state, 'unlocked', 'back inside the window');
});

test('stopping the module (daemon stop) ends the hold locked', async () => {
  const s = await setup();
  await s.clock.advanceAsync(TO_WED_0700 + HOUR);
  assert.equal(s.lock.state, 'unlocked');
  await s.unlock.stop();
  await s.settle();
  assert.equal(s.lock.state, 'locked');
  await s.clock.advanceAsync(HOUR);
  assert.equal(s.lock.state, 'locked', 'no timer re-opens it');
});

test('held-open is suppressed only inside the hold: the door standing open at closing time raises it 30 s later', async (t) => {
  const s = await setup();
  t.after(() => s.unlock.stop());
  await s.clock.advanceAsync(TO_WED_0700 + HOUR);
  s.contact.set(true);
  await s.clock.advanceAsync(2 * HOUR);
  assert.deepEqual(s.alarms, [], 'no held-open inside the hold');
  await s.clock.advanceAsync(9 * HOUR); // 19:00: hold ends, door still open
  assert.deepEqual(s.alarms, []);
  await s.clock.advanceAsync(30_000);
  assert.deepEqual(s.alarms, ['door-held-open']);
  s.contact.set(false);
  await s.clock.advanceAsync(HOUR);
  s.contact.set(true);
  assert.deepEqual(s.alarms, ['door-held-open', 'door-forced-open'], 'forced after hours');
});
