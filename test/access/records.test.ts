import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accessGroupRecordSchema,
  accessRulesSchema,
  danglingReferences,
  holidayCalendarRecordSchema,
  identityGroupsSchema,
  ruleTombstoneSchema,
  scheduleRecordSchema,
} from '../../src/access/records.ts';

const stamp = { version: 3, updatedAt: '2025-01-01T00:00:00Z' };

function firstIssue(result: { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } }) {
  assert.equal(result.success, false);
  const issue = result.error!.issues[0]!;
  return `${issue.path.join('.')}: ${issue.message}`;
}

test('a schedule record is validated in full: windows, names, holiday rule', () => {
  const ok = {
    name: 'office',
    windows: ['mon-fri 07:00-19:00'],
    holidays: { calendars: ['public'], follow: 'skeleton' },
    ...stamp,
  };
  assert.deepEqual(scheduleRecordSchema.parse(ok), ok);
  assert.equal(
    firstIssue(scheduleRecordSchema.safeParse({ ...ok, windows: ['mon-fri 07:00-19:00', 'fri 18:00-20:00'] })),
    'windows: windows "mon-fri 07:00-19:00" and "fri 18:00-20:00" overlap (fri 18:00-19:00)',
  );
  assert.match(
    firstIssue(scheduleRecordSchema.safeParse({ ...ok, windows: ['mon 25:00-26:00'] })),
    /bad start time "25:00"/,
  );
  assert.match(firstIssue(scheduleRecordSchema.safeParse({ ...ok, windows: [] })), /^windows:/);
  assert.match(firstIssue(scheduleRecordSchema.safeParse({ ...ok, name: 'a/b' })), /^name: a name is 1-64 letters/);
  assert.match(firstIssue(scheduleRecordSchema.safeParse({ ...ok, name: 'x\ny' })), /^name:/);
  assert.match(
    firstIssue(scheduleRecordSchema.safeParse({ ...ok, holidays: { calendars: ['public'], follow: 'office' } })),
    /^holidays.follow: a schedule cannot follow itself/,
  );
  assert.equal(scheduleRecordSchema.safeParse({ ...ok, version: -1 }).success, false);
});

test('hostile sizes are refused before any window is parsed', () => {
  const windows = Array.from({ length: 10_000 }, () => 'mon 08:00-09:00');
  assert.match(firstIssue(scheduleRecordSchema.safeParse({ name: 'x', windows, ...stamp })), /^windows:/);
  assert.equal(
    scheduleRecordSchema.safeParse({ name: 'x', windows: [`mon ${'9'.repeat(1e5)}`], ...stamp }).success,
    false,
  );
});

test('holiday dates must exist', () => {
  const ok = { name: 'public', dates: ['2024-02-29', '2025-12-25'], ...stamp };
  assert.deepEqual(holidayCalendarRecordSchema.parse(ok), ok);
  for (const bad of ['2025-02-29', '2025-13-01', '2025-04-31', '25-12-25', '2025-12-25T00:00', '']) {
    assert.equal(
      firstIssue(holidayCalendarRecordSchema.safeParse({ ...ok, dates: [bad] })),
      `dates.0: bad date ${JSON.stringify(bad)} (YYYY-MM-DD)`,
    );
  }
});

test('groups, identity membership and tombstones', () => {
  const group = { name: 'cleaners', schedules: ['evenings'], kiosks: ['front', 'back-door_2'], ...stamp };
  assert.deepEqual(accessGroupRecordSchema.parse(group), group);
  assert.equal(accessGroupRecordSchema.safeParse({ ...group, schedules: [] }).success, false);
  assert.match(
    firstIssue(accessGroupRecordSchema.safeParse({ ...group, kiosks: ['front/#'] })),
    /^kiosks.0: a kiosk id/,
  );
  assert.equal(identityGroupsSchema.safeParse(Array.from({ length: 33 }, (_, i) => `g${i}`)).success, false);
  assert.deepEqual(
    ruleTombstoneSchema.parse({ kind: 'group', name: 'cleaners', version: 4, deletedAt: 'x' }).kind,
    'group',
  );
  assert.equal(
    ruleTombstoneSchema.safeParse({ kind: 'identity', name: 'x', version: 1, deletedAt: 'x' }).success,
    false,
  );
  assert.deepEqual(accessRulesSchema.parse({}), { schedules: [], holidayCalendars: [], groups: [], tombstones: [] });
});

test('dangling references are listed so the CLI can refuse a change or removal that would create one', () => {
  const rules = accessRulesSchema.parse({
    schedules: [
      {
        name: 'office',
        windows: ['mon 08:00-09:00'],
        holidays: { calendars: ['public', 'gone'], follow: 'nowhere' },
        ...stamp,
      },
    ],
    holidayCalendars: [{ name: 'public', dates: [], ...stamp }],
    groups: [{ name: 'staff', schedules: ['office', 'missing'], ...stamp }],
  });
  assert.deepEqual(danglingReferences(rules), [
    'schedule "office" names unknown holiday calendar "gone"',
    'schedule "office" follows unknown schedule "nowhere" on holidays',
    'group "staff" names unknown schedule "missing"',
  ]);
});
