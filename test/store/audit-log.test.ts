import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { AuditLog, type AuditLogOptions } from '../../src/store/audit-log.ts';
import { parseDuration, parseTimeArg, queryAuditLog } from '../../src/store/audit-query.ts';
import type { AuditEntry } from '../../src/store/audit-record.ts';
import { setPendingRedactions } from '../../src/store/audit-redact.ts';
import { listSegments } from '../../src/store/audit-segments.ts';
import { type MaskedBadge, maskBadge } from '../../src/util/badge-mask.ts';
import { FacegateError } from '../../src/util/errors.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const START = Date.parse('2025-06-04T08:00:00Z');

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'facegate-audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function openLog(t: TestContext, opts: Partial<AuditLogOptions> & { dir: string }) {
  const clock = (opts.clock as FakeClock | undefined) ?? new FakeClock(START);
  const log = await AuditLog.open({ ...opts, clock });
  t.after(() => log.close());
  return { log, clock };
}

const entry = (n: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  kind: 'access',
  what: 'badge+face',
  result: 'granted',
  reason: 'match',
  kiosk: 'front',
  identityId: 'p1',
  name: 'Ann Example',
  badge: maskBadge('12345678'),
  detail: `#${n}`,
  ...extra,
});

const all = (dir: string, extra = {}) => queryAuditLog(dir, { limit: 1_000_000, ...extra });
const numbers = (records: Array<{ detail: string }>) => records.map((r) => Number(r.detail.slice(1)));

test('append and read back: every field, newest first, with a summary of everything matched', async (t) => {
  const dir = tempDir(t);
  const { log, clock } = await openLog(t, { dir });
  log.append(entry(0));
  clock.advance(MIN);
  log.append(entry(1, { result: 'denied', reason: 'outside-schedule', identityId: 'p2', name: 'Bo' }));
  clock.advance(MIN);
  log.append({ kind: 'alarm', what: 'door-forced-open', result: 'raised', detail: 'contact opened while locked' });
  clock.advance(MIN);
  log.append({ kind: 'admin', what: 'identity.delete', result: 'ok', by: 'cli', identityId: 'p3', name: 'Cy' });
  const { records, summary, skippedLines } = await all(dir);
  assert.deepEqual(summary, { matched: 4, granted: 1, denied: 1, alarms: 1, admin: 1 });
  assert.equal(skippedLines, 0);
  assert.deepEqual(
    records.map((r) => r.what),
    ['identity.delete', 'door-forced-open', 'badge+face', 'badge+face'],
  );
  const { time: _time, ...written } = entry(0);
  assert.deepEqual(records[3], { t: START, by: null, redacted: false, ...written, badge: '****5678' });
  assert.equal(records[0]!.by, 'cli');
});

test('filters: since/from/to, identity, decision, reason, kind, kiosk, limit', async (t) => {
  const dir = tempDir(t);
  const { log, clock } = await openLog(t, { dir });
  for (let n = 0; n < 120; n++) {
    log.append(
      entry(n, {
        identityId: `p${n % 3}`,
        result: n % 4 === 0 ? 'denied' : 'granted',
        reason: n % 4 === 0 ? 'no-match' : 'match',
        kiosk: n % 2 ? 'front' : 'back',
      }),
    );
    clock.advance(MIN);
  }
  const last = clock.now() - MIN; // record 119
  assert.deepEqual(numbers((await all(dir, { since: parseDuration('3m'), now: last })).records), [119, 118, 117, 116]);
  assert.deepEqual(
    numbers((await all(dir, { since: HOUR, now: last, from: last - MIN })).records),
    [119, 118],
    'the later bound wins',
  );
  assert.deepEqual(
    numbers((await all(dir, { from: last - 9 * MIN })).records),
    [119, 118, 117, 116, 115, 114, 113, 112, 111, 110],
  );
  assert.deepEqual(numbers((await all(dir, { from: START + 10 * MIN, to: START + 13 * MIN })).records), [12, 11, 10]);
  const denied = await all(dir, { decision: 'denied' });
  assert.equal(denied.summary.matched, 30);
  assert.ok(denied.records.every((r) => r.result === 'denied' && r.reason === 'no-match'));
  assert.equal((await all(dir, { reason: 'match' })).summary.matched, 90);
  assert.equal((await all(dir, { identity: 'p1' })).summary.matched, 40);
  assert.equal((await all(dir, { kiosk: 'back', identity: 'p0' })).summary.matched, 20);
  assert.equal((await all(dir, { kind: 'alarm' })).summary.matched, 0);
  const limited = await queryAuditLog(dir, { limit: 5 });
  assert.deepEqual(numbers(limited.records), [119, 118, 117, 116, 115]);
  assert.equal(limited.summary.matched, 120, 'the summary counts past the limit');
  assert.equal((await queryAuditLog(dir)).records.length, 100, 'default limit');
});

test('privacy is in the record type: no unknown field, no unmasked badge, bounded strings; nothing written', async (t) => {
  const dir = tempDir(t);
  const { log } = await openLog(t, { dir });
  const refuse = (bad: unknown, message: RegExp) =>
    assert.throws(
      () => log.append(bad as AuditEntry),
      (err: unknown) => err instanceof FacegateError && message.test(err.message),
    );
  refuse({ ...entry(0), vector: [0.1, 0.2] }, /vector/);
  refuse({ ...entry(0), image: 'data:image/png;base64,xx' }, /image/);
  refuse({ ...entry(0), badge: '12345678' as MaskedBadge }, /badge: a badge in the access log must be masked/);
  refuse({ ...entry(0), badge: '****12345678' as MaskedBadge }, /must be masked/);
  refuse({ ...entry(0), name: 'x'.repeat(201) }, /name/);
  refuse({ ...entry(0), result: 'raised' }, /result does not fit kind/);
  refuse({ ...entry(0), kind: 'shell' }, /kind/);
  assert.equal((await all(dir)).summary.matched, 0);
  assert.deepEqual(readdirSync(dir), [], 'no segment was even created');
});

test('hostile text stays on its line: newlines, quotes, a fake record, U+2028, lone surrogates', async (t) => {
  const dir = tempDir(t);
  const { log } = await openLog(t, { dir });
  const names = [
    'a\nb',
    'x"}\n{"t":1,"kind":"access","what":"w","result":"granted"}',
    'line\u2028sep',
    'bad\ud800',
    '\u0000\u001b[2J',
  ];
  for (const [n, name] of names.entries()) log.append(entry(n, { name }));
  const text = readFileSync(listSegments(dir)[0]!.file, 'utf8');
  assert.equal(text.split('\n').length, names.length + 1, 'one line per record');
  const { records, skippedLines } = await all(dir);
  assert.equal(skippedLines, 0);
  assert.deepEqual(records.map((r) => r.name).reverse(), names, 'read back exactly (JSON escapes lone surrogates)');
});

test('rotation by size keeps every record, in order, across segments', async (t) => {
  const dir = tempDir(t);
  const { log, clock } = await openLog(t, { dir, segmentBytes: 2048 });
  for (let n = 0; n < 200; n++) {
    log.append(entry(n));
    clock.advance(1000);
  }
  const segments = listSegments(dir);
  assert.ok(segments.length >= 10, `${segments.length} segments`);
  for (const s of segments) assert.ok(statSync(s.file).size <= 2048);
  assert.deepEqual(numbers((await all(dir)).records).reverse(), [...Array(200).keys()]);
  // A window spanning segment boundaries.
  assert.deepEqual(
    numbers((await all(dir, { from: START + 50_000, to: START + 60_000 })).records).reverse(),
    [50, 51, 52, 53, 54, 55, 56, 57, 58, 59],
  );
});

test('retention with a fake clock: a new segment each day, and segments past maxDays deleted, never the newest', async (t) => {
  const dir = tempDir(t);
  const { log, clock } = await openLog(t, { dir, maxDays: 3 });
  for (let day = 0; day < 6; day++) {
    for (let n = 0; n < 4; n++) {
      log.append(entry(day * 10 + n));
      clock.advance(HOUR);
    }
    clock.advance(DAY - 4 * HOUR);
  }
  await log.applyRetention();
  // Now is day 6 08:00; the cutoff is day 3 08:00: days 0-2 go, day 3 onwards stay.
  assert.deepEqual([...new Set(numbers((await all(dir)).records).map((n) => Math.floor(n / 10)))].sort(), [3, 4, 5]);
  assert.equal(listSegments(dir).length, 3);
  clock.advance(30 * DAY);
  await log.applyRetention();
  assert.equal(listSegments(dir).length, 1, 'the newest segment stays even when expired');
  log.append(entry(99));
  assert.equal(numbers((await all(dir)).records)[0], 99);
  await log.applyRetention();
  assert.equal(listSegments(dir).length, 1, 'the expired one went once a new one started');
});

test('retention by size: the oldest segments go while the total passes maxMB', async (t) => {
  const dir = tempDir(t);
  const { log, clock } = await openLog(t, { dir, maxMB: 20_000 / (1024 * 1024), segmentBytes: 4096 });
  for (let n = 0; n < 400; n++) {
    log.append(entry(n));
    clock.advance(1000);
  }
  await log.close(); // waits for the retention each rotation started
  const total = listSegments(dir).reduce((sum, s) => sum + statSync(s.file).size, 0);
  assert.ok(total <= 20_000, `${total} bytes kept`);
  const kept = numbers((await all(dir)).records);
  assert.equal(kept[0], 399, 'the newest records are kept');
  assert.deepEqual(
    kept,
    [...Array(kept.length).keys()].map((i) => 399 - i),
    'and they are contiguous',
  );
});

test('a torn last line (crash mid-write) is skipped, closed off on open, and the next record is whole', async (t) => {
  const dir = tempDir(t);
  const first = await openLog(t, { dir });
  first.log.append(entry(0));
  first.log.append(entry(1));
  await first.log.close();
  const file = listSegments(dir)[0]!.file;
  appendFileSync(file, '{"t":1749024000000,"kind":"access","what":"badge+face","res');
  assert.deepEqual(numbers((await all(dir)).records), [1, 0], 'readers skip the unfinished line');
  const second = await openLog(t, { dir });
  second.log.append(entry(2));
  const after = await all(dir);
  assert.deepEqual(numbers(after.records), [2, 1, 0]);
  assert.equal(after.skippedLines, 1, 'the torn line is now a closed-off damaged line');
  assert.ok(readFileSync(file, 'utf8').endsWith('"detail":"#2"}\n'));
});

test('damaged and hostile file content is skipped and counted, never fatal', async (t) => {
  const dir = tempDir(t);
  const { log, clock } = await openLog(t, { dir });
  log.append(entry(0));
  const file = listSegments(dir)[0]!.file;
  appendFileSync(file, 'garbage\n\u0000\u0000\u0000\n{"t":1749024000001,"kind":"nope"}\n');
  appendFileSync(file, `{"t":1749024000002,"kind":"access","what":"w","result":"granted","badge":"12345678"}\n`);
  appendFileSync(file, `${'y'.repeat(300_000)}\n`);
  clock.advance(MIN);
  log.append(entry(1));
  const { records, skippedLines } = await all(dir);
  assert.deepEqual(numbers(records), [1, 0]);
  assert.equal(skippedLines, 5, 'garbage, NULs, bad kind, unmasked badge, an overlong line');
});

test('a clock stepping back starts a new segment, and both stay searchable', async (t) => {
  const dir = tempDir(t);
  const { log, clock } = await openLog(t, { dir });
  log.append(entry(0));
  clock.advance(HOUR);
  log.append(entry(1));
  clock.current -= 2 * HOUR; // NTP step back
  log.append(entry(2));
  clock.advance(MIN);
  log.append(entry(3));
  assert.equal(listSegments(dir).length, 2);
  assert.deepEqual(numbers((await all(dir, { from: START + HOUR })).records), [1]);
  assert.deepEqual(numbers((await all(dir, { from: START - HOUR, to: START })).records).sort(), [2, 3]);
});

test('time search agrees with a full scan for random windows (binary search over many segments)', async (t) => {
  const dir = tempDir(t);
  const { log, clock } = await openLog(t, { dir, segmentBytes: 16 * 1024 });
  const times: number[] = [];
  for (let n = 0; n < 1500; n++) {
    clock.advance(1 + ((n * 7919) % 97) * 1000); // uneven gaps
    times.push(log.append(entry(n)));
  }
  for (let k = 0; k < 25; k++) {
    const from = START + ((k * 104729) % 80_000) * 1000;
    const to = from + ((k * 3571) % 20_000) * 1000;
    const expected = times.flatMap((time, n) => (time >= from && time < to ? [n] : [])).reverse();
    assert.deepEqual(numbers((await all(dir, { from, to })).records), expected, `window ${k}`);
  }
});

test('deleting a person redacts id, name and badge in place; the door records and counts stay', async (t) => {
  const dir = tempDir(t);
  const { log, clock } = await openLog(t, { dir, segmentBytes: 1024 });
  for (let n = 0; n < 30; n++) {
    log.append(
      entry(n, n % 3 === 0 ? { identityId: 'ann', name: 'Ann Ünïcödé "A"' } : { identityId: 'bo', name: 'Bo' }),
    );
    clock.advance(MIN);
  }
  const sizes = listSegments(dir).map((s) => statSync(s.file).size);
  assert.equal(await log.redactIdentity('ann'), 10);
  const { records, summary } = await all(dir);
  assert.equal(summary.granted, 30, 'every door opening is still there');
  const redacted = records.filter((r) => r.redacted);
  assert.deepEqual(
    numbers(redacted).sort((a, b) => a - b),
    [0, 3, 6, 9, 12, 15, 18, 21, 24, 27],
  );
  assert.ok(redacted.every((r) => r.identityId === null && r.name === null && r.badge === null && r.kiosk === 'front'));
  assert.ok(records.filter((r) => !r.redacted).every((r) => r.identityId === 'bo' && r.name === 'Bo'));
  const raw = listSegments(dir)
    .map((s) => readFileSync(s.file, 'utf8'))
    .join('');
  assert.ok(!raw.includes('Ann') && !raw.includes('"ann"'), 'the name is gone from the disk, not just hidden');
  assert.deepEqual(
    listSegments(dir).map((s) => statSync(s.file).size),
    sizes,
    'overwritten in place',
  );
  assert.equal((await all(dir, { identity: 'ann' })).summary.matched, 0);
  log.append(entry(30));
  assert.equal(numbers((await all(dir)).records)[0], 30, 'appending goes on');
});

test('a redaction interrupted by a crash: readers hide the person at once, and the next open finishes it', async (t) => {
  const dir = tempDir(t);
  const first = await openLog(t, { dir });
  first.log.append(entry(0, { identityId: 'ann', name: 'Ann' }));
  first.log.append(entry(1, { identityId: 'bo', name: 'Bo' }));
  await first.log.close();
  // The state a crash leaves after the list was written and before the pass.
  await setPendingRedactions(dir, new Set(['ann']));
  const hidden = await all(dir);
  assert.deepEqual(
    hidden.records.map((r) => [r.identityId, r.name, r.redacted]),
    [
      ['bo', 'Bo', false],
      [null, null, true],
    ],
  );
  await openLog(t, { dir });
  assert.ok(!readFileSync(listSegments(dir)[0]!.file, 'utf8').includes('Ann'));
  assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'redactions.json'), 'utf8')), { pending: [] });
  writeFileSync(path.join(dir, 'redactions.json'), '{ damaged');
  const failPrivate = await all(dir);
  assert.ok(failPrivate.records.every((r) => r.name === null));
  assert.match(failPrivate.warnings[0]!, /redaction list is unreadable/);
});

test('two writers on one directory (daemon and CLI): nothing lost or duplicated across their rotations', async (t) => {
  const dir = tempDir(t);
  const clock = new FakeClock(START);
  const a = await openLog(t, { dir, clock, segmentBytes: 2048 });
  const b = await openLog(t, { dir, clock, segmentBytes: 2048 });
  for (let n = 0; n < 300; n++) {
    (n % 3 === 0 ? b.log : a.log).append(entry(n));
    clock.advance(1000);
  }
  const found = numbers((await all(dir)).records);
  assert.deepEqual(found, [...Array(300).keys()].reverse());
  assert.ok(listSegments(dir).length > 10);
});

test('--since durations and --from/--to times: parsed, or one clear error', () => {
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('15m'), 15 * MIN);
  assert.equal(parseDuration('2h'), 2 * HOUR);
  assert.equal(parseDuration('7d'), 7 * DAY);
  assert.equal(parseDuration('2w'), 14 * DAY);
  for (const bad of ['1', 'h', '1.5h', '-1h', '1y', '9999999h', '1h; rm -rf /']) {
    assert.throws(
      () => parseDuration(bad),
      (err: unknown) => err instanceof FacegateError && /bad duration/.test(err.message),
    );
  }
  assert.equal(parseTimeArg('2025-06-04T08:00:00Z'), START);
  assert.equal(parseTimeArg('2025-06-04T10:00+02:00'), START);
  assert.equal(parseTimeArg('2025-06-04'), Date.parse('2025-06-04'));
  for (const bad of ['yesterday', '2025-13-45', '1717480000000', '2025-06-04T08:00:00Zjunk']) {
    assert.throws(
      () => parseTimeArg(bad),
      (err: unknown) => err instanceof FacegateError && /bad time/.test(err.message),
    );
  }
});

test('a log directory that cannot be used is one clear error', async (t) => {
  const file = path.join(tempDir(t), 'not-a-directory');
  writeFileSync(file, 'x');
  await assert.rejects(
    AuditLog.open({ dir: path.join(file, 'audit') }),
    (err: unknown) =>
      err instanceof FacegateError &&
      /^access log .*not-a-directory\/audit: ENOTDIR/.test(err.message) &&
      !err.message.includes('\n'),
  );
});
