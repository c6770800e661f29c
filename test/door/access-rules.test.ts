/**
 * The door flow with access rules (issue 14), on a fake clock: a matched face outside the person's schedule is
 * denied `outside-schedule`, counts toward the lockout, and the screen says so; inside the window, and people with
 * no group, still enter. The fake clock starts at 2023-11-14T22:13:20Z, a Tuesday.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { putGroup, putSchedule, setMembers } from '../../src/access/rule-edits.ts';
import { screenReason } from '../../src/door/access-check.ts';
import { BADGES, personVector, useDoorBench } from '../helpers/door-harness.ts';

const { harness, faceDb } = useDoorBench();
const HOUR = 3_600_000;

async function officeHours(): Promise<void> {
  const db = faceDb();
  await putSchedule(db, { name: 'office', windows: ['mon-fri 07:00-19:00'] });
  await putGroup(db, { name: 'staff', schedules: ['office'] });
  await setMembers(db, 'staff', ['alice'], []);
}

const verified = (h: Awaited<ReturnType<typeof harness>>, badge: string, index: number) => {
  h.badge(badge);
  h.frame(personVector(index));
  h.frame(personVector(index));
};

test('a matched face outside its schedule is denied outside-schedule and the screen says so; no pulse', async () => {
  await officeHours();
  const h = await harness({ timeZone: 'UTC' });
  verified(h, BADGES.alice, 0);
  assert.deepEqual(
    h.access.map((a) => `${a.identityId}:${a.decision}:${a.reason}`),
    ['alice:denied:outside-schedule'],
  );
  assert.deepEqual(h.pulses, []);
  assert.equal(h.states.find((s) => s.state === 'DENIED')?.reason, 'outside-schedule');
  assert.ok(h.logLines.some((l) => l.includes('schedule \\"office\\" closed')));
});

test('inside the window the same person enters; someone with no group is not limited by schedule', async () => {
  await officeHours();
  const h = await harness({ timeZone: 'UTC', cooldownMs: 10 });
  // Tuesday 22:13 UTC → Wednesday 08:13 UTC.
  h.clock.advance(10 * HOUR);
  verified(h, BADGES.alice, 0);
  h.clock.advance(100);
  verified(h, BADGES.bob, 1);
  assert.deepEqual(
    h.access.map((a) => `${a.identityId}:${a.decision}:${a.reason}`),
    ['alice:granted:match', 'bob:granted:match'],
  );
});

test('the time zone decides: 22:13 UTC is 17:13 in New York, inside office hours', async () => {
  await officeHours();
  const h = await harness({ timeZone: 'America/New_York' });
  verified(h, BADGES.alice, 0);
  assert.equal(h.access[0]?.decision, 'granted');
});

test('outside-schedule denials count toward the badge lockout like any denial', async () => {
  await officeHours();
  const h = await harness({ timeZone: 'UTC', cooldownMs: 10, lockout: { maxFailures: 2 } });
  verified(h, BADGES.alice, 0);
  h.clock.advance(100);
  verified(h, BADGES.alice, 0);
  assert.deepEqual(
    h.alarms.map((a) => a.kind),
    ['lockout'],
  );
  h.clock.advance(100);
  verified(h, BADGES.alice, 0);
  assert.equal(h.access.at(-1)?.reason, 'locked-out');
});

test('face mode: outside-schedule counts toward the face lockout', async () => {
  await officeHours();
  const h = await harness({ timeZone: 'UTC', mode: 'face', cooldownMs: 10, faceLockout: { maxFailures: 2 } });
  h.frame(personVector(0));
  h.frame(personVector(0));
  assert.equal(h.access[0]?.reason, 'outside-schedule');
  h.frame(null); // the decided face leaves, then comes back
  h.clock.advance(100);
  h.frame(personVector(0));
  h.frame(personVector(0));
  assert.equal(h.access[1]?.reason, 'outside-schedule');
  assert.deepEqual(
    h.alarms.map((a) => a.kind),
    ['lockout'],
  );
});

test('badge mode and requireGroup: the rules decide at once; no group is denied when a group is required', async () => {
  await officeHours();
  const h = await harness({ timeZone: 'UTC', mode: 'badge', requireGroup: true, cooldownMs: 10 });
  h.badge(BADGES.alice);
  h.clock.advance(100);
  h.badge(BADGES.bob);
  assert.deepEqual(
    h.access.map((a) => `${a.identityId}:${a.reason}`),
    ['alice:outside-schedule', 'bob:no-group'],
  );
  assert.deepEqual(h.pulses, []);
});

test('a group naming a deleted schedule fails secure; the screen tells only outside-schedule apart', async () => {
  const db = faceDb();
  await putSchedule(db, { name: 'office', windows: ['mon-sun 00:00-24:00'] });
  await putGroup(db, { name: 'staff', schedules: ['office'] });
  await setMembers(db, 'staff', ['alice'], ['alice']);
  await setMembers(db, 'staff', ['alice'], []);
  await putGroup(db, { name: 'night', schedules: ['office'] });
  await db.upsert({ id: 'alice', name: 'Alice', badges: [BADGES.alice], enabled: true, groups: ['ghost'] });
  const h = await harness({ timeZone: 'UTC' });
  verified(h, BADGES.alice, 0);
  assert.equal(h.access[0]?.reason, 'unknown-group');
  assert.equal(h.states.find((s) => s.state === 'DENIED')?.reason, 'denied');
  assert.equal(screenReason('not-at-this-kiosk', false), 'denied');
  assert.equal(screenReason('outside-schedule', true), 'locked-out');
});
