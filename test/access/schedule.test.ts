import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compileSchedule,
  compileSchedules,
  explainAt,
  type HolidayCalendars,
  isOpenAt,
  nextTransition,
  type Schedule,
} from '../../src/access/schedule.ts';
import { checkTimeZone } from '../../src/access/time-zone.ts';
import { seededRandom } from '../../src/util/random.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';
const NONE: HolidayCalendars = new Map();
const MIN = 60_000;
const HOUR = 60 * MIN;
/** Instants written with their offset, so the expectations do not depend on the code under test. */
const at = (iso: string) => Date.parse(iso);
const schedule = (...windows: string[]) => compileSchedule({ name: 's', windows });

function expectNext(
  s: Schedule,
  after: string,
  expected: string,
  open: boolean,
  zone: string,
  holidays: HolidayCalendars,
) {
  assert.deepEqual(nextTransition(s, at(after), zone, holidays), { at: at(expected), open }, `next after ${after}`);
}

/** When a closed schedule next opens (Berlin), and for how long. */
function nextOpening(s: Schedule, after: string): { opens: number; lasts: number } {
  const opens = nextTransition(s, at(after), BERLIN, NONE)!;
  const closes = nextTransition(s, opens.at, BERLIN, NONE)!;
  assert.deepEqual([opens.open, closes.open], [true, false]);
  return { opens: opens.at, lasts: closes.at - opens.at };
}

test('office hours in Berlin: open from the start minute, closed from the end minute, closed at the weekend', () => {
  const office = schedule('mon-fri 07:00-19:00', 'sat 09:00-13:00');
  const open = (iso: string) => isOpenAt(office, at(iso), BERLIN, NONE);
  assert.equal(open('2025-06-04T06:59:59+02:00'), false); // Wednesday
  assert.equal(open('2025-06-04T07:00:00+02:00'), true);
  assert.equal(open('2025-06-04T18:59:59+02:00'), true);
  assert.equal(open('2025-06-04T19:00:00+02:00'), false);
  assert.equal(open('2025-06-07T10:00:00+02:00'), true); // Saturday
  assert.equal(open('2025-06-07T13:00:00+02:00'), false);
  assert.equal(open('2025-06-08T10:00:00+02:00'), false); // Sunday
  // The same instant is 04:00 in New York: the zone decides.
  assert.equal(isOpenAt(office, at('2025-06-04T10:00:00+02:00'), NEW_YORK, NONE), false);
});

test('a window across midnight belongs to the day it starts on', () => {
  const night = schedule('fri 22:00-06:00');
  const open = (iso: string) => isOpenAt(night, at(iso), BERLIN, NONE);
  assert.equal(open('2025-06-06T21:59:00+02:00'), false); // Friday
  assert.equal(open('2025-06-06T22:00:00+02:00'), true);
  assert.equal(open('2025-06-07T00:00:00+02:00'), true); // Saturday after midnight
  assert.equal(open('2025-06-07T05:59:59+02:00'), true);
  assert.equal(open('2025-06-07T06:00:00+02:00'), false);
  assert.equal(open('2025-06-07T22:30:00+02:00'), false, 'Saturday night is not Friday night');
  assert.equal(open('2025-06-06T01:00:00+02:00'), false, 'Friday early morning belongs to Thursday');
  // Sunday night runs into Monday morning over the week end.
  assert.equal(isOpenAt(schedule('sun 23:00-01:00'), at('2025-06-09T00:30:00+02:00'), BERLIN, NONE), true);
});

test('24:00 ends the window at midnight', () => {
  const evening = schedule('mon 18:00-24:00');
  assert.equal(isOpenAt(evening, at('2025-06-02T23:59:59+02:00'), BERLIN, NONE), true);
  assert.equal(isOpenAt(evening, at('2025-06-03T00:00:00+02:00'), BERLIN, NONE), false);
});

test('Berlin spring forward (2025-03-30, 02:00 CET → 03:00 CEST): a boundary in the gap takes effect at the jump', () => {
  const late = schedule('sun 02:30-04:00');
  assert.equal(isOpenAt(late, at('2025-03-30T01:59:59+01:00'), BERLIN, NONE), false);
  assert.equal(isOpenAt(late, at('2025-03-30T03:00:00+02:00'), BERLIN, NONE), true, 'first moment past 02:30');
  assert.equal(isOpenAt(late, at('2025-03-30T04:00:00+02:00'), BERLIN, NONE), false);
  expectNext(late, '2025-03-29T12:00:00+01:00', '2025-03-30T03:00:00+02:00', true, BERLIN, NONE);
  // A window wholly inside the gap does not open that day; the next one is a week later.
  const lost = schedule('sun 02:00-02:45');
  expectNext(lost, '2025-03-29T12:00:00+01:00', '2025-04-06T02:00:00+02:00', true, BERLIN, NONE);
  // A window ending in the gap closes at the jump.
  const early = schedule('sun 01:00-02:30');
  expectNext(early, '2025-03-30T01:30:00+01:00', '2025-03-30T03:00:00+02:00', false, BERLIN, NONE);
  // An overnight window across the jump lasts 7 h of real time.
  assert.deepEqual(nextOpening(schedule('sat 22:00-06:00'), '2025-03-29T12:00:00+01:00'), {
    opens: at('2025-03-29T22:00:00+01:00'),
    lasts: 7 * HOUR,
  });
});

test('Berlin fall back (2025-10-26, 03:00 CEST → 02:00 CET): windows stay whole through the repeated hour', () => {
  const late = schedule('sun 02:30-04:00');
  assert.equal(isOpenAt(late, at('2025-10-26T02:29:59+02:00'), BERLIN, NONE), false);
  assert.equal(isOpenAt(late, at('2025-10-26T02:45:00+02:00'), BERLIN, NONE), true);
  assert.equal(isOpenAt(late, at('2025-10-26T02:10:00+01:00'), BERLIN, NONE), true, 'no hole when the clocks go back');
  assert.equal(isOpenAt(late, at('2025-10-26T03:59:59+01:00'), BERLIN, NONE), true);
  assert.equal(isOpenAt(late, at('2025-10-26T04:00:00+01:00'), BERLIN, NONE), false);
  expectNext(late, '2025-10-26T02:31:00+02:00', '2025-10-26T04:00:00+01:00', false, BERLIN, NONE);
  // An end inside the repeated hour takes its last reading.
  const early = schedule('sun 01:00-02:30');
  assert.equal(isOpenAt(early, at('2025-10-26T02:45:00+02:00'), BERLIN, NONE), true);
  expectNext(early, '2025-10-26T01:00:00+02:00', '2025-10-26T02:30:00+01:00', false, BERLIN, NONE);
  // An overnight window across the repeat lasts 9 h.
  assert.deepEqual(nextOpening(schedule('sat 22:00-06:00'), '2025-10-25T12:00:00+02:00'), {
    opens: at('2025-10-25T22:00:00+02:00'),
    lasts: 9 * HOUR,
  });
});

test('New York spring forward (2025-03-09, 02:00 EST → 03:00 EDT) and fall back (2025-11-02, 02:00 EDT → 01:00 EST)', () => {
  const spring = schedule('sun 02:30-03:30');
  assert.equal(isOpenAt(spring, at('2025-03-09T01:59:59-05:00'), NEW_YORK, NONE), false);
  assert.equal(isOpenAt(spring, at('2025-03-09T03:00:00-04:00'), NEW_YORK, NONE), true);
  expectNext(spring, '2025-03-09T00:00:00-05:00', '2025-03-09T03:00:00-04:00', true, NEW_YORK, NONE);
  expectNext(spring, '2025-03-09T03:00:00-04:00', '2025-03-09T03:30:00-04:00', false, NEW_YORK, NONE);
  const fall = schedule('sun 01:30-05:00');
  assert.equal(isOpenAt(fall, at('2025-11-02T01:29:00-04:00'), NEW_YORK, NONE), false);
  assert.equal(isOpenAt(fall, at('2025-11-02T01:45:00-04:00'), NEW_YORK, NONE), true);
  assert.equal(isOpenAt(fall, at('2025-11-02T01:10:00-05:00'), NEW_YORK, NONE), true, 'no hole at 01:00 EST');
  expectNext(fall, '2025-11-01T12:00:00-04:00', '2025-11-02T01:30:00-04:00', true, NEW_YORK, NONE);
  expectNext(fall, '2025-11-02T01:30:00-04:00', '2025-11-02T05:00:00-05:00', false, NEW_YORK, NONE);
});

test('nextTransition: skips the weekend, ignores touching windows, null for a schedule that never changes', () => {
  const office = schedule('mon-fri 07:00-19:00');
  expectNext(office, '2025-06-06T18:00:00+02:00', '2025-06-06T19:00:00+02:00', false, BERLIN, NONE);
  expectNext(office, '2025-06-06T19:00:00+02:00', '2025-06-09T07:00:00+02:00', true, BERLIN, NONE);
  const split = schedule('mon 08:00-12:00', 'mon 12:00-18:00');
  expectNext(split, '2025-06-02T09:00:00+02:00', '2025-06-02T18:00:00+02:00', false, BERLIN, NONE);
  assert.equal(nextTransition(schedule('mon-sun 00:00-24:00'), at('2025-06-02T09:00:00+02:00'), BERLIN, NONE), null);
  assert.equal(isOpenAt(schedule('mon-sun 00:00-24:00'), at('2025-10-26T02:30:00+01:00'), BERLIN, NONE), true);
});

const calendars: HolidayCalendars = new Map([['public', new Set(['2025-12-25', '2025-12-26'])]]);
const rules = compileSchedules([
  { name: 'office', windows: ['mon-fri 07:00-19:00'], holidays: { calendars: ['public'] } },
  { name: 'security', windows: ['mon-fri 06:00-22:00'], holidays: { calendars: ['public'], follow: 'skeleton' } },
  { name: 'skeleton', windows: ['mon-sun 10:00-14:00'] },
  { name: 'night', windows: ['mon-fri 22:00-06:00'], holidays: { calendars: ['public'] } },
  { name: 'lost', windows: ['mon-fri 07:00-19:00'], holidays: { calendars: ['gone'] } },
  { name: 'orphan', windows: ['mon-fri 07:00-19:00'], holidays: { calendars: ['public'], follow: 'missing' } },
]);
const named = (name: string): Schedule => rules.schedules.get(name)!;

test('holidays close a schedule, or make it follow the holiday schedule', () => {
  const christmas = at('2025-12-25T11:00:00+01:00'); // a Thursday
  assert.deepEqual(explainAt(named('office'), christmas, BERLIN, calendars), {
    open: false,
    window: null,
    holiday: { date: '2025-12-25', calendar: 'public', follow: null },
    problem: null,
  });
  assert.equal(isOpenAt(named('office'), at('2025-12-24T11:00:00+01:00'), BERLIN, calendars), true);
  assert.deepEqual(explainAt(named('security'), christmas, BERLIN, calendars), {
    open: true,
    window: 'mon-sun 10:00-14:00',
    holiday: { date: '2025-12-25', calendar: 'public', follow: 'skeleton' },
    problem: null,
  });
  assert.equal(isOpenAt(named('security'), at('2025-12-25T07:00:00+01:00'), BERLIN, calendars), false);
  // Office closes Wednesday 19:00 and reopens after the two holidays, on Monday.
  expectNext(named('office'), '2025-12-24T19:00:00+01:00', '2025-12-29T07:00:00+01:00', true, BERLIN, calendars);
  expectNext(named('security'), '2025-12-24T22:00:00+01:00', '2025-12-25T10:00:00+01:00', true, BERLIN, calendars);
});

test('a holiday decides a whole overnight window by its starting day', () => {
  const night = named('night');
  // Wednesday 24th night runs into the holiday morning of the 25th; the 25th's own night is closed.
  assert.equal(isOpenAt(night, at('2025-12-25T03:00:00+01:00'), BERLIN, calendars), true);
  assert.equal(isOpenAt(night, at('2025-12-25T23:00:00+01:00'), BERLIN, calendars), false);
  assert.equal(isOpenAt(night, at('2025-12-26T03:00:00+01:00'), BERLIN, calendars), false, 'part of the 25th');
});

test('a missing calendar or holiday schedule fails secure (closed, with the reason)', () => {
  const wednesday = at('2025-06-04T10:00:00+02:00');
  assert.deepEqual(explainAt(named('lost'), wednesday, BERLIN, calendars), {
    open: false,
    window: null,
    holiday: null,
    problem: 'holiday calendar "gone" is unknown',
  });
  assert.equal(isOpenAt(named('orphan'), wednesday, BERLIN, calendars), true, 'an ordinary day is unaffected');
  const christmas = explainAt(named('orphan'), at('2025-12-25T11:00:00+01:00'), BERLIN, calendars);
  assert.equal(christmas.open, false);
  assert.equal(christmas.problem, 'holiday schedule "missing" is unknown');
  assert.deepEqual(rules.problems, ['schedule "orphan": holiday schedule "missing" is unknown']);
});

test('compileSchedules leaves out a schedule that does not compile and says why; its followers close on holidays', () => {
  const { schedules, problems } = compileSchedules([
    { name: 'good', windows: ['mon 08:00-09:00'] },
    { name: 'bad', windows: ['mon 08:00-25:00'] },
    { name: 'follower', windows: ['mon-fri 08:00-18:00'], holidays: { calendars: ['public'], follow: 'bad' } },
  ]);
  assert.deepEqual([...schedules.keys()], ['good', 'follower']);
  assert.match(problems[0]!, /^schedule "bad": window "mon 08:00-25:00": bad end time "25:00"/);
  assert.equal(problems[1], 'schedule "follower": holiday schedule "bad" is unknown');
  const christmas = explainAt(schedules.get('follower')!, at('2025-12-25T11:00:00+01:00'), BERLIN, calendars);
  assert.deepEqual([christmas.open, christmas.problem], [false, 'holiday schedule "bad" is unknown']);
});

test('an unknown time zone is one clear error naming it', () => {
  assert.throws(() => isOpenAt(schedule('mon 08:00-09:00'), 0, 'Mars/Base', NONE), /unknown time zone "Mars\/Base"/);
  assert.throws(() => checkTimeZone('+01:00'), /unknown time zone "\+01:00"/);
  assert.equal(checkTimeZone('us/eastern'), NEW_YORK);
});

/** Saturday 20:00 local before each DST night of 2025; Santiago changes at midnight, Lord Howe by 30 minutes. */
const DST_NIGHTS: Array<[string, string]> = [
  [BERLIN, '2025-03-29T20:00:00+01:00'],
  [BERLIN, '2025-10-25T20:00:00+02:00'],
  [NEW_YORK, '2025-03-08T20:00:00-05:00'],
  [NEW_YORK, '2025-11-01T20:00:00-04:00'],
  ['America/Santiago', '2025-04-05T20:00:00-03:00'],
  ['America/Santiago', '2025-09-06T20:00:00-04:00'],
  ['Australia/Lord_Howe', '2025-04-05T20:00:00+11:00'],
  ['Australia/Lord_Howe', '2025-10-04T20:00:00+10:30'],
];

test('a fake clock walking through DST nights sees the state change exactly where nextTransition says', () => {
  // Random windows with boundaries around midnight and the small hours. Every boundary and every offset change is
  // on a quarter hour, so 5-minute steps see each state; the state must hold until the predicted change, differ
  // from it on, and be the old one 1 ms before.
  const random = seededRandom(14);
  const time = () =>
    `${String((21 + Math.floor(random() * 9)) % 24).padStart(2, '0')}:${['00', '15', '30', '45'][Math.floor(random() * 4)]}`;
  let changes = 0;
  for (const [zone, startIso] of DST_NIGHTS) {
    for (let n = 0; n < 5; n++) {
      const [a, b] = [time(), time()];
      if (a === b) continue;
      const s = schedule(`${random() < 0.5 ? 'sat' : 'sun'} ${a}-${b}`);
      const start = at(startIso);
      const clock = new FakeClock(start);
      const label = (t: number) => `${zone} ${a}-${b} at ${new Date(t).toISOString()}`;
      let next = nextTransition(s, clock.now(), zone, NONE);
      let state = isOpenAt(s, clock.now(), zone, NONE);
      while (clock.now() < start + 16 * HOUR) {
        clock.advance(5 * MIN);
        const now = clock.now();
        while (next && now >= next.at) {
          assert.equal(isOpenAt(s, next.at, zone, NONE), next.open, label(next.at));
          assert.equal(isOpenAt(s, next.at - 1, zone, NONE), state, `${label(next.at)}, just before`);
          assert.notEqual(next.open, state);
          state = next.open;
          changes++;
          next = nextTransition(s, next.at, zone, NONE);
        }
        assert.equal(isOpenAt(s, now, zone, NONE), state, label(now));
      }
    }
  }
  assert.ok(changes >= 30, `the walk saw ${changes} changes`);
});
