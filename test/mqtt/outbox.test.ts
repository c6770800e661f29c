/**
 * The outbox: journal semantics on their own, then against a real Mosquitto — broker stopped mid-burst, process
 * SIGKILLed mid-burst — and the Last Will when the process dies.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createMqttModule } from '../../src/mqtt/module.ts';
import { Outbox } from '../../src/mqtt/outbox.ts';
import { startTestBroker, type TestBroker } from '../helpers/mosquitto.ts';
import { accessEvent, fakeDaemon, Inbox, observer, testMqttConfig, waitFor } from '../helpers/mqtt-fixtures.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = (name: string) => mkdtempSync(path.join(os.tmpdir(), `facegate-outbox-${name}-`));

/** Event ids in first-seen order, and whether they are exactly evt-0000.. evt-(n-1). */
function firstSeen(inbox: Inbox, topic: string): string[] {
  const seen = new Set<string>();
  for (const e of inbox.json(topic)) if (typeof e.eventId === 'string') seen.add(e.eventId);
  return [...seen];
}
const expectedIds = (n: number) => Array.from({ length: n }, (_, i) => `evt-${String(i).padStart(4, '0')}`);

describe('outbox journal', () => {
  test('undelivered entries survive a reopen in order; delivered ones do not come back', async () => {
    const dir = tmp('journal');
    const outbox = await Outbox.open(dir, { maxEvents: 100, compactAfter: 3 });
    for (let i = 0; i < 5; i += 1) await outbox.append({ id: `e${i}`, topic: 't', payload: `{"i":${i}}` });
    outbox.markDelivered('e0');
    outbox.markDelivered('e2');
    await outbox.close();
    const reopened = await Outbox.open(dir, { maxEvents: 100, compactAfter: 3 });
    assert.deepEqual(
      [...reopened.pending()].map((e) => e.id),
      ['e1', 'e3', 'e4'],
    );
    await reopened.close();
  });

  test('a torn last line (crash mid-append) is ignored, the rest is kept', async () => {
    const dir = tmp('torn');
    const outbox = await Outbox.open(dir, { maxEvents: 100, compactAfter: 100 });
    await outbox.append({ id: 'a', topic: 't', payload: '{}' });
    await outbox.close();
    const { appendFileSync } = await import('node:fs');
    appendFileSync(path.join(dir, 'mqtt-outbox.jsonl'), '{"e":{"id":"b","top');
    const reopened = await Outbox.open(dir, { maxEvents: 100, compactAfter: 100 });
    assert.deepEqual(
      [...reopened.pending()].map((e) => e.id),
      ['a'],
    );
    await reopened.close();
  });

  test('over maxEvents the oldest are dropped, counted, and the count survives a restart until reported', async () => {
    const dir = tmp('bounded');
    const dropped: string[] = [];
    const outbox = await Outbox.open(dir, { maxEvents: 3, compactAfter: 100, onDrop: (e) => dropped.push(e.id) });
    for (let i = 0; i < 5; i += 1) await outbox.append({ id: `e${i}`, topic: 't', payload: '{}' });
    assert.deepEqual(dropped, ['e0', 'e1']);
    assert.deepEqual(
      [...outbox.pending()].map((e) => e.id),
      ['e2', 'e3', 'e4'],
    );
    await outbox.close();
    const reopened = await Outbox.open(dir, { maxEvents: 3, compactAfter: 100 });
    assert.equal(reopened.stats().droppedUnreported, 2);
    assert.deepEqual(reopened.takeDropReport(), { event: 2, audit: 0 });
    assert.equal(reopened.takeDropReport(), null);
    await reopened.close();
    const third = await Outbox.open(dir, { maxEvents: 3, compactAfter: 100 });
    assert.equal(third.stats().droppedUnreported, 0);
    await third.close();
  });
});

describe('outbox against a real broker', () => {
  let broker: TestBroker;
  const children: ChildProcess[] = [];

  before(async () => {
    broker = await startTestBroker();
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await broker?.close();
  });

  function spawnKiosk(settings: Record<string, unknown>): { child: ChildProcess; lines: string[] } {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, '..', 'helpers', 'mqtt-child.ts')], {
      env: {
        ...process.env,
        FACEGATE_CHILD: JSON.stringify({ url: broker.url, protocolVersion: broker.protocolVersion, ...settings }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const lines: string[] = [];
    child.stdout?.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    return { child, lines };
  }

  test('broker stopped during a burst of 200 events → all delivered after restart, in order, ids unique', async (t) => {
    const daemon = await fakeDaemon('burst');
    const topic = 'facegate/burst/event/access';
    const watcher = await observer(broker.url, broker.protocolVersion, 'burst-watcher', [topic]);
    t.after(() => watcher.endAsync(true));
    const inbox = new Inbox(watcher);
    const mod = createMqttModule(daemon.ctx, testMqttConfig(broker.url, broker.protocolVersion));
    t.after(() => mod.stop());
    await mod.start();
    await waitFor('connected', () => (mod.connected ? true : undefined));
    for (let i = 0; i < 60; i += 1) daemon.ctx.bus.emit('access', accessEvent(i));
    await waitFor('first 60 delivered', () => (firstSeen(inbox, topic).length >= 60 ? true : undefined));
    await broker.stop();
    await waitFor('module sees the broker gone', () => (mod.connected ? undefined : true));
    for (let i = 60; i < 200; i += 1) daemon.ctx.bus.emit('access', accessEvent(i));
    await waitFor('journaled while offline', () =>
      (mod.stats().outbox as { pending: number }).pending >= 140 ? true : undefined,
    );
    await broker.start();
    await waitFor('all 200 delivered', () => (firstSeen(inbox, topic).length >= 200 ? true : undefined), 60_000);
    assert.deepEqual(firstSeen(inbox, topic), expectedIds(200));
    await waitFor('outbox drained', () =>
      (mod.stats().outbox as { pending: number }).pending === 0 ? true : undefined,
    );
    await mod.stop();
    await watcher.endAsync();
  });

  test('process SIGKILLed mid-burst and restarted → every journaled event delivered in order, then the burst completes', async (t) => {
    const dir = tmp('kill');
    const topic = 'facegate/killed/event/access';
    const journalFile = path.join(dir, 'data', 'mqtt-outbox.jsonl');
    const readJournal = () => {
      const lines = readFileSync(journalFile, 'utf8').split('\n');
      return {
        journaled: lines.filter((l) => l.startsWith('{"e"')).map((l) => (JSON.parse(l) as { e: { id: string } }).e.id),
        delivered: lines.filter((l) => l.startsWith('{"d"')).length,
      };
    };
    const watcher = await observer(broker.url, broker.protocolVersion, 'kill-watcher', [topic]);
    t.after(() => watcher.endAsync(true));
    const inbox = new Inbox(watcher);
    const first = spawnKiosk({ dir, kioskId: 'killed', burstFrom: 0, burstTo: 200, burstDelayMs: 5 });
    t.after(() => first.child.kill('SIGKILL'));
    await waitFor('some events delivered', () => (firstSeen(inbox, topic).length >= 40 ? true : undefined), 60_000);
    // Broker away too, so the kill lands with a backlog that only the journal holds.
    await broker.stop();
    await waitFor('backlog journaled', () => (readJournal().journaled.length >= 100 ? true : undefined), 60_000);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const atKill = readJournal();
    const lastJournaled = Number(atKill.journaled.at(-1)?.slice(4) ?? -1);
    assert.ok(lastJournaled < 199, 'killed before the burst ended');
    assert.ok(atKill.journaled.length - atKill.delivered >= 50, 'a real backlog was left undelivered');
    await broker.start();
    // The restarted kiosk republishes what the journal holds, then the door flow carries on.
    const second = spawnKiosk({ dir, kioskId: 'killed', burstFrom: lastJournaled + 1, burstTo: 200, burstDelayMs: 0 });
    t.after(() => second.child.kill('SIGKILL'));
    await waitFor('burst done', () => (second.lines.includes('burst-done') ? true : undefined), 60_000);
    await waitFor('all 200 delivered', () => (firstSeen(inbox, topic).length >= 200 ? true : undefined), 60_000);
    assert.deepEqual(firstSeen(inbox, topic), expectedIds(200));
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
    await watcher.endAsync();
  });

  test('SIGKILL → the broker publishes the Last Will: status offline', async (t) => {
    const topic = 'facegate/lwt/status';
    const watcher = await observer(broker.url, broker.protocolVersion, undefined, [topic]);
    // Ended even when an assertion fails: an open client keeps the test process, and the whole run, alive.
    t.after(() => watcher.endAsync(true));
    const inbox = new Inbox(watcher);
    const kiosk = spawnKiosk({ dir: tmp('lwt'), kioskId: 'lwt' });
    await waitFor('ready', () => (kiosk.lines.includes('ready') ? true : undefined), 60_000);
    await waitFor('online', () => inbox.on(topic).find((m) => m.text === 'online'));
    const before = inbox.on(topic).length;
    kiosk.child.kill('SIGKILL');
    const will = await waitFor('offline', () =>
      inbox
        .on(topic)
        .slice(before)
        .find((m) => m.text === 'offline'),
    );
    assert.equal(will.text, 'offline');
    const late = await observer(broker.url, broker.protocolVersion, undefined, [topic]);
    t.after(() => late.endAsync(true));
    const lateInbox = new Inbox(late);
    await waitFor('retained offline', () => lateInbox.on(topic).find((m) => m.retain && m.text === 'offline'));
  });
});
