/**
 * The audit feature module: every access decision, alarm, hold and admin command on the bus becomes one record of
 * the access log; badges masked even when the daemon logs full ones; a deleted person's names leave the log.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { AuditModule, auditDir } from '../../src/audit/module.ts';
import { type AccessEvent, EventBus } from '../../src/bus/event-bus.ts';
import { queryAuditLog } from '../../src/store/audit-query.ts';

const access = (over: Partial<AccessEvent>): AccessEvent => ({
  eventId: 'e1',
  time: new Date().toISOString(),
  mode: 'badge+face',
  badge: '****1234',
  identityId: 'ann',
  identityName: 'Ann Example',
  decision: 'granted',
  reason: 'match',
  distance: 0.31,
  threshold: 0.6,
  latencyMs: 120,
  ...over,
});

test('decisions, alarms, holds and admin commands are appended; no full badge, vector or distance', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-auditmod-'));
  const bus = new EventBus();
  const module = new AuditModule({
    bus,
    logger: pino({ level: 'silent' }),
    dataDir: dir,
    kioskId: 'front',
    settings: { maxDays: 90, maxMB: 10 },
  });
  t.after(async () => {
    await module.stop();
    await rm(dir, { recursive: true, force: true });
  });
  await module.start();
  bus.emit('access', access({}));
  bus.emit('access', access({ decision: 'denied', reason: 'outside-schedule', badge: '9876543210' }));
  bus.alarm('door-forced-open', 'door opened while locked, without an unlock');
  bus.emit('doorHold', { active: true, schedule: 'shop', reason: 'transition', time: new Date().toISOString() });
  bus.emit('adminAction', { action: 'delete', by: 'mqtt:admin-1', ok: true, identityId: 'bob', detail: '' });

  const { records, summary } = await queryAuditLog(auditDir(dir));
  assert.deepEqual(records.map((r) => `${r.kind}:${r.what}:${r.result}:${r.reason}`).reverse(), [
    'access:badge+face:granted:match',
    'access:badge+face:denied:outside-schedule',
    'alarm:door-forced-open:raised:door-forced-open',
    'admin:door.hold-start:ok:transition',
    'admin:mqtt.delete:ok:',
  ]);
  assert.deepEqual([summary.granted, summary.denied, summary.alarms, summary.admin], [1, 1, 1, 2]);
  assert.equal(records.find((r) => r.reason === 'outside-schedule')?.badge, '******3210');
  assert.ok(records.every((r) => r.kiosk === 'front'));
  const raw = (
    await Promise.all(
      (
        await readdir(auditDir(dir))
      )
        .filter((f) => f.endsWith('.jsonl'))
        .map((f) => readFile(path.join(auditDir(dir), f), 'utf8')),
    )
  ).join('');
  assert.ok(!raw.includes('9876543210'), 'no full badge on disk');
  assert.ok(!raw.includes('0.31'), 'no distance (nothing derived from the face) on disk');
});

test('deleting an identity removes its names from the log; the record of the door opening stays', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-auditmod-'));
  const bus = new EventBus();
  const module = new AuditModule({
    bus,
    logger: pino({ level: 'silent' }),
    dataDir: dir,
    kioskId: 'front',
    settings: { maxDays: 90, maxMB: 10 },
  });
  t.after(async () => {
    await module.stop();
    await rm(dir, { recursive: true, force: true });
  });
  await module.start();
  bus.emit('access', access({}));
  bus.emit('access', access({ identityId: 'bob', identityName: 'Bob Other' }));
  bus.emit('identitiesChanged', { id: 'ann', change: 'deleted' });
  for (let i = 0; i < 100; i++) {
    const { records } = await queryAuditLog(auditDir(dir));
    if (records.some((r) => r.redacted)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await module.stop();
  const { records } = await queryAuditLog(auditDir(dir));
  assert.equal(records.length, 2);
  const gone = records.find((r) => r.redacted);
  assert.ok(gone, 'one record redacted');
  assert.equal(gone.identityId, null);
  assert.equal(gone.name, null);
  assert.equal(gone.result, 'granted');
  const raw = (
    await Promise.all(
      (
        await readdir(auditDir(dir))
      )
        .filter((f) => f.endsWith('.jsonl'))
        .map((f) => readFile(path.join(auditDir(dir), f), 'utf8')),
    )
  ).join('');
  assert.ok(!raw.includes('Ann Example'));
  assert.ok(raw.includes('Bob Other'));
});
