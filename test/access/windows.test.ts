import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWeek, parseWindow } from '../../src/access/windows.ts';
import { FacegateError } from '../../src/util/errors.ts';

test('days: single, range, list, mixed, and a range wrapping over the week end', () => {
  assert.deepEqual(parseWindow('mon 07:00-19:00').days, [0]);
  assert.deepEqual(parseWindow('mon-fri 07:00-19:00').days, [0, 1, 2, 3, 4]);
  assert.deepEqual(parseWindow('sat,sun 09:00-13:00').days, [5, 6]);
  assert.deepEqual(parseWindow('mon-wed,fri 09:00-13:00').days, [0, 1, 2, 4]);
  assert.deepEqual(parseWindow('fri-mon 09:00-13:00').days, [0, 4, 5, 6]);
  assert.deepEqual(parseWindow('sun-sat 09:00-13:00').days, [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(parseWindow('  Mon-FRI   7:00-19:00 ').text, 'mon-fri 07:00-19:00', 'normalised');
});

test('times: minutes since midnight; an end at or before the start runs past midnight; 24:00 only as an end', () => {
  assert.deepEqual(parseWindow('mon 07:30-19:05'), { days: [0], start: 450, end: 1145, text: 'mon 07:30-19:05' });
  assert.equal(parseWindow('fri 22:00-06:00').end, 1440 + 360);
  assert.equal(parseWindow('fri 18:00-24:00').end, 1440);
  assert.equal(parseWindow('fri 00:00-24:00').end, 1440);
  assert.deepEqual(parseWindow('fri 22:00-00:00'), parseWindow('fri 22:00-24:00'), '00:00 as an end is midnight');
  assert.equal(parseWindow('fri 22:00-00:00').text, 'fri 22:00-24:00');
  assert.equal(parseWindow('fri 08:00-07:59').end, 1440 + 479, 'the longest overnight window, 23h59');
});

const refused: Array<[string, RegExp]> = [
  ['mon-fri 07:00-25:00', /"25:00".*hours 00-23/],
  ['mon-fri 07:60-19:00', /"07:60".*minutes 00-59/],
  ['moon 07:00-19:00', /unknown day "moon"/],
  ['mon-fry 07:00-19:00', /unknown day "fry"/],
  ['mon 08:00-08:00', /empty window/],
  ['mon 00:00-00:00', /empty window.*00:00-24:00/],
  ['mon 24:00-06:00', /cannot start at 24:00/],
  ['mon-mon 08:00-09:00', /names one day; write mon/],
  ['mon,tue,mon 08:00-09:00', /day mon named twice/],
  ['mon-fri,wed 08:00-09:00', /day wed named twice/],
  ['mon-tue-wed 08:00-09:00', /bad day range/],
  ['mon,,tue 08:00-09:00', /empty day/],
  ['mon 0800-0900', /bad start time "0800" \(HH:MM\)/],
  ['mon 08:00', /bad time range/],
  ['mon 8h-9h', /bad start time "8h"/],
  ['07:00-19:00', /expected "<days> <HH:MM>-<HH:MM>"/],
  ['mon 07:00-19:00 extra', /expected "<days> <HH:MM>-<HH:MM>"/],
  ['', /expected/],
  [`mon ${'1'.repeat(100)}`, /longer than 64/],
];

for (const [text, message] of refused) {
  test(`refused with one line naming the bad part: ${JSON.stringify(text.slice(0, 30))}`, () => {
    assert.throws(
      () => parseWindow(text),
      (err: unknown) => {
        assert.ok(err instanceof FacegateError);
        assert.match(err.message, message);
        assert.ok(!err.message.includes('\n'), 'one line');
        return true;
      },
    );
  });
}

test('a week: windows sorted per day; touching windows are fine', () => {
  const week = parseWeek(['mon-fri 12:00-18:00', 'mon-fri 08:00-12:00', 'sat 09:00-13:00']);
  assert.deepEqual(
    week[0]!.map((w) => w.start),
    [480, 720],
  );
  assert.equal(week[5]!.length, 1);
  assert.equal(week[6]!.length, 0);
  assert.doesNotThrow(() => parseWeek(['mon-sun 00:00-24:00']), 'whole days touch at midnight');
  assert.doesNotThrow(() => parseWeek(['mon-sun 22:00-06:00']), 'nights touch nothing');
});

test('overlaps are refused anywhere in the week, naming both windows and where', () => {
  assert.throws(
    () => parseWeek(['mon-fri 07:00-19:00', 'fri 18:00-20:00']),
    /windows "mon-fri 07:00-19:00" and "fri 18:00-20:00" overlap \(fri 18:00-19:00\)/,
  );
  assert.throws(
    () => parseWeek(['mon 22:00-06:00', 'tue 05:00-07:00']),
    /overlap \(tue 05:00-06:00\)/,
    'through midnight',
  );
  assert.throws(
    () => parseWeek(['sun 22:00-06:00', 'mon 05:30-07:00']),
    /overlap \(mon 05:30-06:00\)/,
    'through the week end',
  );
  assert.doesNotThrow(() => parseWeek(['mon-sun 08:00-07:59']), 'each 23h59 window ends before the next starts');
  assert.throws(() => parseWeek(['mon 08:00-09:00', 'Mon 08:00-09:00']), /window "mon 08:00-09:00" is listed twice/);
});

test('a schedule needs 1..64 windows', () => {
  assert.throws(() => parseWeek([]), /at least one window/);
  const many = Array.from(
    { length: 65 },
    (_, i) =>
      `mon ${String(Math.floor(i / 4)).padStart(2, '0')}:${String((i % 4) * 15).padStart(2, '0')}-${String(Math.floor(i / 4)).padStart(2, '0')}:${String((i % 4) * 15 + 10).padStart(2, '0')}`,
  );
  assert.throws(() => parseWeek(many), /at most 64 windows/);
  assert.doesNotThrow(() => parseWeek(many.slice(0, 64)));
});
