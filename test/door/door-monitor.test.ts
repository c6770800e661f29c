import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { EventBus } from '../../src/bus/event-bus.ts';
import { DoorMonitor } from '../../src/door/door-monitor.ts';
import { SimulatedContact } from '../../src/hardware/contact/simulated-contact.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

/** A monitor on a fake clock; stopped when the test ends, also after a failed assertion. */
function setup(t: TestContext, opts: { heldOpenMs?: number; withRex?: boolean } = {}) {
  const clock = new FakeClock();
  const bus = new EventBus();
  const contact = new SimulatedContact();
  const rex = opts.withRex ? new SimulatedContact() : undefined;
  const alarms: string[] = [];
  const states: string[] = [];
  const unlockRequests: string[] = [];
  bus.on('alarm', (a) => alarms.push(a.kind));
  bus.on('doorState', (d) => states.push(d.state));
  bus.on('unlockRequest', (r) => unlockRequests.push(r.by));
  const monitor = new DoorMonitor({ contact, bus, clock, heldOpenMs: opts.heldOpenMs, rex });
  t.after(() => monitor.stop());
  const relay = (state: 'locked' | 'unlocked') =>
    bus.emit('relay', { state, time: new Date(clock.now()).toISOString() });
  return { clock, bus, contact, rex, alarms, states, unlockRequests, monitor, relay };
}

describe('DoorMonitor', () => {
  test('a granted opening: no alarm, states follow contact and relay', async (t) => {
    const s = setup(t);
    await s.monitor.start();
    s.relay('unlocked');
    s.contact.set(true);
    s.clock.advance(3000);
    s.relay('locked');
    s.clock.advance(2000);
    s.contact.set(false);
    s.clock.advance(60_000);
    assert.deepEqual(s.alarms, []);
    assert.deepEqual(s.states, ['locked', 'unlocked', 'open', 'locked']);
    await s.monitor.stop();
  });

  test('held open: alarm exactly at heldOpenMs (default 30 s), not before', async (t) => {
    const s = setup(t);
    await s.monitor.start();
    s.relay('unlocked');
    s.contact.set(true);
    s.clock.advance(29_999);
    assert.deepEqual(s.alarms, []);
    s.clock.advance(1);
    assert.deepEqual(s.alarms, ['door-held-open']);
    assert.equal(s.monitor.doorState, 'held-open');
    s.contact.set(false);
    s.clock.advance(60_000);
    assert.deepEqual(s.alarms, ['door-held-open'], 'closing ends it; no repeat');
    await s.monitor.stop();
  });

  test('closing before heldOpenMs raises nothing; a custom heldOpenMs is honoured', async (t) => {
    const s = setup(t, { heldOpenMs: 5000 });
    await s.monitor.start();
    s.relay('unlocked');
    s.contact.set(true);
    s.clock.advance(4999);
    s.contact.set(false);
    s.clock.advance(10_000);
    assert.deepEqual(s.alarms, []);
    s.contact.set(true);
    s.clock.advance(5000);
    assert.deepEqual(s.alarms, ['door-held-open']);
    await s.monitor.stop();
  });

  test('forced open: opened while locked with no pulse within the grace period', async (t) => {
    const s = setup(t);
    await s.monitor.start();
    s.relay('locked');
    s.clock.advance(60_000);
    s.contact.set(true);
    assert.deepEqual(s.alarms, ['door-forced-open']);
    assert.equal(s.monitor.doorState, 'forced-open');
    await s.monitor.stop();
  });

  test('opening just after the pulse re-locked is within the grace period, not forced', async (t) => {
    const s = setup(t);
    await s.monitor.start();
    s.relay('unlocked');
    s.clock.advance(3000);
    s.relay('locked');
    s.clock.advance(1500);
    s.contact.set(true);
    assert.deepEqual(s.alarms, []);
    await s.monitor.stop();
  });

  test('a door already open at start-up is not forced (no history), but can still be held open', async (t) => {
    const s = setup(t);
    s.contact.set(true);
    await s.monitor.start();
    assert.deepEqual(s.alarms, []);
    s.clock.advance(30_000);
    assert.deepEqual(s.alarms, ['door-held-open']);
    await s.monitor.stop();
  });

  test('request-to-exit: a press asks for an unlock and excuses the opening', async (t) => {
    const s = setup(t, { withRex: true });
    await s.monitor.start();
    s.clock.advance(60_000);
    s.rex?.set(true);
    s.rex?.set(false);
    assert.deepEqual(s.unlockRequests, ['rex']);
    s.clock.advance(500);
    s.contact.set(true);
    assert.deepEqual(s.alarms, []);
    await s.monitor.stop();
  });

  test('stop() unsubscribes: no alarms after stop', async (t) => {
    const s = setup(t);
    await s.monitor.start();
    s.relay('unlocked');
    s.contact.set(true);
    await s.monitor.stop();
    s.clock.advance(60_000);
    assert.deepEqual(s.alarms, []);
  });
});
