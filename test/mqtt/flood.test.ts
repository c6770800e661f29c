/**
 * An unauthenticated flood must not erase real access events (issue 10, item 6): refusal alarms are folded into one
 * summary a second, they live in their own outbox budget, and an overflow is announced while still connected.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import type { MqttModule } from '../../src/mqtt/module.ts';
import { Outbox } from '../../src/mqtt/outbox.ts';
import { startTestBroker, type TestBroker } from '../helpers/mosquitto.ts';
import {
  accessEvent,
  type FakeDaemon,
  fakeDaemon,
  Inbox,
  observer,
  startConnected,
  testMqttConfig,
  waitFor,
} from '../helpers/mqtt-fixtures.ts';

test('the outbox: a full audit lane drops its own oldest entries, never an access event', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'facegate-lanes-'));
  const outbox = await Outbox.open(dir, { maxEvents: 5, maxAudit: 3, compactAfter: 1000 });
  const writes: Array<Promise<void>> = [];
  for (let i = 0; i < 5; i += 1) writes.push(outbox.append({ id: `access-${i}`, topic: 'a', payload: '{}' }));
  for (let i = 0; i < 100; i += 1)
    writes.push(outbox.append({ id: `refusal-${i}`, topic: 'r', payload: '{}', lane: 'audit' }));
  await Promise.all(writes);
  const pending = [...outbox.pending()].map((e) => e.id);
  assert.deepEqual(pending, [
    'access-0',
    'access-1',
    'access-2',
    'access-3',
    'access-4',
    'refusal-97',
    'refusal-98',
    'refusal-99',
  ]);
  assert.deepEqual(outbox.takeDropReport(), { event: 0, audit: 97 });
  // The overflow alert goes out before anything else.
  await outbox.append({ id: 'overflow', topic: 'o', payload: '{}', lane: 'alert' });
  assert.equal([...outbox.pending()][0]?.id, 'overflow');
  await outbox.close();
});

describe('a flood against a real broker', () => {
  let broker: TestBroker;
  let daemon: FakeDaemon;
  let mod: MqttModule;
  let watcher: MqttClient;
  let inbox: Inbox;
  const kiosk = 'flooded';
  const base = `facegate/${kiosk}`;

  before(async () => {
    broker = await startTestBroker();
    daemon = await fakeDaemon(kiosk);
    watcher = await observer(broker.url, broker.protocolVersion, undefined, [`${base}/event/#`]);
    inbox = new Inbox(watcher);
    // The outbox as shipped: 10 000 events. It was this budget the flood once overran.
    mod = await startConnected(daemon.ctx, testMqttConfig(broker.url, broker.protocolVersion));
  });
  after(async () => {
    await mod?.stop();
    await watcher?.endAsync();
    await broker?.close();
  });

  test('20 000 unsigned commands while 10 decisions are made: all 10 published, a few refusal summaries', async (t) => {
    const attacker = await mqtt.connectAsync(broker.url, { protocolVersion: broker.protocolVersion });
    t.after(() => attacker.endAsync(true));
    const started = Date.now();
    const unsigned = (i: number) => JSON.stringify({ cmd: 'unlock', ts: Date.now(), nonce: `flood-${i}-nonce` });
    const decisions: string[] = [];
    for (let i = 0; i < 20_000; i += 1) {
      attacker.publish(`${base}/cmd/unlock`, unsigned(i), { qos: 0 });
      if (i % 2000 === 999) {
        const event = accessEvent(i, { eventId: `real-${i}`, decision: 'granted', reason: 'match' });
        decisions.push(event.eventId);
        daemon.ctx.bus.emit('access', event);
        await new Promise((r) => setImmediate(r));
      }
    }
    await attacker.endAsync();
    await waitFor(
      'the refusals counted',
      () => ((mod.stats().commands as { commandsRejected: number }).commandsRejected >= 19_000 ? true : undefined),
      120_000,
    );
    const seconds = Math.ceil((Date.now() - started) / 1000);
    await waitFor('all 10 decisions published', () =>
      decisions.every((id) => inbox.json(`${base}/event/access`).some((e) => e.eventId === id)) ? true : undefined,
    );
    // Let the last summary window close.
    await new Promise((r) => setTimeout(r, 1200));
    const refusals = inbox.json(`${base}/event/alarm`).filter((a) => a.kind === 'admin-rejected');
    const counted = refusals.reduce((n, a) => n + (Number(/^(\d+) more/.exec(String(a.detail))?.[1]) || 1), 0);
    const stats = mod.stats();
    process.stderr.write(
      `# flood: ${JSON.stringify(stats.commands)} in ${seconds} s → ${refusals.length} admin-rejected alarms covering ${counted}; outbox ${JSON.stringify(stats.outbox)}\n`,
    );
    // One for the first refusal and one summary per second after it (the old code journaled one per refusal).
    assert.ok(refusals.length <= 2 * seconds + 2, `${refusals.length} alarms in ${seconds} s`);
    assert.equal(counted, (stats.commands as { commandsRejected: number }).commandsRejected);
    assert.equal((stats.outbox as { dropped: number }).dropped, 0);
    assert.ok((stats.commands as { resultsSuppressed: number }).resultsSuppressed > 0, 'error results capped');
  });

  test('an overflow is announced while still connected, ahead of the backlog', async () => {
    const small = await fakeDaemon('small-outbox');
    const smallBase = 'facegate/small-outbox';
    const smallWatcher = await observer(broker.url, broker.protocolVersion, undefined, [`${smallBase}/event/#`]);
    const smallInbox = new Inbox(smallWatcher);
    const smallConfig = testMqttConfig(broker.url, broker.protocolVersion, { outbox: { maxEvents: 20, inflight: 1 } });
    const smallMod = await startConnected(small.ctx, smallConfig);
    try {
      // 200 decisions in one tick: one journal batch, 180 of them over the budget of 20.
      const emitted = Date.now();
      for (let i = 0; i < 200; i += 1) small.ctx.bus.emit('access', accessEvent(i));
      const alarm = await waitFor('overflow alarm', () =>
        smallInbox.json(`${smallBase}/event/alarm`).find((a) => a.kind === 'outbox-overflow'),
      );
      assert.match(String(alarm.detail), /^outbox full: 180 access events and alarms dropped/);
      const seenAfterMs = Date.now() - emitted;
      assert.equal(smallMod.connected, true, 'announced without a reconnect');
      process.stderr.write(`# overflow: the alarm reached a subscriber ${seenAfterMs} ms after the drop\n`);
      await waitFor('the 20 kept events', () =>
        smallInbox.json(`${smallBase}/event/access`).length >= 20 ? true : undefined,
      );
    } finally {
      await smallMod.stop();
      await smallWatcher.endAsync();
    }
  });
});
