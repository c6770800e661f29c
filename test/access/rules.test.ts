import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accessRulesSchema } from '../../src/access/records.ts';
import { type CanEnterInput, canEnter, compileRules } from '../../src/access/rules.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

const HOUR = 3_600_000;
const stamp = { version: 1, updatedAt: '2025-01-01T00:00:00Z' };

// The README's worked example: office hours, a cleaners' evening group limited to the front door, public holidays.
const stored = accessRulesSchema.parse({
  schedules: [
    {
      name: 'office-hours',
      windows: ['mon-fri 07:00-19:00', 'sat 09:00-13:00'],
      holidays: { calendars: ['public'] },
      ...stamp,
    },
    { name: 'evenings', windows: ['mon-fri 18:00-22:00'], ...stamp },
    { name: 'holiday-hours', windows: ['mon-sun 10:00-12:00'], ...stamp },
    {
      name: 'facilities',
      windows: ['mon-fri 06:00-20:00'],
      holidays: { calendars: ['public'], follow: 'holiday-hours' },
      ...stamp,
    },
    { name: 'broken', windows: ['mon-sun 00:00-24:00'], holidays: { calendars: ['deleted-calendar'] }, ...stamp },
  ],
  holidayCalendars: [{ name: 'public', dates: ['2025-12-25', '2025-12-26'], ...stamp }],
  groups: [
    { name: 'staff', schedules: ['office-hours'], ...stamp },
    { name: 'cleaners', schedules: ['evenings'], kiosks: ['front'], ...stamp },
    { name: 'facilities', schedules: ['facilities'], ...stamp },
    { name: 'dangling', schedules: ['no-such-schedule'], ...stamp },
    { name: 'misconfigured', schedules: ['broken'], ...stamp },
  ],
});
const compiled = compileRules(stored);

function ask(clock: FakeClock, identityGroups: string[] | undefined, extra: Partial<CanEnterInput> = {}) {
  return canEnter({
    identityGroups,
    ...compiled,
    kioskId: 'front',
    requireGroup: false,
    now: clock.now(),
    timeZone: 'Europe/Berlin',
    ...extra,
  });
}

test('no group keeps today behaviour (allowed at any hour) unless requireGroup', () => {
  const clock = new FakeClock(Date.parse('2025-06-08T03:00:00+02:00')); // Sunday night
  assert.deepEqual(ask(clock, undefined), {
    allowed: true,
    reason: 'ok',
    detail: 'no access group: not limited by schedule',
    group: null,
    schedule: null,
  });
  assert.equal(ask(clock, []).allowed, true);
  const required = ask(clock, [], { requireGroup: true });
  assert.deepEqual([required.allowed, required.reason], [false, 'no-group']);
});

test('a group grants inside its schedule and denies outside-schedule as the clock moves on', () => {
  const clock = new FakeClock(Date.parse('2025-06-04T18:30:00+02:00')); // Wednesday
  assert.deepEqual(ask(clock, ['staff']), {
    allowed: true,
    reason: 'ok',
    detail: 'group "staff", schedule "office-hours" (mon-fri 07:00-19:00)',
    group: 'staff',
    schedule: 'office-hours',
  });
  clock.advance(HOUR); // 19:30
  const late = ask(clock, ['staff']);
  assert.deepEqual([late.allowed, late.reason], [false, 'outside-schedule']);
  assert.equal(late.detail, 'group "staff": schedule "office-hours" closed');
});

test('several groups: any one granting is enough, and the verdict names it', () => {
  const clock = new FakeClock(Date.parse('2025-06-04T20:00:00+02:00'));
  const verdict = ask(clock, ['staff', 'cleaners']);
  assert.deepEqual([verdict.allowed, verdict.group, verdict.schedule], [true, 'cleaners', 'evenings']);
  clock.advance(2 * HOUR); // 22:00: evenings closed too
  const closed = ask(clock, ['staff', 'cleaners']);
  assert.deepEqual([closed.allowed, closed.reason], [false, 'outside-schedule']);
  assert.equal(
    closed.detail,
    'group "staff": schedule "office-hours" closed; group "cleaners": schedule "evenings" closed',
  );
});

test('a group limited to kiosks denies elsewhere, and where the kiosk has no id', () => {
  const clock = new FakeClock(Date.parse('2025-06-04T20:00:00+02:00'));
  assert.equal(ask(clock, ['cleaners']).allowed, true);
  const back = ask(clock, ['cleaners'], { kioskId: 'back' });
  assert.deepEqual(
    [back.allowed, back.reason, back.detail],
    [false, 'not-at-this-kiosk', 'group "cleaners": not at this kiosk'],
  );
  assert.equal(ask(clock, ['cleaners'], { kioskId: null }).reason, 'not-at-this-kiosk');
  assert.equal(ask(clock, ['staff'], { kioskId: 'back' }).reason, 'outside-schedule', 'staff is not kiosk-limited');
});

test('an unknown group fails secure: it grants nothing and never counts as "no group"', () => {
  const night = new FakeClock(Date.parse('2025-06-08T03:00:00+02:00'));
  const verdict = ask(night, ['ghost']);
  assert.deepEqual(
    [verdict.allowed, verdict.reason, verdict.detail],
    [false, 'unknown-group', 'group "ghost": unknown group'],
  );
  assert.equal(ask(night, ['ghost'], { requireGroup: true }).reason, 'unknown-group');
  const day = new FakeClock(Date.parse('2025-06-04T10:00:00+02:00'));
  assert.equal(ask(day, ['ghost', 'staff']).allowed, true, 'a known group still grants');
});

test('dangling schedules and calendars, and a bad zone, deny with a configuration reason; canEnter never throws', () => {
  const clock = new FakeClock(Date.parse('2025-06-04T10:00:00+02:00'));
  assert.equal(ask(clock, ['dangling']).reason, 'unknown-schedule');
  const broken = ask(clock, ['misconfigured']);
  assert.deepEqual([broken.allowed, broken.reason], [false, 'rule-error']);
  assert.match(broken.detail, /holiday calendar "deleted-calendar" is unknown/);
  const zone = ask(clock, ['staff'], { timeZone: 'Mars/Base' });
  assert.deepEqual([zone.allowed, zone.reason], [false, 'rule-error']);
  assert.match(zone.detail, /unknown time zone "Mars\/Base"/);
  // Configuration faults come first in the reason; every group is in the detail.
  const evening = new FakeClock(Date.parse('2025-06-04T23:00:00+02:00'));
  const mixed = ask(evening, ['ghost', 'cleaners', 'staff', 'dangling'], { kioskId: 'back' });
  assert.equal(mixed.reason, 'unknown-schedule');
  assert.equal(ask(evening, ['ghost', 'cleaners', 'staff'], { kioskId: 'back' }).reason, 'outside-schedule');
  assert.equal(ask(evening, ['ghost', 'cleaners'], { kioskId: 'back' }).reason, 'not-at-this-kiosk');
  assert.equal(mixed.detail.split('; ').length, 4);
});

test('holidays: staff are kept out, facilities follow the holiday hours', () => {
  const clock = new FakeClock(Date.parse('2025-12-25T09:00:00+01:00')); // Thursday, a holiday
  assert.equal(ask(clock, ['staff']).reason, 'outside-schedule');
  assert.match(ask(clock, ['staff']).detail, /closed \(holiday 2025-12-25 in "public"\)/);
  assert.equal(ask(clock, ['facilities']).allowed, false, '09:00 is before the holiday hours');
  clock.advance(HOUR);
  assert.deepEqual([ask(clock, ['facilities']).allowed, ask(clock, ['facilities']).schedule], [true, 'facilities']);
  clock.advance(2 * HOUR); // 12:00
  assert.equal(ask(clock, ['facilities']).allowed, false);
});

test('the detail stays bounded however many groups an identity names', () => {
  const clock = new FakeClock(Date.parse('2025-06-04T10:00:00+02:00'));
  const many = Array.from({ length: 32 }, (_, i) => `ghost-${'x'.repeat(50)}-${i}`);
  const verdict = ask(clock, many);
  assert.equal(verdict.reason, 'unknown-group');
  assert.ok(verdict.detail.length <= 500, `${verdict.detail.length} characters`);
});
